"""The self-care dashboard's hot path: its statements do not grow with the number of quota
pools or the depth of the cost-centre tree (no N+1), and the bulk pool figures equal
``quotas.peek_balance`` pool by pool (current period, carried over, untouched)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal as D

import pytest
from sqlalchemy import event, select

from app.models import Account, Realm, Subscription
from app.services.accounts import create_cost_centre
from app.services.plans import save_plan, spec_from_mapping
from app.services.quotas import create_pool, peek_balance, top_up_pool
from app.services.selfcare import dashboard
from app.services.usage.summary import _pools
from tenants import realm_context

PLAN = {"code": "home", "name": "Home", "currency": "USD",
        "fees": [{"kind": "recurring", "period": "monthly", "amount": "20.00"}],
        "bands": [{"unit": "MB", "max_usage": "0", "price": "0.01"}],
        "quotas": [{"unit": "MB", "amount": "100"}]}


# The account's subscriptions with plans; usage per day with the period's pool draws; the
# pools with their balances and the cost-centre path; balances, credit and open sessions; and
# the next-invoice preview: unbilled usage summed with pending charges (it reuses the
# period's pool draws). The request adds the realm with its signed-in user (one statement): 6.
# The realm's terms (tax settings, tax rate, discounts) and the compiled plan versions are
# read on the first view under a settings version only: 4 more.
DASHBOARD_STATEMENTS = 5
SETTINGS_STATEMENTS = 4


@pytest.fixture
def subscriber(db, realm_a, create_account):
    with realm_context(realm_a.id):
        root = create_cost_centre(code="hq", name="HQ")
        create_cost_centre(code="sales", name="Sales", parent_code="hq")
        leaf = create_cost_centre(code="north", name="North", parent_code="sales")
        other = create_cost_centre(code="support", name="Support", parent_code="hq")
        db.session.commit()
        ids = {"root": root.id, "leaf": leaf.id, "other": other.id}
    account_id = create_account(realm_a, "alice", cost_centre_id=ids["leaf"]).id
    with realm_context(realm_a.id):
        plan = save_plan(spec_from_mapping(PLAN, source="test"), effective_from=date(2020, 1, 1))
        db.session.add(Subscription(account_id=account_id, plan_version_id=plan.latest_version.id,
                                    status="active", starts_on=date(2020, 1, 1), anchor_day=1))
        db.session.commit()
    return realm_a, account_id, ids


def _statements(db, realm_id: int, account_id: int) -> int:
    seen = []

    def count(*_args):
        seen.append(1)

    db.session.expunge_all()
    with realm_context(realm_id):
        realm = db.session.get(Realm, realm_id)  # a request holds its realm (g.realm) already
        account = db.session.scalar(select(Account).where(Account.id == account_id))
        connection = db.session.connection()
        event.listen(connection, "before_cursor_execute", count)
        try:
            dashboard(account)
        finally:
            event.remove(connection, "before_cursor_execute", count)
    assert realm.id == realm_id
    return len(seen)


def test_dashboard_statements_do_not_grow_with_pools(db, subscriber):
    realm, account_id, centres = subscriber
    today = datetime.now(UTC).date()
    with realm_context(realm.id):
        create_pool(name="Own", scope="account", account_id=account_id, unit="MB", size=D(50), anchor=date(2020, 1, 1))
        db.session.commit()
    assert _statements(db, realm.id, account_id) == DASHBOARD_STATEMENTS + SETTINGS_STATEMENTS
    few = _statements(db, realm.id, account_id)
    assert few == DASHBOARD_STATEMENTS
    with realm_context(realm.id):
        for n in range(4):
            create_pool(name=f"HQ {n}", scope="cost_centre", cost_centre_id=centres["root"], unit="MB",
                        size=D(100), anchor=date(2020, 1, 1))
        create_pool(name="Realm", scope="realm", unit="hour", size=D(10), anchor=date(2020, 1, 1))
        pool = create_pool(name="Topped", scope="account", account_id=account_id, unit="MB", size=D(5),
                           anchor=date(2020, 1, 1))
        top_up_pool(pool.id, quantity=D(7), on=today)
        db.session.commit()
    assert _statements(db, realm.id, account_id) == few


def test_bulk_pool_figures_equal_peek_balance(db, subscriber):
    realm, account_id, centres = subscriber
    today = datetime.now(UTC).date()
    last_month = today.replace(day=1) - timedelta(days=1)
    with realm_context(realm.id):
        own = create_pool(name="Own", scope="account", account_id=account_id, unit="MB", size=D(50),
                          anchor=date(2020, 1, 1))
        ancestor = create_pool(name="HQ", scope="cost_centre", cost_centre_id=centres["root"], unit="MB",
                               size=D(100), anchor=date(2020, 1, 1), carry_over="full")
        create_pool(name="Support only", scope="cost_centre", cost_centre_id=centres["other"], unit="MB",
                    size=D(100), anchor=date(2020, 1, 1))
        realm_pool = create_pool(name="Realm", scope="realm", unit="hour", size=D(10), anchor=date(2020, 1, 1))
        top_up_pool(own.id, quantity=D(7), on=today)                 # a balance this period
        top_up_pool(ancestor.id, quantity=D(30), on=last_month)      # carried over from the last one
        db.session.commit()
        account = db.session.scalar(select(Account).where(Account.id == account_id))
        figures = _pools(account, today)
        expected = [(p.name, p.unit, *peek_balance(p, today)) for p in (own, ancestor, realm_pool)]
    assert figures == expected
    assert ("HQ", "MB", D(230), D(230)) in figures  # 100 + 30 left last month + this month's 100
    assert not any(name == "Support only" for name, *_ in figures)


def _sql_of(db, work) -> list[str]:
    return [statement for statement, _parameters in _bound_of(db, work)]


def test_lazy_loads_carry_the_realm_filter_once(db, subscriber):
    """The parent's query propagates the realm criteria to its lazy loads; the scoping hook
    does not add the same criteria a second time (``realm_id = :r AND realm_id = :r``)."""
    realm, account_id, _ = subscriber
    realm_id = realm.id
    db.session.expunge_all()
    with realm_context(realm_id):
        account = db.session.scalar(select(Account).where(Account.id == account_id))
        statements = _sql_of(db, lambda: account.subscriptions)
        assert len(account.subscriptions) == 1
    assert len(statements) == 1
    assert statements[0].count("realm_id = ") == 1, statements[0]


def _bound_of(db, work) -> list[tuple[str, object]]:
    seen = []

    def keep(_conn, _cursor, statement, parameters, *_args):
        seen.append((statement, parameters))

    connection = db.session.connection()
    event.listen(connection, "before_cursor_execute", keep)
    try:
        work()
    finally:
        event.remove(connection, "before_cursor_execute", keep)
    return seen


def _realm_value(statement: str, parameters) -> object:
    """The value bound to the realm filter (named on PostgreSQL, positional on SQLite)."""
    if isinstance(parameters, dict):
        return parameters["scope_realm_id"]
    marks = statement.split("realm_id = ?")[0].count("?")
    return parameters[marks]


def test_a_lazy_load_in_another_realm_is_filtered_by_that_realm(db, subscriber, realm_b):
    """An object loaded as realm A and lazily loaded from while working as realm B is
    filtered by B, the realm working now (not by the realm that loaded the parent): nothing of A."""
    realm, account_id, _ = subscriber
    realm_id, other_id = realm.id, realm_b.id
    db.session.expunge_all()
    with realm_context(realm_id):
        account = db.session.scalar(select(Account).where(Account.id == account_id))
    with realm_context(other_id):
        statements = _bound_of(db, lambda: account.subscriptions)
        assert account.subscriptions == []
    (sql, parameters), = statements
    assert sql.count("realm_id = ") == 1, sql
    assert _realm_value(sql, parameters) == other_id


def test_a_lazy_load_outside_any_realm_is_filtered_by_the_parents_realm(db, subscriber):
    """Loaded as realm A, lazily loaded from outside of any realm (or across realms): A's rows only."""
    from tenants import all_realms

    realm, account_id, _ = subscriber
    realm_id = realm.id
    db.session.expunge_all()
    with realm_context(realm_id):
        account = db.session.scalar(select(Account).where(Account.id == account_id))
    with all_realms():
        statements = _bound_of(db, lambda: account.subscriptions)
    assert len(account.subscriptions) == 1
    (sql, parameters), = statements
    assert _realm_value(sql, parameters) == realm_id


