"""One commit per unit of work.

Services only ``flush()``. Whoever owns the unit of work (the request wrapper in
app/web, a job in workers/, a CLI command) commits once or rolls back, and work that must
only happen after a commit (enqueueing jobs, sending mail) is registered with
``after_commit`` so no job ever sees rolled-back rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from sqlalchemy import event
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.extensions import db

_PENDING = "realmbill_after_commit"
T = TypeVar("T")


def after_commit(callback: Callable[[], None]) -> None:
    """Run ``callback`` once the current transaction commits; dropped on rollback."""
    db.session.info.setdefault(_PENDING, []).append(callback)


def insert_once(row: T, existing: Callable[[], T | None]) -> tuple[T, bool]:
    """Add and flush ``row`` in a savepoint: ``(row, True)``; or, when a unique constraint
    says another writer stored it first, ``(theirs, False)`` as ``existing()`` finds it.
    The database, not a read beforehand, decides between two concurrent writers; any
    other integrity error (``existing()`` finds nothing) is raised as it was."""
    try:
        with db.session.begin_nested():
            db.session.add(row)
            db.session.flush()
    except IntegrityError:
        found = existing()
        if found is None:
            raise
        return found, False
    return row, True


@event.listens_for(Session, "after_commit")
def _run_after_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint was released (begin_nested): the real commit is still to come
    callbacks = session.info.pop(_PENDING, [])
    for callback in callbacks:
        callback()


@event.listens_for(Session, "after_soft_rollback")
def _drop_after_rollback(session: Session, previous_transaction) -> None:
    if previous_transaction.parent is None:
        session.info.pop(_PENDING, None)


@contextmanager
def unit_of_work() -> Iterator[None]:
    try:
        yield
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
