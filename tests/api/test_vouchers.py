"""API vouchers: generate (PINs once), batch report, redeem with refusal codes and rate limit."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.models.voucher import Voucher, VoucherBatch
from app.services import vouchers
from app.services.errors import NotAllowed
from tenants import realm_context


@pytest.fixture(autouse=True)
def _fresh_attempt_counters():
    vouchers._memory_counts.clear()
    yield
    vouchers._memory_counts.clear()


def test_generate_answers_pins_once_and_they_redeem(db, realm_a, api, create_account):
    account_id = create_account(realm_a, "val").id
    client = api(realm_a, scopes=["vouchers:read", "vouchers:write"])
    body = {"name": "Shop", "count": 3, "kind": "money", "amount": "5.00", "prefix": "sh", "activate": True}
    created = client.post("/vouchers/batches", body, headers={"Idempotency-Key": "gen-1"})
    assert created.status_code == 201, created.get_data(as_text=True)
    batch = created.get_json()
    assert batch["prefix"] == "SH" and batch["count"] == 3 and batch["exported_at"]
    assert batch["report"]["total"] == 3 and batch["report"]["active"] == 3
    pins = batch["pins"]
    assert len(pins) == 3 and len({p["pin"] for p in pins}) == 3

    # Never again: not in a replay, not in reads, and the console/CLI export is refused.
    replay = client.post("/vouchers/batches", body, headers={"Idempotency-Key": "gen-1"})
    assert replay.status_code == 201 and replay.headers["Idempotent-Replayed"] == "true"
    assert "pins" not in replay.get_json() and replay.get_json()["id"] == batch["id"]
    for response in (replay, client.get(f"/vouchers/batches/{batch['id']}"), client.get("/vouchers/batches")):
        assert pins[0]["pin"] not in response.get_data(as_text=True)
    with realm_context(realm_a.id):
        stored = db.session.scalars(select(VoucherBatch)).all()
        assert len(stored) == 1 and stored[0].pins_enc is None and stored[0].export_format == "api"
        with pytest.raises(NotAllowed):
            vouchers.export_batch(batch["id"])  # refused before writing anything

    redeemed = client.post("/vouchers/redeem", {"account_id": account_id, "pin": pins[0]["pin"]})
    assert redeemed.status_code == 200, redeemed.get_data(as_text=True)
    assert redeemed.get_json()["serial"] == pins[0]["serial"] and redeemed.get_json()["amount"] == "5"
    again = client.post("/vouchers/redeem", {"account_id": account_id, "pin": pins[0]["pin"]})
    assert again.status_code == 409 and again.get_json()["error"] == "already_redeemed"
    report = client.get(f"/vouchers/batches/{batch['id']}").get_json()["report"]
    assert report["redeemed"] == 1 and report["active"] == 2


def test_redeem_refusals_and_rate_limit(app, db, realm_a, realm_b, api, create_account, monkeypatch):
    account_id = create_account(realm_a, "rex").id
    other_id = create_account(realm_b, "other").id
    client = api(realm_a, scopes=["vouchers:write"])
    inactive = client.post("/vouchers/batches", {"name": "Later", "count": 1, "kind": "money",
                                                 "amount": "2.00"}).get_json()["pins"][0]["pin"]
    refused = client.post("/vouchers/redeem", {"account_id": account_id, "pin": inactive})
    assert refused.status_code == 409 and refused.get_json()["error"] == "not_active"
    unknown = client.post("/vouchers/redeem", {"account_id": account_id, "pin": "0000-0000-0000-0000"})
    assert unknown.status_code == 422 and unknown.get_json()["errors"] == {"pin": ["invalid"]}
    assert client.post("/vouchers/redeem", {"account_id": other_id, "pin": inactive}).status_code == 404
    with realm_context(realm_a.id):
        assert db.session.scalars(select(Voucher.status)).all() == ["inactive"]

    monkeypatch.setitem(app.config, "VOUCHER_REDEEM_ATTEMPTS", 3)
    vouchers._memory_counts.clear()
    codes = [client.post("/vouchers/redeem", {"account_id": account_id, "pin": "1111-2222-3333"}).status_code
             for _ in range(4)]
    assert codes == [422, 422, 422, 429]
    limited = client.post("/vouchers/redeem", {"account_id": account_id, "pin": inactive})
    assert limited.status_code == 429 and limited.get_json()["error"] == "rate_limited"


def test_generate_refuses_bad_input(db, realm_a, api):
    client = api(realm_a, scopes=["vouchers:write", "vouchers:read"])
    bad = client.post("/vouchers/batches", {"name": "X", "count": 2, "kind": "money", "amount": "0"})
    assert bad.status_code == 422 and bad.get_json()["errors"] == {"amount": ["negative"]}
    too_many = client.post("/vouchers/batches", {"name": "X", "count": 10_001, "kind": "product",
                                                 "product_code": "day"})
    assert too_many.status_code == 422 and too_many.get_json()["errors"] == {"count": ["too_large"]}
    past = client.post("/vouchers/batches", {"name": "X", "count": 1, "kind": "product", "product_code": "day",
                                             "expires_at": "2020-01-01T00:00:00Z"})
    assert past.status_code == 422 and past.get_json()["errors"] == {"expires_at": ["in_the_past"]}
    assert client.get("/vouchers/batches").get_json() == {"items": []}
