"""Quota enforcement end to end: RADIUS accounting in, pools drawn, CoA / Disconnect out to a
NAS simulator (pyrad verifies every authenticator), closed loop, lift on top-up."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal as D

import pytest
from sqlalchemy import func, select

from app.models import Account, Subscription
from app.models.enforcement import Enforcement, QuotaNotice
from app.models.events import Event
from app.services.enforcement import check_enforcements, set_plan_enforcement
from app.services.quotas import create_pool, top_up_pool
from tenants import realm_context

from .helpers import MB, NOW, T0, acct, enforcement_of, events, feed, make_plan


def test_thresholds_once_and_exactly_one_coa_per_exhaustion(db, realm_a, capped, nas):
    capped("shape")
    feed(db, realm_a, acct("Start", 0, 0), acct("Interim-Update", 60, 500 * MB))
    assert events(db, realm_a, "quota.threshold") == 0
    feed(db, realm_a, acct("Interim-Update", 120, 850 * MB))
    feed(db, realm_a, acct("Interim-Update", 150, 900 * MB))
    assert events(db, realm_a, "quota.threshold") == 1  # 80 %, once
    assert nas.requests == []
    feed(db, realm_a, acct("Interim-Update", 180, 1200 * MB))
    feed(db, realm_a, acct("Interim-Update", 240, 1300 * MB))  # still exhausted: nothing new
    assert events(db, realm_a, "quota.threshold") == 2  # 80 % and 100 %
    assert events(db, realm_a, "quota.exhausted") == 1
    [request] = nas.requests
    assert request.kind == "coa"
    assert request.authenticator_ok and request.message_authenticator_ok
    assert request.get("User-Name") == "alice" and request.get("Acct-Session-Id") == "s-1"
    assert request.get("Mikrotik-Rate-Limit") == "1M/1M"
    enforcement = enforcement_of(db, realm_a)
    assert (enforcement.state, enforcement.attempts) == ("sent", 1)
    with realm_context(realm_a.id):
        notices = db.session.execute(select(QuotaNotice.kind, QuotaNotice.percent)).all()
    assert sorted(notices) == [("exhausted", 100), ("threshold", 80), ("threshold", 100)]

    # The network confirms: the session stops.
    feed(db, realm_a, acct("Stop", 300, 1350 * MB))
    with realm_context(realm_a.id):
        check_enforcements(now=NOW)
        db.session.commit()
    assert enforcement_of(db, realm_a).state == "confirmed"
    assert len(nas.requests) == 1


def test_session_not_found_nak_counts_as_done(db, realm_a, capped, nas):
    capped("shape")
    nas.respond(coa="nak", error_cause=503)
    feed(db, realm_a, acct("Start", 0, 0), acct("Interim-Update", 60, 1100 * MB))
    assert [r.kind for r in nas.requests] == ["coa"]
    assert enforcement_of(db, realm_a).state == "confirmed"


def test_other_nak_falls_back_to_disconnect(db, realm_a, capped, nas):
    capped("shape")
    nas.respond(coa="nak", error_cause=501)  # administratively prohibited
    feed(db, realm_a, acct("Start", 0, 0), acct("Interim-Update", 60, 1100 * MB))
    assert [r.kind for r in nas.requests] == ["coa", "disconnect"]
    assert all(r.authenticator_ok and r.message_authenticator_ok for r in nas.requests)
    assert nas.requests[1].get("Acct-Session-Id") == "s-1"
    assert enforcement_of(db, realm_a).state == "disconnected"


def test_unconfirmed_is_retried_then_disconnected(db, realm_a, capped, nas):
    capped("shape")
    feed(db, realm_a, acct("Start", 0, 0), acct("Interim-Update", 60, 1100 * MB))
    sent = enforcement_of(db, realm_a).sent_at
    with realm_context(realm_a.id):
        assert check_enforcements(now=sent + timedelta(minutes=1))["retried"] == 0  # within the window: wait
        db.session.commit()
    for minutes, state in ((6, "retrying"), (12, "retrying"), (18, "disconnected")):
        with realm_context(realm_a.id):
            check_enforcements(now=sent + timedelta(minutes=minutes))
            db.session.commit()
        assert enforcement_of(db, realm_a).state == state
    assert [r.kind for r in nas.requests] == ["coa", "coa", "coa", "disconnect"]
    assert enforcement_of(db, realm_a).attempts == 4
    with realm_context(realm_a.id):
        check_enforcements(now=sent + timedelta(minutes=30))  # disconnected: nothing more is sent
        db.session.commit()
    assert len(nas.requests) == 4
    feed(db, realm_a, acct("Stop", 400, 1150 * MB))
    with realm_context(realm_a.id):
        check_enforcements(now=sent + timedelta(minutes=31))
        db.session.commit()
    assert enforcement_of(db, realm_a).state == "confirmed"


def test_interim_updates_at_the_shaped_rate_confirm(db, realm_a, capped, nas):
    capped("shape")
    feed(db, realm_a, acct("Start", 0, 0), acct("Interim-Update", 60, 1100 * MB))
    sent = enforcement_of(db, realm_a).sent_at
    assert sent is not None
    # Interims after the CoA: 60 s at 0.5 Mbit/s is 3.75 MB. The received time of the
    # records is before "now", so the test moves the CoA's time back to the last fast one.
    with realm_context(realm_a.id):
        enforcement = db.session.scalar(select(Enforcement))
        for target in enforcement.targets:
            target.sent_at = T0 + timedelta(seconds=61)
        db.session.commit()
    feed(db, realm_a, acct("Interim-Update", 120, 1100 * MB + 3_750_000))
    with realm_context(realm_a.id):
        check_enforcements(now=NOW)
        db.session.commit()
    assert enforcement_of(db, realm_a).state == "confirmed"


def test_too_fast_interims_do_not_confirm(db, realm_a, capped, nas):
    capped("shape")
    feed(db, realm_a, acct("Start", 0, 0), acct("Interim-Update", 60, 1100 * MB))
    with realm_context(realm_a.id):
        for target in db.session.scalar(select(Enforcement)).targets:
            target.sent_at = T0 + timedelta(seconds=61)
        db.session.commit()
    feed(db, realm_a, acct("Interim-Update", 120, 1200 * MB))  # 100 MB in 60 s: not shaped
    with realm_context(realm_a.id):
        check_enforcements(now=T0 + timedelta(minutes=3))  # within the retry window
        db.session.commit()
    assert enforcement_of(db, realm_a).state == "sent"
    assert len(nas.requests) == 1


def test_top_up_lifts_and_restores_the_normal_rate(db, realm_a, capped, nas):
    ids = capped("shape")
    feed(db, realm_a, acct("Start", 0, 0), acct("Interim-Update", 60, 1100 * MB))
    assert [r.kind for r in nas.requests] == ["coa"]
    with realm_context(realm_a.id):
        top_up_pool(ids["pool"], quantity=D(500), on=NOW.date())
        db.session.commit()
    enforcement = enforcement_of(db, realm_a)
    assert enforcement.state == "lifted" and enforcement.lifted_at is not None
    assert [r.kind for r in nas.requests] == ["coa", "coa"]
    restore = nas.requests[1]
    assert restore.authenticator_ok and restore.message_authenticator_ok
    assert restore.get("Mikrotik-Rate-Limit") == "10M/10M"


def test_suspend_policy_suspends_disconnects_and_resumes_on_top_up(db, realm_a, capped, nas):
    ids = capped("suspend")
    feed(db, realm_a, acct("Start", 0, 0), acct("Interim-Update", 60, 1100 * MB))
    assert [r.kind for r in nas.requests] == ["disconnect"]
    with realm_context(realm_a.id):
        assert db.session.get(Account, ids["account"]).status == "suspended"
        assert db.session.scalar(select(func.count(Event.id)).where(Event.type == "account.suspended")) == 1
    with realm_context(realm_a.id):
        top_up_pool(ids["pool"], quantity=D(1000), on=NOW.date())
        db.session.commit()
        account = db.session.get(Account, ids["account"])
        db.session.refresh(account)
        assert account.status == "active"
    assert enforcement_of(db, realm_a).state == "lifted"


def test_overage_policy_sends_nothing(db, realm_a, capped, nas):
    capped("overage")
    feed(db, realm_a, acct("Start", 0, 0), acct("Interim-Update", 60, 1100 * MB))
    assert nas.requests == []
    assert events(db, realm_a, "quota.exhausted") == 1
    with realm_context(realm_a.id):
        assert db.session.scalar(select(func.count(Enforcement.id))) == 0


def test_a_nas_of_another_realm_is_never_used(db, realm_a, realm_b, capped, nas):
    capped("shape", nas_realm=realm_b)  # same address, but realm_b's NAS
    feed(db, realm_a, acct("Start", 0, 0), acct("Interim-Update", 60, 1100 * MB))
    assert nas.requests == []
    enforcement = enforcement_of(db, realm_a)
    assert enforcement.state == "retrying" and enforcement.last_error == "nas_unreachable"
    with realm_context(realm_b.id):
        assert db.session.scalar(select(func.count(Enforcement.id))) == 0


def test_new_period_lifts(db, realm_a, capped, nas):
    capped("shape")
    feed(db, realm_a, acct("Start", 0, 0), acct("Interim-Update", 60, 1100 * MB))
    end = enforcement_of(db, realm_a).period_end
    with realm_context(realm_a.id):
        check_enforcements(now=datetime(end.year, end.month, end.day, 0, 5, tzinfo=UTC))
        db.session.commit()
    assert enforcement_of(db, realm_a).state == "lifted"


def test_plan_cascade_order_is_configurable(db, realm_a, create_account):
    from app.services.quotas import balance_on

    account_id = create_account(realm_a, "carol").id
    with realm_context(realm_a.id):
        plan = make_plan("overage", code="realmfirst")
        set_plan_enforcement(plan.id, policy="overage", thresholds="", cascade="realm,account",
                             rate_limit="", shaped_rate_limit="")
        db.session.add(Subscription(account_id=account_id, plan_version_id=plan.latest_version.id,
                                    status="active", starts_on=date(2020, 1, 1), anchor_day=1))
        own = create_pool(name="Own", scope="account", account_id=account_id, unit="MB", size=D(100),
                          anchor=date(2020, 1, 1))
        shared = create_pool(name="Global", scope="realm", unit="MB", size=D(100), anchor=date(2020, 1, 1))
        db.session.commit()
    feed(db, realm_a, acct("Start", 0, 0, user="carol"), acct("Interim-Update", 60, 150 * MB, user="carol"))
    with realm_context(realm_a.id):
        assert balance_on(shared, NOW.date()).used == D(100)  # the realm's pool first
        assert balance_on(own, NOW.date()).used == D(50)


def test_plan_settings_are_validated(db, realm_a):
    from app.services.errors import Invalid

    with realm_context(realm_a.id):
        plan = make_plan("overage")
        with pytest.raises(Invalid) as caught:
            set_plan_enforcement(plan.id, policy="throttle", thresholds="80,120", cascade="account,moon",
                                 rate_limit="fast", shaped_rate_limit="")
        db.session.refresh(plan)
        assert plan.quota_policy == "overage"
    assert set(caught.value.errors) >= {"quota_policy", "quota_thresholds", "quota_cascade", "rate_limit"}


def test_next_login_is_shaped_through_the_users_file(db, realm_a, capped, nas, tmp_path):
    from app.models import Plan
    from app.services.provisioning import services

    users = tmp_path / "users"
    ids = capped("shape", users_file=users)
    with realm_context(realm_a.id):
        service = services.order_service(account_id=ids["account"], plan_id=db.session.scalar(select(Plan.id)))
        services.mark_paid(service.id)
        db.session.commit()
    assert "Mikrotik-Rate-Limit = '10M/10M'" in users.read_text()  # the plan's normal rate

    feed(db, realm_a, acct("Start", 0, 0), acct("Interim-Update", 60, 1100 * MB))
    assert "Mikrotik-Rate-Limit = '1000000'" in users.read_text()  # shaped: 1 Mbit/s at next login
    with realm_context(realm_a.id):
        top_up_pool(ids["pool"], quantity=D(500), on=NOW.date())
        db.session.commit()
    assert "Mikrotik-Rate-Limit = '10M/10M'" in users.read_text()


def test_top_up_does_not_resume_an_account_suspended_for_something_else(db, realm_a, capped, nas):
    from app.services.accounts import resume_account, suspend_account

    ids = capped("suspend")
    feed(db, realm_a, acct("Start", 0, 0), acct("Interim-Update", 60, 1100 * MB))
    with realm_context(realm_a.id):
        resume_account(ids["account"], reason="staff")
        suspend_account(ids["account"], reason="invoice_overdue")
        db.session.commit()
    with realm_context(realm_a.id):
        top_up_pool(ids["pool"], quantity=D(1000), on=NOW.date())
        db.session.commit()
        account = db.session.get(Account, ids["account"])
        db.session.refresh(account)
        assert account.status == "suspended"
    assert enforcement_of(db, realm_a).state == "lifted"


def test_a_pool_may_set_its_own_thresholds(db, realm_a, create_account, nas):
    from app.services.errors import Invalid

    account_id = create_account(realm_a, "erin").id
    with realm_context(realm_a.id):
        plan = make_plan("overage", code="plain")
        db.session.add(Subscription(account_id=account_id, plan_version_id=plan.latest_version.id,
                                    status="active", starts_on=date(2020, 1, 1), anchor_day=1))
        create_pool(name="Erin", scope="account", account_id=account_id, unit="MB", size=D(100),
                    anchor=date(2020, 1, 1), thresholds="90, 50")
        with pytest.raises(Invalid):
            create_pool(name="Bad", scope="account", account_id=account_id, unit="MB", size=D(1),
                        anchor=date(2020, 1, 1), thresholds="150")
        db.session.commit()
    feed(db, realm_a, acct("Start", 0, 0, user="erin"), acct("Interim-Update", 60, 85 * MB, user="erin"))
    with realm_context(realm_a.id):
        percents = db.session.scalars(select(QuotaNotice.percent).where(QuotaNotice.kind == "threshold")).all()
    assert percents == [50]  # not the plan's 80
