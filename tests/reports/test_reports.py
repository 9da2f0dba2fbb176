"""Built-in reports: figures equal the database, CSV equals the page, background runs, pins."""

import csv
import io
from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.models import Invoice
from tenants import realm_context

CDR = ("record_id,username,start,duration_s,bytes_in,bytes_out\n"
       "r1,ann,2026-03-02T10:00:00Z,3600,1000000,2000000\n"
       "r2,ann,2026-03-03T10:00:00Z,1800,500000,500000\n"
       "r3,ben,2026-03-02T11:00:00Z,600,4000000,6000000\n")


@pytest.fixture
def reporting_realm(db, realm_a, create_account, tmp_path):
    """Cost centres uni › faculty › dept, two accounts with usage, a run's invoices, a payment."""
    from app.models import Subscription
    from app.services.accounts import create_cost_centre
    from app.services.billing.run import start_billing_run
    from app.services.payments.core import record_payment
    from app.services.plans import save_plan, spec_from_mapping
    from app.services.usage.ingest import import_usage_file

    with realm_context(realm_a.id):
        uni = create_cost_centre(code="uni", name="University")
        faculty = create_cost_centre(code="sci", name="Science", parent_code="uni")
        dept = create_cost_centre(code="phy", name="Physics", parent_code="sci")
        plan = save_plan(spec_from_mapping({
            "code": "flat", "name": "Flat 20", "currency": realm_a.currency,
            "fees": [{"kind": "recurring", "period": "monthly", "amount": "20.00"}],
            "bands": [{"unit": "MB", "max_usage": "0", "price": "0.00"}],
        }, source="test"), effective_from=date(2026, 1, 1))
        ids = {"uni": uni.id, "sci": faculty.id, "phy": dept.id, "version": plan.latest_version.id}
        db.session.commit()
    ids["ann"] = create_account(realm_a, "ann", cost_centre_id=ids["phy"]).id
    ids["ben"] = create_account(realm_a, "ben", cost_centre_id=ids["sci"]).id
    with realm_context(realm_a.id):
        for account_id in (ids["ann"], ids["ben"]):
            db.session.add(Subscription(account_id=account_id, plan_version_id=ids["version"],
                                        status="active", starts_on=date(2026, 1, 1), anchor_day=1))
        db.session.commit()
        path = tmp_path / "usage.csv"
        path.write_text(CDR)
        import_usage_file(path, kind="cdr")
        start_billing_run("2026-03")
        db.session.commit()
        first = db.session.scalar(sa.select(Invoice).where(Invoice.account_id == ids["ann"]))
        record_payment(ids["ann"], amount=str(first.total), gateway="manual", method="cash",
                       idempotency_key="report-test")
        db.session.commit()
    return ids


def _staff(realm_client, realm):
    client = realm_client(realm)
    client.login_staff(f"owner@{realm.slug}.example")
    return client


def _csv(client, path):
    response = client.get(path)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


def test_every_report_page_renders(db, realm_a, reporting_realm, realm_client):
    from app.services.reports import catalogue

    client = _staff(realm_client, realm_a)
    assert client.get("/console/reports").status_code == 200
    for item in catalogue("realm"):
        response = client.get(f"/console/reports/{item.code}")
        assert response.status_code == 200, item.code
        assert str(item.title) in response.get_data(as_text=True)


def test_revenue_equals_the_invoices(db, realm_a, reporting_realm, realm_client):
    with realm_context(realm_a.id):
        expected = db.session.scalar(sa.select(sa.func.sum(Invoice.total)).where(
            Invoice.status == "finalized", Invoice.kind == "invoice"))
    rows = _csv(_staff(realm_client, realm_a), "/console/reports/revenue.csv")
    assert sum(Decimal(r["Total"]) for r in rows) == expected
    assert {r["Plan"] for r in rows} == {"Flat 20"}


def test_payments_by_gateway(db, realm_a, reporting_realm, realm_client):
    rows = _csv(_staff(realm_client, realm_a), "/console/reports/payments.csv")
    assert [(r["Gateway"], r["Payments"]) for r in rows] == [("manual", "1")]


def test_usage_by_account_and_top_users(db, realm_a, reporting_realm, realm_client):
    client = _staff(realm_client, realm_a)
    rows = {r["Username"]: Decimal(r["Usage (MB)"]) for r in _csv(client, "/console/reports/usage_accounts.csv")}
    assert rows == {"ann": Decimal("4.000"), "ben": Decimal("10.000")}
    top = _csv(client, "/console/reports/top_users.csv?limit=1&unit=minute")
    assert [(r["Username"], r["Usage (minute)"]) for r in top] == [("ann", "90.000")]


def test_cost_centres_roll_up_and_drill_down_in_the_background(db, realm_a, reporting_realm, realm_client):
    client = _staff(realm_client, realm_a)
    page = client.get("/console/reports/usage_cost_centres").get_data(as_text=True)
    assert "Compute in the background" in page
    response = client.post("/console/reports/usage_cost_centres/run", {})
    assert response.status_code == 303
    top = _csv(client, "/console/reports/usage_cost_centres.csv")
    assert [(r["Cost centre"], r["Usage (MB)"]) for r in top] == [("University", "14.000")]
    page = client.get("/console/reports/usage_cost_centres").get_data(as_text=True)
    assert "University" in page and f"node={reporting_realm['uni']}" in page
    inside = _csv(client, f"/console/reports/usage_cost_centres.csv?node={reporting_realm['sci']}")
    assert [(r["Cost centre"], r["Usage (MB)"]) for r in inside] == [
        ("Physics", "4.000"), ("directly in this centre", "10.000")]


def test_pinned_reports_show_on_the_console_home(db, realm_a, reporting_realm, realm_client):
    client = _staff(realm_client, realm_a)
    assert client.post("/console/reports/revenue/pin", {"pinned": "1"}).status_code == 303
    home = client.get("/console/").get_data(as_text=True)
    assert 'class="card pinned-report"' in home and "<svg" in home
    assert "Revenue by period and plan</a></h2>" in home
    client.post("/console/reports/revenue/pin", {"pinned": "0"})
    assert "pinned-report" not in client.get("/console/").get_data(as_text=True)


def test_provider_reports_span_realms_and_are_the_providers_only(db, provider_realm, realm_a, realm_b,
                                                                 reporting_realm, realm_client):
    provider = _staff(realm_client, provider_realm)
    rows = _csv(provider, "/provider/reports/realm_revenue.csv")
    assert {r["Realm"] for r in rows} == {realm_a.name}
    assert _staff(realm_client, realm_a).get("/provider/reports/realm_revenue").status_code == 403
    assert provider.get("/provider/reports/revenue").status_code == 404  # realm reports live in realms


def test_unknown_report_is_404(db, realm_a, realm_client):
    assert _staff(realm_client, realm_a).get("/console/reports/nope").status_code == 404
