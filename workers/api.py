"""API housekeeping: stored Idempotency-Key responses are kept for a day."""

from __future__ import annotations

from app.services.api.idempotency import purge_expired
from app.services.uow import unit_of_work

from .context import system_context
from .scheduler import periodic


@periodic("api-idempotency-sweep", every_seconds=3600)
def purge_idempotency_job() -> int:
    with system_context():
        with unit_of_work():
            return purge_expired()
