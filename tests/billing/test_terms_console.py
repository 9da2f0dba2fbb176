"""Console pages of billing terms: subscriptions with a proration preview, charges, taxes
and discounts, credit notes and voiding, plan version migration."""

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.models import Charge, Discount, Invoice, Subscription, TaxRate
from app.services.billing.run import start_billing_run
from app.services.plans import save_plan, spec_from_mapping
from app.services.subscriptions import subscribe
from tenants import realm_context

from .test_subscriptions import BASIC, PLUS


@pytest.fixture
def console(db, realm_a, create_account, realm_client):
    account_id = create_account(realm_a, "cons", name="Connie Console").id
    with realm_context(realm_a.id):
        basic = save_plan(spec_from_mapping(BASIC, source="t"), effective_from=date(2020, 1, 1)).id
        plus = save_plan(spec_from_mapping(PLUS, source="t"), effective_from=date(2020, 1, 1)).id
        db.session.commit()
    client = realm_client(realm_a)
    client.login_staff("owner@alpha.example")
    return client, account_id, basic, plus


def test_subscribe_preview_a_change_change_and_cancel(db, realm_a, console):
    client, account_id, basic, plus = console
    url = f"/console/accounts/{account_id}/subscriptions"
    bad = client.post(url, {"plan_id": "", "starts_on": "2026-10-01"})
    assert bad.status_code == 422 and "This field is required." in bad.get_data(as_text=True)
    assert client.post(url, {"plan_id": basic, "starts_on": "2026-10-01", "kind": "recurring"}).status_code == 303
    with realm_context(realm_a.id):
        sub_id = db.session.scalar(select(Subscription.id))
        start_billing_run("2026-10")
        db.session.commit()
    fragment = client.get(f"/console/subscriptions/{sub_id}/change-preview?plan_id={plus}&on=2026-10-11",
                          headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "-21.00" in fragment and "42.00" in fragment and "21.00 USD" in fragment
    assert client.post(f"/console/subscriptions/{sub_id}/change", {"plan_id": plus, "on": "2026-10-11"}).status_code == 303
    page = client.get(url).get_data(as_text=True)
    assert "Plus" in page and "ended" in page and "Unused Basic" in page
    with realm_context(realm_a.id):
        new_id = db.session.scalar(select(Subscription.id).where(Subscription.previous_id == sub_id))
    assert client.post(f"/console/subscriptions/{new_id}/cancel", {"on": "not-a-date"}).status_code == 422
    assert client.post(f"/console/subscriptions/{new_id}/cancel", {"on": "2026-10-21"}).status_code == 303
    with realm_context(realm_a.id):
        assert db.session.get(Subscription, new_id).status == "cancelled"


def test_charges_from_the_console(db, realm_a, console):
    client, account_id, _, _ = console
    url = f"/console/accounts/{account_id}/charges"
    assert client.post(url, {"description": "Router", "amount": "abc"}).status_code == 422
    assert client.post(url, {"description": "Router", "amount": "49.90", "kind": "one_time"}).status_code == 303
    with realm_context(realm_a.id):
        charge = db.session.scalar(select(Charge))
        assert (charge.amount, charge.status) == (Decimal("49.90"), "pending")
    assert "Router" in client.get(f"/console/accounts/{account_id}/subscriptions").get_data(as_text=True)
    assert client.post(f"{url}/{charge.id}/cancel").status_code == 303
    db.session.expire_all()
    with realm_context(realm_a.id):
        assert db.session.get(Charge, charge.id).status == "cancelled"


def test_tax_rates_and_discounts_pages(db, realm_a, console):
    client, _, basic, _ = console
    assert client.post("/console/taxes/settings", {"country": "Germany", "rounding_mode": "ROUND_HALF_UP"}).status_code == 422
    assert client.post("/console/taxes/settings", {"country": "de", "prices_include_tax": "1",
                                                   "tax_rounding": "line", "rounding_mode": "ROUND_HALF_EVEN"}).status_code == 303
    assert client.post("/console/taxes/rates", {"name": "VAT", "rate": "19", "valid_from": "2020-01-01"}).status_code == 303
    assert client.post("/console/taxes/rates", {"name": "VAT", "rate": "16", "valid_from": "2026-07-01"}).status_code == 303
    overlap = client.post("/console/taxes/rates", {"name": "X", "rate": "5", "valid_from": "2021-01-01",
                                                   "valid_until": "2022-01-01"})
    assert overlap.status_code == 422
    assert client.post("/console/discounts", {"name": "Loyal", "kind": "percent", "value": "150",
                                              "valid_from": "2026-01-01"}).status_code == 422
    assert client.post("/console/discounts", {"name": "Loyal", "kind": "percent", "value": "10", "scope": "line",
                                              "line_kind": "recurring", "plan_id": basic,
                                              "valid_from": "2026-01-01"}).status_code == 303
    page = client.get("/console/taxes").get_data(as_text=True)
    assert "Loyal" in page and "ROUND_HALF_EVEN" in page
    with realm_context(realm_a.id):
        rates = [(r.rate, r.valid_until) for r in db.session.scalars(select(TaxRate).order_by(TaxRate.valid_from))]
        assert rates[0][1] == date(2026, 7, 1) and rates[1][1] is None  # the older rate ends where the new starts
        discount = db.session.scalar(select(Discount))
    assert client.post(f"/console/discounts/{discount.id}/end").status_code == 303
    db.session.expire_all()
    with realm_context(realm_a.id):
        assert db.session.get(Discount, discount.id).active is False


def test_credit_note_and_void_from_the_invoice_page(db, realm_a, console):
    client, account_id, basic, _ = console
    with realm_context(realm_a.id):
        subscribe(account_id, plan_id=basic, starts_on=date(2026, 10, 1))
        start_billing_run("2026-10")
        db.session.commit()
        invoice_id = db.session.scalar(select(Invoice.id))
    url = f"/console/invoices/{invoice_id}"
    assert "Issue credit note" in client.get(url).get_data(as_text=True)
    assert client.post(f"{url}/credit-notes", {"amount": "999", "reason": "x"}).status_code == 422
    response = client.post(f"{url}/credit-notes", {"amount": "5.00", "reason": "outage"})
    assert response.status_code == 303
    note = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "CN-000001" in note and "-5.00" in note
    page = client.get(url).get_data(as_text=True)
    assert "CN-000001" in page and "Void invoice" not in page  # credited: no voiding any more


def test_plan_migration_page_previews_then_moves(db, realm_a, console, create_account):
    client, account_id, basic, _ = console
    with realm_context(realm_a.id):
        subscribe(account_id, plan_id=basic, starts_on=date(2026, 9, 1))
        save_plan(spec_from_mapping({**BASIC, "fees": [{"kind": "recurring", "period": "monthly", "amount": "35.00"}]},
                                    source="t"), effective_from=date(2026, 10, 1))
        db.session.commit()
    page = client.get(f"/console/plans/{basic}/migrate?on=2026-10-01").get_data(as_text=True)
    assert "Connie Console" in page and "31.00 USD" in page and "35.00 USD" in page and "4.00 USD" in page
    with realm_context(realm_a.id):
        sub_id = db.session.scalar(select(Subscription.id))
        target = db.session.scalar(select(Subscription.plan_version_id)) + 0
    response = client.post(f"/console/plans/{basic}/migrate", {"on": "2026-10-01", "subscription_id": sub_id})
    assert response.status_code == 303
    with realm_context(realm_a.id):
        moved = db.session.scalar(select(Subscription).where(Subscription.previous_id == sub_id))
        assert moved.plan_version_id != target and moved.plan_version.number == 2
    assert "Every subscriber is on this version already." in client.get(
        f"/console/plans/{basic}/migrate?on=2026-10-01").get_data(as_text=True)


def test_buyer_tax_profile_form(db, realm_a, console):
    from app.models import BuyerTaxProfile

    client, account_id, _, _ = console
    url = f"/console/accounts/{account_id}/tax-profile"
    assert client.post(url, {"country": "Austria"}).status_code == 422
    assert client.post(url, {"country": "at", "reverse_charge": "1"}).status_code == 303
    with realm_context(realm_a.id):
        profile = db.session.scalar(select(BuyerTaxProfile))
        assert (profile.account_id, profile.country, profile.reverse_charge) == (account_id, "AT", True)
    assert 'value="AT"' in client.get(f"/console/accounts/{account_id}/subscriptions").get_data(as_text=True)
