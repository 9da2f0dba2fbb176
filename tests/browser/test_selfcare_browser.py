"""In a real browser on a phone-width screen (360×740): a subscriber signs in, sees the
dashboard (screenshot saved as a test artifact), and walks the portal menu; every page
loads with its own entry marked, nothing is wider than the screen, and the strict CSP
reports no violation."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from pathlib import Path

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

ARTIFACTS = Path("test-artifacts")
PLAN = """
code: phone-basic
name: Basic 20
currency: USD
fees:
  - {kind: recurring, period: monthly, amount: "20.00"}
bands:
  - {unit: MB, max_usage: "0", price: "0.01"}
"""
FAST = PLAN.replace("phone-basic", "phone-fast").replace("Basic 20", "Fast 100").replace('"20.00"', '"50.00"')


def _seed(realm_id: int, username: str, name: str) -> str:
    """A subscriber with a plan, a quota pool, a week of usage, an online session and an
    open invoice; returns the invoice number."""
    from app.extensions import db
    from app.models import Invoice, RadiusSession, UsageRecord
    from app.services.accounts import create_account
    from app.services.billing.numbering import take_numbers
    from app.services.plans import import_plan
    from app.services.quotas import create_pool
    from app.services.subscriptions import subscribe
    from app.services.uow import unit_of_work
    from tenants import realm_context

    now = datetime.now(UTC).replace(microsecond=0)
    today = now.date()
    with realm_context(realm_id), unit_of_work():
        account = create_account(username=username, name=name, password=f"{username}-password-1")
        plan = import_plan(PLAN, source="test")
        import_plan(FAST, source="test")
        db.session.flush()
        subscribe(account.id, plan_id=plan.id, starts_on=today.replace(day=1))
        create_pool(name="Monthly traffic", scope="account", unit="MB", size=D("5000"),
                    anchor=today.replace(day=1), account_id=account.id)
        for day in range(min(today.day, 7)):
            at = now - timedelta(days=day)
            db.session.add(UsageRecord(
                account_id=account.id, source="radius", source_record_id=f"{username}-{day}", status="stop",
                session_key=f"{username}-{day}", username=username, ip="100.64.7.7", nas="nas-phone",
                event_time=at, start=at - timedelta(hours=1), duration_s=1800 + day * 600,
                bytes_in=20_000_000, bytes_out=(day + 1) * 90_000_000))
        db.session.add(RadiusSession(
            session_key=f"{username}-live", account_id=account.id, nas="nas-phone", session_id="live",
            framed_ip="100.64.7.42", started_at=now - timedelta(minutes=20), last_event_at=now,
            total_in=3_000_000, total_out=40_000_000, total_time=1200))
        number = take_numbers("invoice", 1)
        db.session.add(Invoice(
            account_id=account.id, kind="invoice", status="finalized", number=f"INV-{number:06d}",
            sequence=number, issue_date=today - timedelta(days=35), due_date=today - timedelta(days=21),
            currency="USD", subtotal=D("20.00"), tax_total=D(0), total=D("20.00"), period_key="phone-1"))
    return f"INV-{number:06d}"


@pytest.fixture(scope="module")
def subscriber(live_server, tmp_path_factory):
    """Subscribers of the live server's "alpha" realm (default theme) and of a "night" realm
    (midnight theme), written straight into the server's database."""
    from app import create_app
    from app.extensions import db
    from app.models import Realm
    from app.services.realms import create_realm
    from app.services.uow import unit_of_work
    from tests.conftest import make_config

    # The live server's SQLite file (tests/browser/conftest.py: mktemp("live") / "live.sqlite").
    [database] = tmp_path_factory.getbasetemp().glob("live[0-9]*/live.sqlite")
    app = create_app(make_config(f"sqlite:///{database}"))
    with app.app_context():
        with unit_of_work():
            night = create_realm(slug="night", name="Night Owl Net", parent_slug="provider", theme="midnight")
            night_id = night.id
        alpha_id = db.session.scalar(db.select(Realm.id).where(Realm.slug == "alpha"))
        invoice = _seed(alpha_id, "sunny", "Sunny Phone")
        night_invoice = _seed(night_id, "owl", "Olive Owl")
        db.engine.dispose()
    return {"username": "sunny", "password": "sunny-password-1", "invoice": invoice,
            "night": {"username": "owl", "password": "owl-password-1", "invoice": night_invoice}}


