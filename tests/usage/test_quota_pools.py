"""Quota pools: cascade order, top-ups, carry-over, and exact totals under concurrency."""

import threading
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal as D

import pytest
import sqlalchemy as sa
from sqlalchemy import select

from app.mediation.records import UsageEvent
from app.models import QuotaBalance, QuotaDraw
from app.services.quotas import balance_on, create_pool, top_up_pool
from app.services.usage.ingest import ingest
from tenants import realm_context

MB = 1_000_000


def cdr(record_id, username, mb, when=datetime(2026, 11, 10, 12, tzinfo=UTC)):
    return UsageEvent(
        source="cdr", source_record_id=record_id, username=username, ip=None, nas=None,
        session_id=None, status="cdr", event_time=when, start=when, duration_s=0,
        bytes_in=0, bytes_out=mb * MB,
    )


@pytest.fixture
def campus(db, realm_a, create_account):
    from app.services.accounts import create_cost_centre

    with realm_context(realm_a.id):
        uni = create_cost_centre(code="uni", name="University")
        faculty = create_cost_centre(code="eng", name="Engineering", parent_code="uni")
        db.session.commit()
        faculty_id, uni_id = faculty.id, uni.id
    alice = create_account(realm_a, "alice", cost_centre_id=faculty_id).id
    bob = create_account(realm_a, "bob", cost_centre_id=faculty_id).id
    with realm_context(realm_a.id):
        pools = {
            "alice": create_pool(name="Alice", scope="account", account_id=alice, unit="MB",
                                 size=D(100), anchor=date(2026, 1, 1)),
            "faculty": create_pool(name="Engineering", scope="cost_centre", cost_centre_id=faculty_id,
                                   unit="GB", size=D("0.2"), anchor=date(2026, 1, 1), carry_over="full"),
            "uni": create_pool(name="University", scope="cost_centre", cost_centre_id=uni_id,
                               unit="MB", size=D(50), anchor=date(2026, 1, 1)),
        }
        db.session.commit()
        ids = {name: pool.id for name, pool in pools.items()}
    return {"alice": alice, "bob": bob, "pools": ids}


def _used(db, realm, pool_id, day=date(2026, 11, 10)):
    from app.models import QuotaPool

    with realm_context(realm.id):
        return balance_on(db.session.get(QuotaPool, pool_id), day).used


def test_usage_cascades_individual_then_up_the_cost_centre_tree(db, realm_a, campus):
    with realm_context(realm_a.id):
        ingest([cdr("a1", "alice", 250), cdr("b1", "bob", 60)])
        db.session.commit()
    pools = campus["pools"]
    assert _used(db, realm_a, pools["alice"]) == D(100)          # alice's own 100 MB first
    assert _used(db, realm_a, pools["faculty"]) == D("0.2")      # 150 + 60 MB asked, 200 MB given
    assert _used(db, realm_a, pools["uni"]) == D(10)             # then the university's pool
    with realm_context(realm_a.id):
        draws = {(d.account_id, d.quantity) for d in db.session.scalars(select(QuotaDraw))}
    assert (campus["alice"], D(100)) in draws


def test_replayed_usage_draws_nothing_twice(db, realm_a, campus):
    with realm_context(realm_a.id):
        ingest([cdr("a1", "alice", 30)])
        ingest([cdr("a1", "alice", 30)])
    assert _used(db, realm_a, campus["pools"]["alice"]) == D(30)


def test_top_up_and_carry_over(db, realm_a, campus):
    pools = campus["pools"]
    with realm_context(realm_a.id):
        top_up_pool(pools["faculty"], quantity=D("0.5"), on=date(2026, 11, 3))
        ingest([cdr("b1", "bob", 300)])
        db.session.commit()
    assert _used(db, realm_a, pools["faculty"]) == D("0.3")
    from app.models import QuotaPool
    with realm_context(realm_a.id):
        december = balance_on(db.session.get(QuotaPool, pools["faculty"]), date(2026, 12, 5))
        # 0.2 + 0.5 - 0.3 left over carries into December on top of the 0.2 GB size.
        assert december.opening == D("0.6")


@pytest.mark.postgres
def test_concurrent_ingestion_into_a_shared_pool_is_exact(committed_pg_app):
    from app.extensions import db
    from app.services.accounts import create_account
    from app.services.realms import create_realm
    from app.services.uow import unit_of_work

    app = committed_pg_app
    with app.app_context():
        with unit_of_work():
            realm = create_realm(slug="conc", name="Concurrency")
        realm_id = realm.id
        with realm_context(realm_id), unit_of_work():
            for i in range(8):
                create_account(username=f"user{i}", name=f"User {i}")
            pool_id = create_pool(name="Shared", scope="realm", unit="MB", size=D(1000),
                                  anchor=date(2026, 1, 1)).id

    errors = []

    def worker(index):
        try:
            with app.app_context(), realm_context(realm_id):
                for batch in range(5):
                    with unit_of_work():
                        ingest([cdr(f"w{index}-{batch}-{n}", f"user{index}", 10,
                                    datetime(2026, 11, 10, 12, tzinfo=UTC) + timedelta(seconds=n))
                                for n in range(4)])
        except Exception as exc:  # reported below, with the thread's index
            errors.append((index, exc))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    with app.app_context(), realm_context(realm_id):
        balance = db.session.scalar(select(QuotaBalance).where(QuotaBalance.pool_id == pool_id))
        drawn = db.session.scalar(select(sa.func.sum(QuotaDraw.quantity)))
    # 8 accounts x 5 batches x 4 records x 10 MB = 1600 MB asked of a 1000 MB pool.
    assert balance.used == D(1000)
    assert drawn == D(1000)
