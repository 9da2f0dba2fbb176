"""Every job runs inside an app context, a realm context and one unit of work."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

from flask import has_app_context

from app.services.uow import unit_of_work
from tenants import realm_context


@contextmanager
def system_context() -> Iterator[None]:
    """An app context for scheduler sweeps that look across realms before fanning out."""
    with ExitStack() as stack:
        if not has_app_context():
            # An RQ work horse started outside `realmbill worker` builds its own app.
            from app import create_app

            stack.enter_context(create_app().app_context())
        yield


@contextmanager
def job_context(realm_id: int) -> Iterator[None]:
    with system_context(), realm_context(realm_id), unit_of_work():
        yield
