"""API reports: the catalogue, a report as JSON and CSV, heavy reports as background runs."""

from __future__ import annotations

import pytest

from tenants import realm_context

from . import factories


@pytest.fixture
def heavy_report():
    """A background report registered for the test (the built-in usage reports read the daily
    rollups and answer at once); it computes usage by cost centre."""
    from app.services import reports

    usage = reports.get_report("usage_cost_centres")

    @reports.report("slow_centres", "Slow centres", "Usage by cost centre, in the background.", shortcut="z",
                    heavy=True, filters=usage.filters, columns=usage.columns)
    def build(filters, progress=None):
        return usage.build(filters)

    yield "slow_centres"
    reports.REPORTS.pop("slow_centres")


def test_catalogue_and_a_report_as_json_and_csv(db, realm_a, api):
    with realm_context(realm_a.id):
        factories.voucher_batch(3)
        db.session.commit()
    client = api(realm_a, scopes=["reports:read"])
    catalogue = {r["code"]: r for r in client.get("/reports").get_json()["items"]}
    assert "vouchers" in catalogue and catalogue["usage_cost_centres"]["heavy"] is False
    assert "realm_revenue" not in catalogue  # provider reports stay in the provider console

    report = client.get("/reports/vouchers").get_json()
    assert [c["key"] for c in report["columns"]][:2] == ["batch", "total"]
    assert report["rows"] == [{"batch": "Factory", "total": 3, "sold": 3, "redeemed": 0, "expired": 0, "void": 0}]

    csv_query = client.get("/reports/vouchers?format=csv")
    assert csv_query.mimetype == "text/csv"
    assert csv_query.get_data(as_text=True).splitlines()[1] == "Factory,3,3,0,0,0"
    accept = client.get("/reports/vouchers", headers={"Accept": "text/csv"})
    assert accept.mimetype == "text/csv" and accept.get_data() == csv_query.get_data()

    assert client.get("/reports/nope").status_code == 404
    assert client.get("/reports/realm_revenue").status_code == 404
    assert client.get("/reports/Bad-Code").status_code == 404
    assert client.get("/reports/vouchers?since=yesterday").status_code == 422
    assert api(realm_a, scopes=["accounts:read"]).get("/reports").status_code == 403


def test_heavy_report_runs_in_the_background(db, realm_a, api, create_account, heavy_report):
    create_account(realm_a, "carl")
    client = api(realm_a, scopes=["reports:read"])
    started = client.get(f"/reports/{heavy_report}?unit=GB")
    assert started.status_code == 202, started.get_data(as_text=True)
    run = started.get_json()
    assert run["code"] == heavy_report and started.headers["Location"].endswith(f"/report-runs/{run['id']}")
    # Jobs run in-process after the commit in tests: the run is finished now.
    assert client.get(f"/report-runs/{run['id']}").get_json()["status"] == "done"
    done = client.get(f"/reports/{heavy_report}?unit=GB")
    assert done.status_code == 200 and done.get_json()["run_id"] == run["id"]
    assert client.get(f"/reports/{heavy_report}?unit=GB&format=csv").mimetype == "text/csv"
    refreshed = client.get(f"/reports/{heavy_report}?unit=GB&refresh=true")
    assert refreshed.status_code == 202 and refreshed.get_json()["id"] != run["id"]


def test_provider_key_also_gets_the_provider_reports(db, provider_realm, realm_a, api):
    client = api(provider_realm, scopes=["reports:read"], host="localhost")
    scopes = {r["code"]: r["scope"] for r in client.get("/reports").get_json()["items"]}
    assert scopes["realm_revenue"] == "provider" and scopes["vouchers"] == "realm"
    revenue = client.get("/reports/realm_revenue")
    assert revenue.status_code == 200, revenue.get_data(as_text=True)
    assert revenue.get_json()["code"] == "realm_revenue"
