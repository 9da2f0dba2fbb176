"""Self-care pages: every page reachable from the menu with the current page marked, the
dashboard's figures, sessions, own documents only (404 otherwise), CSRF on forms."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal as D

import pytest
from sqlalchemy import select

from tenants import realm_context

PAGES = {
    "/": "home", "/usage": "usage", "/sessions": "sessions", "/invoices": "invoices",
    "/payments": "payments", "/vouchers": "vouchers", "/plan": "plan", "/password": "password",
}
NAV = re.compile(r'<a href="([^"]+)" data-nav="(\w+)"( aria-current="page")?>')


def test_pages_need_a_signed_in_subscriber(portal, realm_client):
    client = realm_client(portal.realm)
    for path in ("/", "/sessions", "/invoices", "/plan", "/password", f"/invoices/{portal.open_invoice}.pdf"):
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"], path


@pytest.mark.parametrize("path", list(PAGES))
def test_each_page_has_the_whole_menu_with_its_own_entry_marked(signed_in, path):
    response = signed_in.get(path)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    links = NAV.findall(html)
    assert {name for _, name, _ in links} == set(PAGES.values())
    assert {href for href, _, _ in links} == set(PAGES)
    current = [name for _, name, marked in links if marked]
    assert current == [PAGES[path]]
    assert 'href="/static/portal.css"' in html and "style=" not in html


def test_dashboard_shows_balance_next_invoice_usage_and_pools(db, portal, signed_in):
    from app.services.billing.run import preview_invoice
    from app.services.quotas import create_pool

    with realm_context(portal.realm.id):
        create_pool(name="Monthly traffic", unit="MB", scope="account", account_id=portal.id,
                    size=D("1000"), anchor=date.today().replace(day=1), period="monthly")
        db.session.commit()
        expected = preview_invoice(portal.id).total
    html = signed_in.get("/").get_data(as_text=True)
    balance = html[html.index('id="stat-balance"'):html.index('id="stat-next-invoice"')]
    assert "20.00 USD" in balance and "1 open invoice" in balance
    nxt = html[html.index('id="stat-next-invoice"'):html.index('id="stat-traffic"')]
    assert f"{expected:.2f} USD" in nxt
    assert "1 session online" in html
    assert 'id="chart-mb"' in html and 'id="chart-h"' in html and "<rect " in html
    assert "Monthly traffic" in html and "<meter" in html
    assert "Basic 20" in html


def test_sessions_list_own_sessions_with_ips_and_nas(signed_in):
    html = signed_in.get("/sessions").get_data(as_text=True)
    assert "100.64.1.23" in html and "100.64.1.99" in html and "nas-berlin-1" in html
    assert "100.64.9.9" not in html and "nas-hidden" not in html  # another account's session
    assert "345.0 MB" in html and "12.0 MB" in html and "2:00:00" in html
    assert html.index("100.64.1.99") < html.index("100.64.1.23")  # newest first
    assert "online" in html


def test_invoices_list_own_issued_invoices_and_receipts(portal, signed_in):
    html = signed_in.get("/invoices").get_data(as_text=True)
    assert f'id="invoice-{portal.open_invoice}"' in html and f'id="invoice-{portal.paid_invoice}"' in html
    assert f'id="invoice-{portal.draft_invoice}"' not in html  # drafts are not documents yet
    assert f'id="invoice-{portal.other_invoice}"' not in html
    open_row = html[html.index(f'id="invoice-{portal.open_invoice}"'):]
    open_row = open_row[:open_row.index("</tr>")]
    assert "20.00 USD" in open_row and f"/payments/invoices/{portal.open_invoice}/pay" in open_row
    assert f'id="receipt-{portal.receipt}"' in html and f'id="receipt-{portal.other_receipt}"' not in html


def test_pdf_downloads_of_own_documents(portal, signed_in):
    invoice = signed_in.get(f"/invoices/{portal.open_invoice}.pdf")
    assert invoice.status_code == 200 and invoice.mimetype == "application/pdf"
    assert invoice.data.startswith(b"%PDF") and "attachment" in invoice.headers["Content-Disposition"]
    assert invoice.headers["Cache-Control"] == "private, no-store"
    receipt = signed_in.get(f"/receipts/{portal.receipt}.pdf")
    assert receipt.status_code == 200 and receipt.data.startswith(b"%PDF")


def test_other_accounts_and_realms_documents_are_not_found(db, portal, signed_in, realm_b, create_account,
                                                           make_invoice):
    foreign_account = create_account(realm_b, "bruno", password="bruno-password-1").id
    foreign_invoice = make_invoice(realm_b, foreign_account, "12.00")
    for path in (f"/invoices/{portal.other_invoice}.pdf", f"/invoices/{portal.draft_invoice}.pdf",
                 f"/invoices/{foreign_invoice}.pdf", "/invoices/999999.pdf",
                 f"/receipts/{portal.other_receipt}.pdf", "/receipts/999999.pdf"):
        response = signed_in.get(path)
        assert response.status_code == 404, path
        assert response.mimetype == "text/html"
    with realm_context(portal.realm.id):
        from app.models.document import Document

        assert db.session.scalar(select(Document).where(Document.key == f"invoice-{portal.other_invoice}")) is None


def test_forms_refuse_posts_without_csrf_token(db, portal, signed_in):
    from app.models import Subscription

    for path, data in (("/password", {"current_password": portal.password, "new_password": "Another-pass-9",
                                      "confirm_password": "Another-pass-9"}),
                       ("/plan", {"plan_id": str(portal.plans.fast), "confirm": "1"})):
        response = signed_in.post(path, data, csrf=False)
        assert response.status_code == 400, path
    with realm_context(portal.realm.id):
        plans = [s.plan_version.plan.code for s in db.session.scalars(
            select(Subscription).where(Subscription.account_id == portal.id))]
    assert plans == ["basic"]
    assert signed_in.post("/logout").status_code == 303
    signed_in.login_subscriber(portal.username, portal.password)  # the old password still works


def test_portal_renders_in_both_themes(db, portal, signed_in, realm_b, create_account, realm_client):
    html = signed_in.get("/").get_data(as_text=True)
    assert 'data-theme="default"' in html and 'data-theme="midnight"' not in html
    create_account(realm_b, "mia", password="mia-password-1")
    client = realm_client(realm_b)
    client.login_subscriber("mia", "mia-password-1")
    for path in PAGES:
        response = client.get(path)
        assert response.status_code == 200, path
        assert 'data-theme="midnight"' in response.get_data(as_text=True), path


def test_german_portal(signed_in):
    html = signed_in.get("/?lang=de").get_data(as_text=True)
    assert '<html lang="de">' in html
