"""Two sessions of one account, ingested by two threads at once on PostgreSQL, share one
1 GB pool: it is exhausted at 1 GB in total, thresholds are raised once, one enforcement
is opened and each open session gets exactly one CoA."""

import threading
from datetime import date
from decimal import Decimal as D

from sqlalchemy import func, select

from app.models import QuotaBalance, Subscription
from app.models.enforcement import Enforcement, QuotaNotice
from app.models.events import Event
from tenants import realm_context

from .helpers import MB, acct, make_plan


def test_two_sessions_exhaust_one_pool_once(committed_pg_app, nas):
    from app.extensions import db
    from app.services.accounts import create_account
    from app.services.nas import add_nas
    from app.services.quotas import create_pool
    from app.services.realms import create_realm
    from app.services.uow import unit_of_work
    from app.services.usage.ingest import ingest

    app = committed_pg_app
    app.config["COA_TIMEOUT"] = 0.5
    with app.app_context():
        with unit_of_work():
            realm = create_realm(slug="enforce", name="Enforce")
        realm_id = realm.id
        with realm_context(realm_id), unit_of_work():
            account = create_account(username="alice", name="Alice")
            plan = make_plan("shape")
            db.session.add(Subscription(account_id=account.id, plan_version_id=plan.latest_version.id,
                                        status="active", starts_on=date(2020, 1, 1), anchor_day=1))
            pool_id = create_pool(name="1 GB", scope="account", account_id=account.id, unit="GB",
                                  size=D(1), anchor=date(2020, 1, 1)).id
            add_nas(name="Simulator", address="127.0.0.1", secret=nas.secret, coa_port=nas.port)
        with realm_context(realm_id), unit_of_work():
            ingest([acct("Start", 0, 0, session="phone"), acct("Start", 0, 0, session="laptop", ip="10.0.0.8")])

    errors = []
    barrier = threading.Barrier(2)

    def device(session, ip):
        try:
            with app.app_context(), realm_context(realm_id):
                barrier.wait(timeout=10)
                for step in range(1, 9):  # 8 x 100 MB per session: 1.6 GB asked in total
                    with unit_of_work():
                        ingest([acct("Interim-Update", step * 10, step * 100 * MB, session=session, ip=ip)])
        except Exception as exc:  # reported below
            errors.append((session, exc))

    threads = [threading.Thread(target=device, args=("phone", "10.0.0.7")),
               threading.Thread(target=device, args=("laptop", "10.0.0.8"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors

    with app.app_context(), realm_context(realm_id):
        balance = db.session.scalar(select(QuotaBalance).where(QuotaBalance.pool_id == pool_id))
        assert balance.used == D(1)  # 1 GB in total, not 1 GB per session
        assert db.session.scalar(select(func.count(Enforcement.id))) == 1
        notices = sorted(db.session.execute(select(QuotaNotice.kind, QuotaNotice.percent)).all())
        assert notices == [("exhausted", 100), ("threshold", 80), ("threshold", 100)]
        assert db.session.scalar(select(func.count(Event.id)).where(Event.type == "quota.exhausted")) == 1
        assert db.session.scalar(select(func.count(Event.id)).where(Event.type == "quota.threshold")) == 2
        enforcement = db.session.scalar(select(Enforcement))
        assert enforcement.state == "sent"
        assert sorted(t.session.session_id for t in enforcement.targets) == ["laptop", "phone"]
    coas = nas.of_kind("coa")
    assert sorted(r.get("Acct-Session-Id") for r in coas) == ["laptop", "phone"]
    assert all(r.authenticator_ok and r.message_authenticator_ok for r in coas)
