"""Voucher pages: console batches, export once, HTMX preview of batch operations; self-care
redemption with clear refusals."""

from __future__ import annotations

import csv
import io
import re

from sqlalchemy import select

from tenants import realm_context


def _staff(realm_client, realm):
    client = realm_client(realm)
    client.login_staff(f"owner@{realm.slug}.example")
    return client


def _batch_id(db, realm, name):
    from app.models import VoucherBatch

    with realm_context(realm.id):
        return db.session.scalar(select(VoucherBatch.id).where(VoucherBatch.name == name))


def test_console_generates_a_batch_exports_it_once_and_previews_operations(db, realm_a, realm_client):
    client = _staff(realm_client, realm_a)
    page = client.get("/console/vouchers")
    assert page.status_code == 200 and "New batch" in page.get_data(as_text=True)

    bad = client.post("/console/vouchers", {"name": "", "count": "0", "kind": "money", "prefix": "W"})
    assert bad.status_code == 422
    assert "This field is required." in bad.get_data(as_text=True)

    made = client.post("/console/vouchers", {"name": "Winter", "count": "6", "kind": "money",
                                              "amount": "5.00", "prefix": "WIN", "expires_at": "2099-12-31"})
    assert made.status_code == 303
    batch_id = _batch_id(db, realm_a, "Winter")
    assert made.headers["Location"].endswith(f"/console/vouchers/{batch_id}?new=1")
    detail = client.get(f"/console/vouchers/{batch_id}").get_data(as_text=True)
    assert "WIN000000001" in detail and "Download CSV" in detail

    exported = client.post(f"/console/vouchers/{batch_id}/export", {"format": "csv"})
    assert exported.status_code == 200 and exported.mimetype == "text/csv"
    assert exported.headers["Cache-Control"] == "no-store"
    rows = list(csv.DictReader(io.StringIO(exported.get_data(as_text=True))))
    assert len(rows) == 6 and all(r["pin"].isdigit() for r in rows)
    again = client.post(f"/console/vouchers/{batch_id}/export", {"format": "csv"})
    assert again.status_code == 409
    assert "already exported" in again.get_data(as_text=True)
    assert rows[0]["pin"] not in client.get(f"/console/vouchers/{batch_id}").get_data(as_text=True)

    # HTMX preview: whole batch, then a range of three serials.
    preview = client.post(f"/console/vouchers/{batch_id}/operations/preview",
                          {"action": "activate", "scope": "batch"}, htmx=True)
    assert 'data-touched="6"' in preview.get_data(as_text=True)
    ranged = client.post(f"/console/vouchers/{batch_id}/operations/preview",
                         {"action": "activate", "scope": "range", "serial_from": rows[1]["serial"],
                          "serial_to": rows[3]["serial"]}, htmx=True)
    assert 'data-touched="3"' in ranged.get_data(as_text=True)
    assert "This changes 3 vouchers" in ranged.get_data(as_text=True)
    applied = client.post(f"/console/vouchers/{batch_id}/operations",
                          {"action": "activate", "scope": "range", "serial_from": rows[1]["serial"],
                           "serial_to": rows[3]["serial"]})
    assert applied.status_code == 303
    after = client.post(f"/console/vouchers/{batch_id}/operations/preview",
                        {"action": "activate", "scope": "batch"}, htmx=True)
    assert 'data-touched="3"' in after.get_data(as_text=True)
    listing = client.get("/console/vouchers").get_data(as_text=True)
    assert re.search(r"Winter</a>.*?<td class=\"num\">6</td><td class=\"num\">3</td>", listing, re.S)


def test_selfcare_redeems_once_with_clear_messages(db, realm_a, realm_b, realm_client, subscriber, make_batch):
    _, pins = make_batch(realm_a, count=2, amount="7.50")
    _, inactive = make_batch(realm_a, count=1, activate=False, prefix="NA")
    _, foreign = make_batch(realm_b, count=1, prefix="BR")
    client = realm_client(realm_a)
    client.login_subscriber(subscriber.username, subscriber.password)
    assert "Redeem a voucher" in client.get("/vouchers").get_data(as_text=True)

    done = client.post("/vouchers", {"pin": pins[0][1]})
    assert done.status_code == 303
    page = client.get(done.headers["Location"]).get_data(as_text=True)
    assert f"Voucher {pins[0][0]} redeemed" in page and "7.50 USD credited" in page

    again = client.post("/vouchers", {"pin": pins[0][1]})
    assert again.status_code == 422
    assert "already been redeemed" in again.get_data(as_text=True)
    assert "not activated yet" in client.post("/vouchers", {"pin": inactive[0][1]}).get_data(as_text=True)
    wrong = client.post("/vouchers", {"pin": "0000000000000"}).get_data(as_text=True)
    other_realm = client.post("/vouchers", {"pin": foreign[0][1]}).get_data(as_text=True)
    assert "This PIN is not valid" in wrong and "This PIN is not valid" in other_realm
    assert client.post("/vouchers", {"pin": pins[1][1]}, csrf=False).status_code == 400
