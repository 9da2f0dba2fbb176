"""Console: enforcements listed with state and attempts (own realm only), plan policy form."""

from sqlalchemy import select

from app.models import Plan
from tenants import realm_context

from .helpers import MB, acct, feed


def test_enforcements_page_shows_state_and_attempts(db, realm_a, realm_b, capped, nas, realm_client):
    capped("shape")
    feed(db, realm_a, acct("Start", 0, 0, session="sess-42"), acct("Interim-Update", 60, 1100 * MB, session="sess-42"))
    client = realm_client(realm_a)
    client.login_staff(f"owner@{realm_a.slug}.example")
    page = client.get("/console/enforcements").get_data(as_text=True)
    assert "alice" in page and "status-sent" in page and "sess-42" in page and "1M/1M" in page
    assert client.get("/console/enforcements?state=confirmed").get_data(as_text=True).count("status-sent") == 0
    assert client.post("/console/enforcements/check").status_code == 303

    other = realm_client(realm_b)
    other.login_staff(f"owner@{realm_b.slug}.example")
    page = other.get("/console/enforcements").get_data(as_text=True)
    assert "sess-42" not in page and "No enforcements." in page


def test_plan_policy_form(db, realm_a, capped, nas, realm_client):
    capped("overage")
    with realm_context(realm_a.id):
        plan_id = db.session.scalar(select(Plan.id))
    client = realm_client(realm_a)
    client.login_staff(f"owner@{realm_a.slug}.example")
    assert client.get(f"/console/enforcements/plans/{plan_id}").status_code == 200
    bad = client.post(f"/console/enforcements/plans/{plan_id}", {
        "quota_policy": "shape", "quota_thresholds": "80", "quota_cascade": "", "rate_limit": "",
        "shaped_rate_limit": ""})
    assert bad.status_code == 422 and "aria-invalid" in bad.get_data(as_text=True)
    good = client.post(f"/console/enforcements/plans/{plan_id}", {
        "quota_policy": "shape", "quota_thresholds": "50,90", "quota_cascade": "realm,account",
        "rate_limit": "20M/20M", "shaped_rate_limit": "512k/512k"})
    assert good.status_code == 303
    with realm_context(realm_a.id):
        plan = db.session.get(Plan, plan_id)
        db.session.refresh(plan)
        assert (plan.quota_policy, plan.quota_thresholds, plan.shaped_rate_limit) == ("shape", "50,90", "512k/512k")
    assert client.get(f"/console/enforcements/plans/{plan_id + 999}").status_code == 404