def test_every_table_in_every_dashboard_statement_is_filtered_by_the_realm(db, subscriber):
    """Also inside the UNION ALLs, the scalar subqueries and the recursive CTE the dashboard
    now builds once: every realm-owned table it reads carries the realm filter."""
    import re

    from app.extensions import db as _db
    from tenants import RealmScoped

    scoped = {mapper.local_table.name for mapper in _db.Model.registry.mappers
              if issubclass(mapper.class_, RealmScoped)}
    realm, account_id, _ = subscriber
    realm_id = realm.id
    db.session.expunge_all()
    with realm_context(realm_id):
        held = db.session.get(Realm, realm_id)
        account = db.session.scalar(select(Account).where(Account.id == account_id))
        statements = _sql_of(db, lambda: dashboard(account))  # the first view: settings read too
    assert held.id == realm_id and len(statements) == DASHBOARD_STATEMENTS + SETTINGS_STATEMENTS
    for sql in statements:
        for table, alias in set(re.findall(r"(?:FROM|JOIN) (\w+)(?: AS (\w+))?", sql)):
            if table in scoped:
                name = alias or table
                reads = len(re.findall(rf"(?:FROM|JOIN) {table}(?: AS {alias})?\b", sql))
                assert sql.count(f"{name}.realm_id = ") >= reads, (name, sql)
