"""Cost-centre cascades per plan, enforcement only when the whole cascade is empty, a voucher
restoring the quota, and the scheduler's sweep."""

from datetime import date
from decimal import Decimal as D

from sqlalchemy import func, select

from app.models import Subscription
from app.models.enforcement import Enforcement
from app.services.enforcement import set_plan_enforcement
from app.services.quotas import balance_on, create_pool
from tenants import realm_context

from .helpers import MB, NOW, acct, enforcement_of, feed, make_plan


def _campus(db, realm, create_account, cascade):
    from app.services.accounts import create_cost_centre

    with realm_context(realm.id):
        create_cost_centre(code="uni", name="University")
        create_cost_centre(code="eng", name="Engineering", parent_code="uni")
        dept = create_cost_centre(code="cs", name="Computer Science", parent_code="eng")
        db.session.commit()
        dept_id = dept.id
    account_id = create_account(realm, "dana", cost_centre_id=dept_id).id
    with realm_context(realm.id):
        from app.models import CostCentre

        centres = {c.code: c.id for c in db.session.scalars(select(CostCentre))}
        plan = make_plan("shape", code=f"campus-{len(cascade)}")
        set_plan_enforcement(plan.id, policy="shape", thresholds="80,100", cascade=cascade,
                             rate_limit="10M/10M", shaped_rate_limit="1M/1M")
        db.session.add(Subscription(account_id=account_id, plan_version_id=plan.latest_version.id,
                                    status="active", starts_on=date(2020, 1, 1), anchor_day=1))
        anchor = date(2020, 1, 1)
        pools = {
            "own": create_pool(name="Dana", scope="account", account_id=account_id, unit="MB", size=D(10), anchor=anchor),
            "cs": create_pool(name="CS", scope="cost_centre", cost_centre_id=centres["cs"], unit="MB", size=D(20), anchor=anchor),
            "eng": create_pool(name="Eng", scope="cost_centre", cost_centre_id=centres["eng"], unit="MB", size=D(30), anchor=anchor),
            "uni": create_pool(name="Uni", scope="cost_centre", cost_centre_id=centres["uni"], unit="MB", size=D(40), anchor=anchor),
            "global": create_pool(name="Global", scope="realm", unit="MB", size=D(50), anchor=anchor),
        }
        db.session.commit()
    return pools


def _used(db, realm, pools):
    with realm_context(realm.id):
        return {name: balance_on(pool, NOW.date()).used for name, pool in pools.items()}


def test_individual_then_department_faculty_university_global(db, realm_a, create_account, nas):
    pools = _campus(db, realm_a, create_account, "")
    feed(db, realm_a, acct("Start", 0, 0, user="dana"), acct("Interim-Update", 60, 45 * MB, user="dana"))
    assert _used(db, realm_a, pools) == {"own": 10, "cs": 20, "eng": 15, "uni": 0, "global": 0}
    feed(db, realm_a, acct("Interim-Update", 120, 149 * MB, user="dana"))
    assert _used(db, realm_a, pools) == {"own": 10, "cs": 20, "eng": 30, "uni": 40, "global": 49}
    with realm_context(realm_a.id):
        assert db.session.scalar(select(func.count(Enforcement.id))) == 0  # 1 MB left in the cascade
    feed(db, realm_a, acct("Interim-Update", 180, 160 * MB, user="dana"))
    assert enforcement_of(db, realm_a).policy == "shape"


def test_top_down_cascade_of_a_plan(db, realm_a, create_account, nas):
    pools = _campus(db, realm_a, create_account, "global,cost_centre_top_down,account")
    feed(db, realm_a, acct("Start", 0, 0, user="dana"), acct("Interim-Update", 60, 100 * MB, user="dana"))
    assert _used(db, realm_a, pools) == {"own": 0, "cs": 0, "eng": 10, "uni": 40, "global": 50}


def test_voucher_restores_the_quota_and_the_rate(db, realm_a, capped, nas):
    from app.services.vouchers import generate_batch, redeem_voucher

    ids = capped("shape")
    feed(db, realm_a, acct("Start", 0, 0), acct("Interim-Update", 60, 1100 * MB))
    assert [r.kind for r in nas.requests] == ["coa"]
    with realm_context(realm_a.id):
        pin = generate_batch(name="Extra", count=1, kind="quota", amount="500", unit="MB", activate=True).pins[0][1]
        db.session.commit()
    with realm_context(realm_a.id):
        redeem_voucher(account_id=ids["account"], pin=pin)
        db.session.commit()
    assert enforcement_of(db, realm_a).state == "lifted"
    assert [r.kind for r in nas.requests] == ["coa", "coa"]
    assert nas.requests[1].get("Mikrotik-Rate-Limit") == "10M/10M"
    assert nas.requests[1].authenticator_ok and nas.requests[1].message_authenticator_ok


def test_scheduler_sweep_confirms_stopped_sessions(db, realm_a, capped, nas):
    from workers.enforcement import check_enforcements_sweep_job
    from workers.scheduler import TASKS

    assert TASKS["quota-enforcement"].func is check_enforcements_sweep_job
    capped("shape")
    feed(db, realm_a, acct("Start", 0, 0), acct("Interim-Update", 60, 1100 * MB))
    feed(db, realm_a, acct("Stop", 120, 1100 * MB))
    assert check_enforcements_sweep_job() >= 1
    assert enforcement_of(db, realm_a).state == "confirmed"
    assert len(nas.requests) == 1
