"""In a real browser: sign in on a realm subdomain, create a plan through the HTMX form."""

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_staff_creates_a_plan_with_htmx(page, live_server):
    base = f"http://alpha.{live_server}"
    page.goto(f"{base}/console/login")
    page.fill("#email", "owner@alpha.example")
    page.fill("#password", "owner-password")
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile(r"/console/$"))

    page.click("text=Plans")
    page.click("text=New plan")
    page.fill("#f-code", "fibre-100")
    page.fill("#f-name", "Fibre 100")
    page.fill("#f-recurring_fee", "39.90")
    # A validation error first: the form comes back as an HTMX fragment with the message.
    page.locator("input[name=band_price]").first.fill("abc")
    page.click("text=Save plan")
    expect(page.locator("#plan-form .error").first).to_be_visible()
    expect(page).to_have_url(re.compile(r"/console/plans/new$"))

    page.locator("input[name=band_price]").first.fill("0.50")
    page.click("text=Add band")
    expect(page.locator("input[name=band_price]")).to_have_count(2)
    page.locator("input[name=band_max_usage]").nth(1).fill("1000")
    page.locator("input[name=band_price]").nth(1).fill("0.05")
    page.click("text=Save plan")

    expect(page).to_have_url(re.compile(r"/console/plans$"))
    row = page.locator("#plans tr", has_text="fibre-100")
    expect(row).to_contain_text("Fibre 100")
    page.screenshot(path="test-artifacts/console-plans.png", full_page=True)
