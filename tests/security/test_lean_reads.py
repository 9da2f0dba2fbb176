"""Lean reads (tenants/lean.py) never run without the realm: outside a realm context they are
refused, a statement that reads a realm table without ``realm_filter`` is ``UnscopedRead``
before anything runs (also inside a UNION, a subquery, a join, a CTE), and what they return
is the current realm's rows only."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, union_all

from app.models import Account, CostCentre, Invoice, PaymentAllocation
from tenants import RealmContextRequired, UnscopedRead, realm_context, realm_filter, run_in_realm


def _count(db, statement):
    return run_in_realm(db.session, statement).scalar_one()


def test_rows_of_the_current_realm_only(db, realm_a, realm_b, create_account):
    for name in ("ann", "bob"):
        create_account(realm_a, name)
    create_account(realm_b, "cyd")
    statement = select(func.count(Account.id)).where(realm_filter(Account))
    with realm_context(realm_a.id):
        assert _count(db, statement) == 2
    with realm_context(realm_b.id):
        assert _count(db, statement) == 1
    with pytest.raises(RealmContextRequired):
        _count(db, statement)


@pytest.mark.parametrize("statement", [
    select(func.count(Account.id)),
    union_all(select(Account.id).where(realm_filter(Account)), select(Invoice.id)),
    select(Invoice.id, select(func.sum(PaymentAllocation.amount))
           .where(PaymentAllocation.invoice_id == Invoice.id).scalar_subquery()).where(realm_filter(Invoice)),
    select(Account.id).join(Invoice, Invoice.account_id == Account.id).where(realm_filter(Account)),
    select(select(CostCentre.id).where(realm_filter(CostCentre)).cte("path", recursive=True)
           .union(select(CostCentre.id)).c.id),
], ids=["plain", "union part", "scalar subquery", "join", "recursive cte"])
def test_a_realm_table_without_the_filter_is_refused(db, realm_a, statement):
    with realm_context(realm_a.id), pytest.raises(UnscopedRead):
        run_in_realm(db.session, statement)