@pytest.fixture
def phone(browser):
    context = browser.new_context(viewport={"width": 360, "height": 740}, device_scale_factor=2,
                                  is_mobile=True, has_touch=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text)
            if "Content Security Policy" in message.text else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("response", lambda response: problems.append(f"{response.status} {response.url}")
            if response.status >= 400 and not response.url.endswith("/favicon.ico") else None)
    yield page, problems
    context.close()


def _fits_the_screen(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_subscriber_uses_the_portal_on_a_phone(live_server, subscriber, phone):
    page, problems = phone
    _sign_in(page, f"http://alpha.{live_server}", subscriber["username"], subscriber["password"])

    # The dashboard: figures, both charts, the quota pool.
    expect(page.locator("h1")).to_contain_text("Sunny Phone")
    expect(page.locator("#stat-balance")).to_contain_text("20.00 USD")
    expect(page.locator("#stat-next-invoice .stat-value")).to_contain_text("USD")
    expect(page.locator("#chart-mb rect.bar")).not_to_have_count(0)
    expect(page.locator("#chart-h rect.bar")).not_to_have_count(0)
    expect(page.locator("#pools meter")).to_have_count(1)
    expect(page.locator('[data-nav="home"]')).to_have_attribute("aria-current", "page")
    # The portal stylesheet applies (the current page is marked by more than an attribute).
    assert page.locator('[data-nav="home"]').evaluate("a => getComputedStyle(a).fontWeight") == "700"
    assert _fits_the_screen(page)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "selfcare-dashboard.png"), full_page=True)
    assert (ARTIFACTS / "selfcare-dashboard.png").stat().st_size > 10_000

    # Sessions, through the menu.
    page.locator('[data-nav="sessions"]').click()
    expect(page).to_have_url(re.compile(r"/sessions$"))
    expect(page.locator('[data-nav="sessions"]')).to_have_attribute("aria-current", "page")
    expect(page.locator("#sessions")).to_contain_text("100.64.7.42")
    expect(page.locator("#sessions")).to_contain_text("nas-phone")
    assert _fits_the_screen(page)

    # Invoices, through the menu: the open invoice with its PDF link.
    page.locator('[data-nav="invoices"]').click()
    expect(page).to_have_url(re.compile(r"/invoices$"))
    expect(page.locator('[data-nav="invoices"]')).to_have_attribute("aria-current", "page")
    row = page.locator("#invoices tbody tr", has_text=subscriber["invoice"])
    expect(row).to_contain_text("20.00 USD")
    expect(row.locator("a", has_text="PDF")).to_have_attribute("href", re.compile(r"/invoices/\d+\.pdf$"))
    assert _fits_the_screen(page)

    # Every other page of the menu opens with its own entry marked (nothing is submitted).
    for name, path in (("usage", "/usage"), ("payments", "/payments"), ("vouchers", "/vouchers"),
                       ("plan", "/plan"), ("password", "/password"), ("home", "/")):
        page.locator(f'[data-nav="{name}"]').click()
        expect(page).to_have_url(re.compile(re.escape(path) + "$"))
        expect(page.locator(f'[data-nav="{name}"]')).to_have_attribute("aria-current", "page")
        expect(page.locator("main h1").first).to_be_visible()
        assert _fits_the_screen(page), path

    # Plan change: choosing a plan previews the proration through HTMX; nothing is confirmed.
    page.locator('[data-nav="plan"]').click()
    page.locator("label.plan-option", has_text="Fast 100").click()
    expect(page.locator("#plan-preview")).to_contain_text("Switching to Fast 100 today")
    expect(page.locator("#current-plan")).to_have_text("Basic 20")
    assert _fits_the_screen(page)
    assert problems == []


def _sign_in(page, base, username, password):
    page.goto(f"{base}/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile(r"/$"))


def test_midnight_theme_portal_on_a_phone(live_server, subscriber, phone):
    page, problems = phone
    night = subscriber["night"]
    _sign_in(page, f"http://night.{live_server}", night["username"], night["password"])
    expect(page.locator("h1")).to_contain_text("Olive Owl")
    expect(page.locator('footer [data-theme="midnight"]')).to_be_visible()
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(15, 20, 27)"
    expect(page.locator("#chart-mb rect.bar")).not_to_have_count(0)
    assert _fits_the_screen(page)
    page.screenshot(path=str(ARTIFACTS / "selfcare-dashboard-midnight.png"), full_page=True)
    page.locator('[data-nav="invoices"]').click()
    expect(page.locator("#invoices")).to_contain_text(night["invoice"])
    expect(page.locator('[data-nav="invoices"]')).to_have_attribute("aria-current", "page")
    assert _fits_the_screen(page)
    assert problems == []
