"""Gapless invoice numbers per realm: a counter row updated in the finalizing transaction.

The counter is read and advanced while locked (``SELECT … FOR UPDATE`` on PostgreSQL; SQLite
serializes writers), so concurrent finalizations get 1..N in order, and a transaction
that rolls back gives its numbers back with it: no gaps.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import InvoiceCounter
from tenants import require_realm_id


def take_numbers(kind: str, count: int) -> int:
    """Reserve ``count`` consecutive numbers of ``kind``; returns the first."""
    realm_id = require_realm_id()
    table = InvoiceCounter.__table__
    query = select(table.c.id, table.c.last_number).where(table.c.realm_id == realm_id, table.c.kind == kind)
    if db.session.connection().dialect.name == "postgresql":
        query = query.with_for_update()
    row = db.session.execute(query).first()
    if row is None:
        try:
            with db.session.begin_nested():
                db.session.execute(table.insert().values(realm_id=realm_id, kind=kind, last_number=0))
        except IntegrityError:
            pass  # another transaction created it first; lock theirs below
        row = db.session.execute(query).first()
    db.session.execute(update(table).where(table.c.id == row.id).values(last_number=row.last_number + count))
    return row.last_number + 1
