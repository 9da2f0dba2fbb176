"""API housekeeping: stored Idempotency-Key responses are kept for a day."""

from __future__ import annotations

from contextlib import ExitStack

from flask import has_app_context

from app.services.api.idempotency import purge_expired
from app.services.uow import unit_of_work

from .scheduler import periodic


@periodic("api-idempotency-sweep", every_seconds=3600)
def purge_idempotency_job() -> int:
    with ExitStack() as stack:
        if not has_app_context():
            from app import create_app

            stack.enter_context(create_app().app_context())
        with unit_of_work():
            return purge_expired()
