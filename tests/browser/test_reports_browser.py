"""In a real browser: staff open every report from the reports menu, the figures on the page
equal the database, a keyboard shortcut opens a report, and one report is saved as a
screenshot artifact."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

PLAN = """
code: ledger-flat
name: Ledger Flat
currency: USD
fees:
  - {kind: recurring, period: monthly, amount: "25.00"}
bands:
  - {unit: MB, max_usage: "0", price: "0.01"}
"""


@pytest.fixture(scope="module")
def ledger(live_server, tmp_path_factory):
    """A realm with two subscribers, last month's usage and its billing run, in the live database."""
    from app import create_app
    from app.extensions import db
    from app.models import Invoice, UsageRecord
    from app.services.accounts import create_account
    from app.services.billing.run import start_billing_run
    from app.services.plans import import_plan
    from app.services.realms import create_realm
    from app.services.subscriptions import subscribe
    from app.services.uow import unit_of_work
    from app.services.usage.rollups import rebuild
    from tenants import realm_context
    from tests.conftest import make_config

    [database] = tmp_path_factory.getbasetemp().glob("live[0-9]*/live.sqlite")
    app = create_app(make_config(f"sqlite:///{database}"))
    month = date(2026, 3, 1)
    with app.app_context():
        with unit_of_work():
            realm = create_realm(slug="ledger", name="Ledger Net", parent_slug="provider",
                                 owner={"email": "owner@ledger.example", "password": "owner-password"})
            realm_id = realm.id
        with realm_context(realm_id), unit_of_work():
            plan = import_plan(PLAN, source="test")
            db.session.flush()
            for index, username in enumerate(("lena", "lars"), 1):
                account = create_account(username=username, name=username.title())
                subscribe(account.id, plan_id=plan.id, starts_on=month)
                at = datetime(2026, 3, 10 + index, 12, tzinfo=UTC)
                db.session.add(UsageRecord(
                    account_id=account.id, source="cdr", source_record_id=f"{username}-1", status="cdr",
                    username=username, event_time=at, start=at, duration_s=600,
                    bytes_in=index * 1_000_000, bytes_out=index * 2_000_000))
        with unit_of_work():  # records added directly, not through ingest: the usage reports read rollups
            rebuild(realm_id)
        with realm_context(realm_id), unit_of_work():
            start_billing_run("2026-03")
        with realm_context(realm_id):
            total = db.session.scalar(db.select(db.func.sum(Invoice.total)).where(Invoice.status == "finalized"))
        db.engine.dispose()
    return {"base": f"http://ledger.{live_server}", "revenue": total,
            "usage": {"lena": Decimal("3.000"), "lars": Decimal("6.000")}}


def _sign_in(page, base):
    page.goto(f"{base}/console/login")
    page.fill("#email", "owner@ledger.example")
    page.fill("#password", "owner-password")
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile(r"/console/$"))


def test_every_report_opens_from_the_menu_with_figures_from_the_database(page, ledger):
    from app.services.reports import catalogue

    base = ledger["base"]
    _sign_in(page, base)
    for item in catalogue("realm"):
        page.goto(f"{base}/console/reports")
        page.click(f"a[data-report='{item.code}']")
        expect(page.locator("h1")).to_have_text(str(item.title))
        expect(page.locator("#report-body")).to_be_visible()

    page.goto(f"{base}/console/reports/revenue?since=2026-03-01")
    totals = page.locator("table[data-report-table=revenue] td[data-column=total]").all_inner_texts()
    shown = sum(Decimal(text.split()[0]) for text in totals)
    assert shown == ledger["revenue"]
    expect(page.locator("figure.report-chart svg rect.bar")).not_to_have_count(0)
    page.screenshot(path="test-artifacts/report-revenue.png", full_page=True)

    page.goto(f"{base}/console/reports/usage_accounts?since=2026-03-01&until=2026-03-31")
    usernames = page.locator("td[data-column=username]").all_inner_texts()
    figures = page.locator("td[data-column=usage]").all_inner_texts()
    assert {u: Decimal(f) for u, f in zip(usernames, figures, strict=True)} == ledger["usage"]


def test_a_keyboard_shortcut_opens_a_report(page, ledger):
    _sign_in(page, ledger["base"])
    page.keyboard.press("g")
    page.keyboard.press("t")
    expect(page).to_have_url(re.compile(r"/console/reports/top_users$"))
    expect(page.locator("h1")).to_have_text("Top users")
