"""API payments: record (allocation, Idempotency-Key), list/get, refund, credit balance."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import func, select

from app.models import Invoice, Payment, Subscription
from app.services.billing.run import start_billing_run
from app.services.plans import save_plan, spec_from_mapping
from tenants import realm_context

from .test_api import DIALUP


def _invoiced_account(db, realm, create_account, username="pat"):
    account = create_account(realm, username, name="Pat Payer")
    with realm_context(realm.id):
        plan = save_plan(spec_from_mapping(DIALUP, source="t"), effective_from=date(2026, 1, 1))
        db.session.add(Subscription(account_id=account.id, plan_version_id=plan.latest_version.id,
                                    status="active", starts_on=date(2026, 10, 1)))
        db.session.flush()
        start_billing_run("2026-10")
        db.session.commit()
        invoice = db.session.scalar(select(Invoice).where(Invoice.account_id == account.id))
        return account.id, invoice.id, invoice.total


def _payments(db, realm):
    with realm_context(realm.id):
        return db.session.scalar(select(func.count()).select_from(Payment))


def test_record_allocates_and_leaves_credit_and_is_idempotent(db, realm_a, api, create_account):
    account_id, invoice_id, total = _invoiced_account(db, realm_a, create_account)
    assert total > 0
    client = api(realm_a, scopes=["payments:read", "payments:write"])
    body = {"account_id": account_id, "amount": format(total + 5, "f"), "method": "bank_transfer",
            "reference": "TX-1"}
    created = client.post("/payments", body, headers={"Idempotency-Key": "pay-1"})
    assert created.status_code == 201, created.get_data(as_text=True)
    payment = created.get_json()
    assert payment["status"] == "succeeded" and payment["gateway"] == "manual"
    assert payment["receipt_number"]
    assert payment["allocations"] == [{"invoice_id": invoice_id, "amount": format(total.quantize(Decimal("0.01")), "f")}]

    again = client.post("/payments", body, headers={"Idempotency-Key": "pay-1"})
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json()["id"] == payment["id"]
    reused = client.post("/payments", {**body, "amount": "1.00"}, headers={"Idempotency-Key": "pay-1"})
    assert reused.status_code == 422 and reused.get_json()["error"] == "idempotency_key_reused"
    assert _payments(db, realm_a) == 1

    balance = client.get(f"/accounts/{account_id}/balance").get_json()
    assert balance == {"account_id": account_id, "credit": [{"currency": "USD", "amount": "5.00"}], "due": []}

    listed = client.get(f"/payments?account_id={account_id}&status=succeeded").get_json()["items"]
    assert [p["id"] for p in listed] == [payment["id"]]
    assert client.get("/payments?status=refunded").get_json()["items"] == []
    assert client.get(f"/payments/{payment['id']}").get_json()["reference"] == "TX-1"


def test_record_refuses_bad_input_and_changes_nothing(db, realm_a, realm_b, api, create_account):
    account_id, invoice_id, _ = _invoiced_account(db, realm_a, create_account)
    other_id = create_account(realm_b, "other").id
    client = api(realm_a, scopes=["payments:write"])
    bad = client.post("/payments", {"account_id": account_id, "amount": "-3"})
    assert bad.status_code == 422 and "amount" in bad.get_json()["errors"]
    decimals = client.post("/payments", {"account_id": account_id, "amount": "1.001"})
    assert decimals.status_code == 422 and decimals.get_json()["errors"] == {"amount": ["too_many_decimals"]}
    assert client.post("/payments", {"account_id": other_id, "amount": "1.00"}).status_code == 404
    when = client.post("/payments", {"account_id": account_id, "amount": "1.00", "received_at": "yesterday"})
    assert when.status_code == 422 and when.get_json()["errors"] == {"received_at": ["invalid"]}
    assert _payments(db, realm_a) == 0
    assert api(realm_a, scopes=["payments:read"]).post(
        "/payments", {"account_id": account_id, "amount": "1.00"}).status_code == 403


def test_refund_partial_then_rest_then_refused(db, realm_a, api, create_account):
    account_id, _, total = _invoiced_account(db, realm_a, create_account)
    client = api(realm_a, scopes=["payments:read", "payments:write"])
    payment = client.post("/payments", {"account_id": account_id, "amount": format(total, "f")}).get_json()
    too_much = client.post(f"/payments/{payment['id']}/refunds", {"amount": format(total + 1, "f")})
    assert too_much.status_code == 422 and too_much.get_json()["errors"] == {"amount": ["more_than_paid"]}

    part = client.post(f"/payments/{payment['id']}/refunds", {"amount": "1.00", "reason": "goodwill"},
                       headers={"Idempotency-Key": "refund-1"})
    assert part.status_code == 201 and part.get_json()["amount"] == "1.00"
    replay = client.post(f"/payments/{payment['id']}/refunds", {"amount": "1.00", "reason": "goodwill"},
                         headers={"Idempotency-Key": "refund-1"})
    assert replay.get_json()["id"] == part.get_json()["id"]
    detail = client.get(f"/payments/{payment['id']}").get_json()
    assert detail["status"] == "partially_refunded" and detail["refunded_amount"] == "1.00"
    assert len(detail["refunds"]) == 1
    # The refunded part of the allocation is reversed: the invoice is due again by 1.00.
    assert client.get(f"/accounts/{account_id}/balance").get_json()["due"] == [{"currency": "USD",
                                                                                "amount": "1.00"}]

    rest = client.post(f"/payments/{payment['id']}/refunds", {})
    assert rest.status_code == 201
    assert client.get(f"/payments/{payment['id']}").get_json()["status"] == "refunded"
    refused = client.post(f"/payments/{payment['id']}/refunds", {})
    assert refused.status_code == 409 and refused.get_json()["error"] == "not_refundable"
