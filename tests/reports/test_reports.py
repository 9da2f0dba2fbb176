"""Built-in reports: figures equal the database (usage: a GROUP BY over the records, read from the
rollups), CSV equals the page, cost-centre tree and drill-down, pins."""

import csv
import io
from datetime import UTC, date
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.models import CostCentre, Invoice, UsageRecord
from app.services.usage.ingest import import_usage_file
from tenants import realm_context

CDR = ("record_id,username,start,duration_s,bytes_in,bytes_out\n"
       "r1,ann,2026-03-02T10:00:00Z,3600,1000000,2000000\n"
       "r2,ann,2026-03-03T10:00:00Z,1800,500000,500000\n"
       "r3,ben,2026-03-02T11:00:00Z,600,4000000,6000000\n")


def _write(tmp_path, text: str, name: str = "more.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


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


def test_cost_centres_roll_up_and_drill_down(db, realm_a, reporting_realm, realm_client):
    client = _staff(realm_client, realm_a)
    page = client.get("/console/reports/usage_cost_centres").get_data(as_text=True)
    assert "Compute in the background" not in page  # answered from the rollups, on the page
    assert "University" in page and f"node={reporting_realm['uni']}" in page
    top = _csv(client, "/console/reports/usage_cost_centres.csv")
    assert [(r["Cost centre"], r["Usage (MB)"]) for r in top] == [("University", "14.000")]
    inside = _csv(client, f"/console/reports/usage_cost_centres.csv?node={reporting_realm['sci']}")
    assert [(r["Cost centre"], r["Usage (MB)"]) for r in inside] == [
        ("Physics", "4.000"), ("directly in this centre", "10.000")]
    page = client.get(f"/console/reports/usage_cost_centres?node={reporting_realm['sci']}").get_data(as_text=True)
    assert "University › Science" in page


def _usage_rows(db, realm_id):
    with realm_context(realm_id):
        return db.session.execute(sa.select(
            UsageRecord.account_id, UsageRecord.event_time, UsageRecord.bytes_in + UsageRecord.bytes_out,
            UsageRecord.duration_s)).all()


def _group_by(rows, *, since=None, until=None, seconds=False, key=lambda account_id: account_id):
    """What a GROUP BY over usage_records answers: sums per key over UTC days of event_time."""
    sums: dict = {}
    for account_id, event_time, octets, duration in rows:
        day = event_time.astimezone(UTC).date()
        if (since and day < since) or (until and day > until):
            continue
        k = key(account_id)
        sums[k] = sums.get(k, 0) + (duration if seconds else octets)
    return sums


@pytest.mark.parametrize("since,until", [(None, None), (date(2026, 3, 3), None), (None, date(2026, 3, 2)),
                                         (date(2026, 3, 2), date(2026, 3, 2))])
def test_usage_figures_equal_a_group_by_over_the_records(db, realm_a, reporting_realm, tmp_path, since, until):
    """Figures from the rollups (folded or still pending) equal the records, by UTC event day."""
    from app.models import Account
    from app.services.reports import Filters, run_report
    from app.services.usage.rollups import fold_deltas

    more = (
        "record_id,username,start,duration_s,bytes_in,bytes_out\n"
        "r4,ann,2026-03-02T23:59:00Z,120,7000000,0\n"   # ends on 3 March (UTC): counted on the 3rd
        "r5,ben,2026-03-03T00:00:00+02:00,60,0,3000000\n"  # 2 March 22:00 UTC
    )
    with realm_context(realm_a.id):
        fold_deltas()
        import_usage_file(_write(tmp_path, more), kind="cdr")  # pending deltas now, on top of folded rollups
        db.session.commit()
        numbers = dict(db.session.execute(sa.select(Account.id, Account.username)).all())
        centre_of = dict(db.session.execute(sa.select(Account.id, Account.cost_centre_id)).all())
    rows = _usage_rows(db, realm_a.id)
    mb = Decimal(10) ** 6
    with realm_context(realm_a.id):
        by_account = run_report("usage_accounts", Filters(since=since, until=until))
        minutes = run_report("usage_accounts", Filters(since=since, until=until, unit="minute"))
        top = run_report("top_users", Filters(since=since, until=until, limit=1))
        science = run_report("usage_cost_centres", Filters(since=since, until=until, node=reporting_realm["sci"]))
    expected = _group_by(rows, since=since, until=until)
    assert {r["username"]: r["usage"] for r in by_account.rows} == {
        numbers[a]: (Decimal(v) / mb).quantize(Decimal("0.001")) for a, v in expected.items()}
    assert {r["username"]: r["usage"] for r in minutes.rows} == {
        numbers[a]: (Decimal(v) / 60).quantize(Decimal("0.001"))
        for a, v in _group_by(rows, since=since, until=until, seconds=True).items()}
    if expected:
        best = max(expected.values())
        assert [r["usage"] for r in top.rows] == [(Decimal(best) / mb).quantize(Decimal("0.001"))]
    per_centre = _group_by(rows, since=since, until=until, key=centre_of.get)
    shown = {r["centre"]: r["usage"] for r in science.rows}
    assert shown.get("Physics", Decimal("0.000")) == (
        Decimal(per_centre.get(reporting_realm["phy"], 0)) / mb).quantize(Decimal("0.001"))
    assert shown.get("directly in this centre", Decimal("0.000")) == (
        Decimal(per_centre.get(reporting_realm["sci"], 0)) / mb).quantize(Decimal("0.001"))


def test_cost_centre_tree_sums_its_children(db, realm_a, reporting_realm, create_account, tmp_path):
    """A centre's figure is its own accounts' usage plus every centre below it, at any depth."""
    from app.services.accounts import create_cost_centre
    from app.services.reports import Filters, run_report

    with realm_context(realm_a.id):
        create_cost_centre(code="chem", name="Chemistry", parent_code="sci")
        db.session.commit()
        chem = db.session.scalar(sa.select(CostCentre.id).where(CostCentre.code == "chem"))
    create_account(realm_a, "cat", cost_centre_id=chem)
    create_account(realm_a, "dan", cost_centre_id=reporting_realm["uni"])
    create_account(realm_a, "eve")
    with realm_context(realm_a.id):
        import_usage_file(_write(tmp_path, "record_id,username,start,duration_s,bytes_in,bytes_out\n"
                                 "c1,cat,2026-03-04T10:00:00Z,60,2000000,0\n"
                                 "c2,dan,2026-03-04T10:00:00Z,60,1000000,0\n"
                                 "c3,eve,2026-03-04T10:00:00Z,60,500000,0\n"), kind="cdr")
        db.session.commit()

        def level(node=None):
            return {r["centre"]: r for r in run_report("usage_cost_centres", Filters(node=node)).rows}

        top, uni, sci = level(), level(reporting_realm["uni"]), level(reporting_realm["sci"])
    assert sci["Chemistry"]["usage"] == Decimal("2.000") and sci["Physics"]["usage"] == Decimal("4.000")
    assert sci["Chemistry"]["children"] == 0 and uni["Science"]["children"] == 2
    assert uni["Science"]["usage"] == sum(r["usage"] for r in sci.values()) == Decimal("16.000")
    assert top["University"]["usage"] == sum(r["usage"] for r in uni.values()) == Decimal("17.000")
    assert top["no cost centre"]["usage"] == Decimal("0.500")


def test_top_users_rank_like_the_full_list_with_ties_after_rounding(db, realm_a, reporting_realm,
                                                                     create_account, tmp_path):
    """Top users are cut in SQL; the list equals the usage-by-account rows ranked by rounded
    usage, then account number, for every limit (accounts 400 bytes apart tie at 0.001 MB)."""
    from app.services.reports import Filters, run_report

    lines = ["record_id,username,start,duration_s,bytes_in,bytes_out"]
    for n, size in enumerate((1_000_000, 1_000_400, 999_700, 1_000_600, 2_000_000, 10_000_000)):
        create_account(realm_a, f"tie{n}")
        lines.append(f"t{n},tie{n},2026-03-05T10:00:00Z,{60 * (n % 3)},{size},0")
    with realm_context(realm_a.id):
        import_usage_file(_write(tmp_path, "\n".join(lines) + "\n", "ties.csv"), kind="cdr")
        db.session.commit()
        for unit in ("MB", "minute"):
            every = run_report("usage_accounts", Filters(unit=unit)).rows
            ranked = sorted(every, key=lambda r: (-r["usage"], r["account"]))
            for limit in range(1, len(every) + 2):
                assert run_report("top_users", Filters(unit=unit, limit=limit)).rows == ranked[:limit], (unit, limit)


def test_usage_reports_read_the_rollups_not_the_records(db, realm_a, reporting_realm, realm_client):
    from app.services.usage.rollups import fold_deltas

    client = _staff(realm_client, realm_a)
    before = [_csv(client, f"/console/reports/{code}.csv") for code in
              ("usage_accounts", "top_users", "usage_cost_centres")]
    with realm_context(realm_a.id):
        fold_deltas()
        db.session.execute(sa.update(UsageRecord).values(bytes_in=0, bytes_out=0))  # reports must not look
        db.session.commit()
    after = [_csv(client, f"/console/reports/{code}.csv") for code in
             ("usage_accounts", "top_users", "usage_cost_centres")]
    assert after == before and before[0]


def test_a_heavy_report_runs_in_the_background_from_its_page(db, realm_a, reporting_realm, realm_client):
    from app.services import reports

    usage = reports.get_report("usage_cost_centres")

    @reports.report("slow_centres", "Slow centres", "Usage by cost centre, in the background.", shortcut="z",
                    heavy=True, filters=usage.filters, columns=usage.columns)
    def build(filters, progress=None):
        return usage.build(filters)

    try:
        client = _staff(realm_client, realm_a)
        assert "Compute in the background" in client.get("/console/reports/slow_centres").get_data(as_text=True)
        assert client.post("/console/reports/slow_centres/run", {}).status_code == 303
        page = client.get("/console/reports/slow_centres").get_data(as_text=True)
        assert "Compute again" in page and "University" in page
        assert _csv(client, "/console/reports/slow_centres.csv") == _csv(
            client, "/console/reports/usage_cost_centres.csv")
    finally:
        reports.REPORTS.pop("slow_centres")


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
