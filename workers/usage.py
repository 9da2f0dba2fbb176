"""Usage jobs: the daily rollups are folded from ingest's deltas every minute."""

from __future__ import annotations

from app.services.uow import unit_of_work
from app.services.usage.rollups import FOLD_BATCH, fold_deltas

from .context import system_context
from .scheduler import periodic


@periodic("usage-rollups-fold", every_seconds=60, queue="usage")
def fold_usage_rollups_job() -> int:
    """Fold batches (one commit each) until fewer than a batch were waiting; returns how many."""
    folded = 0
    with system_context():
        while True:
            with unit_of_work():
                count = fold_deltas(limit=FOLD_BATCH)
            folded += count
            if count < FOLD_BATCH:
                return folded
