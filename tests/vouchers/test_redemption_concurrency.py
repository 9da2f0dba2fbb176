"""Redemption under real concurrency (PostgreSQL, committing threads) and the shared
attempt counter in a real Redis."""

from __future__ import annotations

import os
import threading
from decimal import Decimal as D

import pytest
import redis
from sqlalchemy import func, select

from app.services.errors import NotAllowed
from tenants import realm_context

REDIS_URL = os.environ.get("REALMBILL_TEST_REDIS_VOUCHERS", "redis://127.0.0.1:6379/11")


@pytest.fixture
def voucher_redis():
    connection = redis.Redis.from_url(REDIS_URL)
    try:
        connection.ping()
    except redis.ConnectionError:
        connection.close()
        if os.environ.get("CI"):
            pytest.fail("Redis is not reachable")
        pytest.skip("Redis is not reachable")

    def clear():
        for key in connection.scan_iter("realmbill:voucher-attempts:*"):
            connection.delete(key)

    clear()
    yield connection
    clear()
    connection.close()


@pytest.mark.postgres
def test_fifty_concurrent_redemptions_of_one_voucher_credit_once(committed_pg_app):
    from app.extensions import db
    from app.models import Charge, Voucher
    from app.services.accounts import create_account
    from app.services.realms import create_realm
    from app.services.uow import unit_of_work
    from app.services.vouchers import generate_batch, redeem_voucher

    app = committed_pg_app
    app.config["VOUCHER_REDEEM_ATTEMPTS"] = 1000
    with app.app_context():
        with unit_of_work():
            realm = create_realm(slug="vconc", name="Voucher race")
        realm_id = realm.id
        with realm_context(realm_id), unit_of_work():
            account_ids = [create_account(username=f"racer{i}", name=f"Racer {i}").id for i in range(5)]
            pin = generate_batch(name="Race", count=1, kind="money", amount="20.00", activate=True).pins[0][1]

    start = threading.Barrier(50)
    outcomes: list[str] = []
    lock = threading.Lock()

    def attempt(index):
        outcome = "?"
        try:
            with app.app_context(), realm_context(realm_id):
                start.wait(timeout=30)
                try:
                    with unit_of_work():
                        redeem_voucher(account_id=account_ids[index % 5], pin=pin)
                    outcome = "ok"
                except NotAllowed as exc:
                    outcome = exc.code
        except Exception as exc:  # reported below
            outcome = repr(exc)
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(set(outcomes)) == ["already_redeemed", "ok"], outcomes
    assert outcomes.count("ok") == 1
    with app.app_context(), realm_context(realm_id):
        charges = list(db.session.scalars(select(Charge)))
        assert [(c.kind, c.amount) for c in charges] == [("credit", D("-20.00"))]
        assert db.session.scalar(select(func.count(Voucher.id)).where(Voucher.status == "redeemed")) == 1


def test_attempts_are_limited_per_account_and_ip_in_redis(app, db, realm_a, subscriber, make_batch,
                                                          create_account, voucher_redis, monkeypatch):
    from app.services.vouchers import redeem_voucher

    monkeypatch.setitem(app.config, "VOUCHER_RATE_LIMIT_REDIS_URL", REDIS_URL)
    monkeypatch.setitem(app.config, "VOUCHER_REDEEM_ATTEMPTS", 3)
    _, pins = make_batch(realm_a, count=1)

    def attempt(account_id, pin, ip):
        with realm_context(realm_a.id):
            try:
                redeem_voucher(account_id=account_id, pin=pin, ip=ip)
                db.session.commit()
                return "ok"
            except NotAllowed as exc:
                db.session.rollback()
                return exc.code

    assert [attempt(subscriber.id, "9999999999999", "203.0.113.7") for _ in range(3)] == ["invalid"] * 3
    # The fourth attempt is refused before the PIN is even looked at, right PIN or not.
    assert attempt(subscriber.id, pins[0][1], "198.51.100.1") == "rate_limited"
    keys = [k.decode() for k in voucher_redis.scan_iter("realmbill:voucher-attempts:*")]
    assert any(f":account:{subscriber.id}:" in k for k in keys)
    assert any(":ip:203.0.113.7:" in k for k in keys)
    # Another account from the same address is limited by the IP counter.
    other = create_account(realm_a, "otto").id
    assert attempt(other, pins[0][1], "203.0.113.7") == "rate_limited"
    # The same other account from a fresh address still gets through.
    assert attempt(other, pins[0][1], "192.0.2.44") == "ok"
    with realm_context(realm_a.id):
        from app.models import Voucher

        assert db.session.scalar(select(Voucher.status)) == "redeemed"
