"""Voucher batches: PINs only as keyed hashes, redemption of money/quota/product, refusals,
export once (CSV and PDF sheet), batch operations with previews, the batch report."""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal as D

import pytest
import sqlalchemy as sa
from sqlalchemy import select

from app.services.errors import Invalid, NotAllowed
from app.services.vouchers import (
    apply_batch_operation,
    batch_report,
    export_batch,
    pin_digits_for,
    preview_batch_operation,
    redeem_voucher,
)
from tenants import realm_context


def _refused(realm, account_id, pin):
    with realm_context(realm.id), pytest.raises(NotAllowed) as caught:
        redeem_voucher(account_id=account_id, pin=pin)
    return caught.value.code


def test_pin_length_gives_two_to_the_forty_guesses_per_valid_pin():
    for count in (1, 10, 1000, 100_000):
        digits = pin_digits_for(count)
        assert 10**digits >= count * 2**40
        assert 10 ** (digits - 1) < count * 2**40 or digits == 12
    assert pin_digits_for(1) == 13
    assert pin_digits_for(100_000) == 18


def test_pins_are_stored_only_as_keyed_hashes(db, realm_a, make_batch):
    batch_id, pins = make_batch(realm_a, count=5)
    assert len({pin for _, pin in pins}) == 5
    assert all(len(pin) == pin_digits_for(5) and pin.isdigit() for _, pin in pins)
    conn = db.session.connection()
    raw = [tuple(str(v) for v in row) for table in ("vouchers", "voucher_batches")
           for row in conn.execute(sa.text(f"SELECT * FROM {table}"))]  # noqa: S608
    dump = "\n".join("|".join(row) for row in raw)
    for serial, pin in pins:
        assert serial in dump
        assert pin not in dump  # neither in a voucher row nor in the batch (PIN list is encrypted)
    # The stored hash is HMAC-SHA256 over "<realm>:<pin>" with a key from ENCRYPTION_KEYS.
    from tests.conftest import TEST_KEY

    key = hashlib.sha256(b"realmbill-voucher-pin:" + TEST_KEY.encode()).digest()
    serial, pin = pins[0]
    stored = conn.execute(sa.text("SELECT pin_hash FROM vouchers WHERE serial = :s"), {"s": serial}).scalar()
    assert stored == hmac.new(key, f"{realm_a.id}:{pin}".encode(), hashlib.sha256).hexdigest()


def test_money_voucher_credits_the_account_once(db, realm_a, subscriber, make_batch):
    from app.models import Charge, Voucher

    _, pins = make_batch(realm_a, count=2, amount="12.50")
    serial, pin = pins[0]
    with realm_context(realm_a.id):
        result = redeem_voucher(account_id=subscriber.id, pin=pin[:4] + " " + pin[4:])
        db.session.commit()
        assert result.kind == "money" and result.amount == D("12.50")
        charge = db.session.scalar(select(Charge).where(Charge.account_id == subscriber.id))
        assert charge.kind == "credit" and charge.amount == D("-12.50")
        assert charge.source_key == f"voucher:{result.voucher_id}"
        voucher = db.session.scalar(select(Voucher).where(Voucher.serial == serial))
        assert voucher.status == "redeemed" and voucher.redeemed_by_account_id == subscriber.id
    assert _refused(realm_a, subscriber.id, pin) == "already_redeemed"
    with realm_context(realm_a.id):
        assert db.session.scalar(select(sa.func.count(Charge.id))) == 1


def test_quota_voucher_tops_up_a_pool(db, realm_a, subscriber, make_batch):
    from app.models import QuotaPool
    from app.services.quotas import balance_on

    _, pins = make_batch(realm_a, count=1, kind="quota", amount="10", unit="GB")
    with realm_context(realm_a.id):
        redeem_voucher(account_id=subscriber.id, pin=pins[0][1], today=date(2026, 12, 7))
        db.session.commit()
        pool = db.session.scalar(select(QuotaPool).where(QuotaPool.account_id == subscriber.id))
        assert pool.unit == "GB"
        assert balance_on(pool, date(2026, 12, 7)).topped_up == D(10)


def test_product_voucher_grants_access(db, realm_a, subscriber, make_batch):
    from app.services.vouchers import list_grants

    _, pins = make_batch(realm_a, count=1, kind="product", product_code="conf-2027",
                         product_name="Conference 2027 pass")
    with realm_context(realm_a.id):
        redeem_voucher(account_id=subscriber.id, pin=pins[0][1])
        db.session.commit()
        grants = list_grants(subscriber.id)
        assert [(g.product_code, g.product_name) for g in grants] == [("conf-2027", "Conference 2027 pass")]


def test_refusals_are_clear_and_change_nothing(db, realm_a, subscriber, make_batch):
    from app.models import Charge

    _, inactive = make_batch(realm_a, count=1, activate=False, prefix="IN")
    assert _refused(realm_a, subscriber.id, inactive[0][1]) == "not_active"
    batch_id, voided = make_batch(realm_a, count=1, prefix="VO")
    with realm_context(realm_a.id):
        apply_batch_operation(action="void", batch_id=batch_id)
        db.session.commit()
    assert _refused(realm_a, subscriber.id, voided[0][1]) == "voided"
    _, expiring = make_batch(realm_a, count=1, prefix="EX",
                             expires_at=datetime.now(UTC) + timedelta(minutes=5))
    with realm_context(realm_a.id):
        from app.models import Voucher

        voucher = db.session.scalar(select(Voucher).where(Voucher.serial == expiring[0][0]))
        voucher.expires_at = datetime.now(UTC) - timedelta(days=1)
        db.session.commit()
    assert _refused(realm_a, subscriber.id, expiring[0][1]) == "expired"
    assert _refused(realm_a, subscriber.id, "1234567890123") == "invalid"
    assert _refused(realm_a, subscriber.id, "not a pin") == "invalid"
    with realm_context(realm_a.id):
        assert db.session.scalar(select(sa.func.count(Charge.id))) == 0


def test_a_voucher_of_another_realm_is_a_wrong_pin(db, realm_a, realm_b, subscriber, make_batch):
    batch_id, pins = make_batch(realm_b, count=1)
    assert _refused(realm_a, subscriber.id, pins[0][1]) == "invalid"
    with realm_context(realm_b.id):
        assert batch_report(batch_id)[0]["redeemed"] == 0


def test_csv_export_works_once(db, realm_a, subscriber, make_batch):
    from app.models import VoucherBatch

    batch_id, pins = make_batch(realm_a, count=4)
    with realm_context(realm_a.id):
        name, data, mime = export_batch(batch_id, fmt="csv")
        db.session.commit()
        assert mime == "text/csv" and name.endswith(".csv")
        rows = list(csv.DictReader(io.StringIO(data.decode())))
        assert [(r["serial"], r["pin"]) for r in rows] == pins
        assert rows[0]["value"] == "12.5 USD" or rows[0]["value"].endswith("USD")
        with pytest.raises(NotAllowed) as caught:
            export_batch(batch_id, fmt="csv")
        assert caught.value.code == "already_exported"
        with pytest.raises(NotAllowed):
            export_batch(batch_id, fmt="pdf")
        batch = db.session.get(VoucherBatch, batch_id)
        assert batch.pins_enc is None and batch.exported_at is not None
    # The exported PINs are the real ones.
    with realm_context(realm_a.id):
        redeem_voucher(account_id=subscriber.id, pin=rows[0]["pin"])


def test_pdf_sheet_shows_serials_pins_value_and_branding(db, realm_a, make_batch):
    from pypdf import PdfReader

    batch_id, pins = make_batch(realm_a, count=3, name="Winter cards", amount="25.00")
    with realm_context(realm_a.id):
        name, data, mime = export_batch(batch_id, fmt="pdf")
    assert mime == "application/pdf" and data.startswith(b"%PDF")
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
    flat = text.replace(" ", "").replace("\n", "")
    for serial, pin in pins:
        assert serial in flat
        assert "-".join(pin[i:i + 4] for i in range(0, len(pin), 4)) in flat
    assert "25USD" in flat
    assert "AlphaNet" in flat  # realm branding


def test_batch_operations_preview_counts_and_never_touch_redeemed(db, realm_a, subscriber, make_batch):
    from app.models import Voucher

    batch_id, pins = make_batch(realm_a, count=10, activate=False, prefix="OPS")
    serials = [s for s, _ in pins]
    with realm_context(realm_a.id):
        assert preview_batch_operation(action="activate", batch_id=batch_id) == {
            "touched": 10, "total": 10, "unchanged": 0}
        # Activate serials 2..5 only, then redeem two of them.
        preview = preview_batch_operation(action="activate", serial_from=serials[1], serial_to=serials[4])
        assert preview["touched"] == 4
        assert apply_batch_operation(action="activate", serial_from=serials[1], serial_to=serials[4]) == 4
        db.session.commit()
        redeem_voucher(account_id=subscriber.id, pin=pins[1][1])
        redeem_voucher(account_id=subscriber.id, pin=pins[2][1])
        db.session.commit()
        assert preview_batch_operation(action="void", batch_id=batch_id) == {
            "touched": 8, "total": 10, "unchanged": 2}
        later = datetime.now(UTC) + timedelta(days=400)
        assert apply_batch_operation(action="extend", batch_id=batch_id, expires_at=later) == 8
        assert apply_batch_operation(action="product", batch_id=batch_id, product_code="event-x",
                                     product_name="Event X") == 8
        assert apply_batch_operation(action="void", batch_id=batch_id) == 8
        db.session.commit()
        rows = {v.serial: v for v in db.session.scalars(select(Voucher).where(Voucher.batch_id == batch_id))}
        for serial in serials[1:3]:  # redeemed: untouched
            assert rows[serial].status == "redeemed" and rows[serial].kind == "money"
            assert rows[serial].expires_at is None
        others = [rows[s] for s in serials if s not in serials[1:3]]
        assert all(v.status == "void" and v.product_code == "event-x" for v in others)
        report = batch_report(batch_id)[0]
        assert (report["total"], report["sold"], report["redeemed"], report["void"]) == (10, 4, 2, 8)
        assert preview_batch_operation(action="activate", batch_id=batch_id)["touched"] == 0


def test_bad_input_is_refused_with_field_codes(db, realm_a):
    from app.services.vouchers import generate_batch

    with realm_context(realm_a.id):
        with pytest.raises(Invalid) as caught:
            generate_batch(name="", count=0, kind="money", amount="1.234", prefix="bad prefix!")
        assert set(caught.value.errors) == {"name", "count", "prefix", "amount"}
        with pytest.raises(Invalid) as caught:
            generate_batch(name="Q", count=1, kind="quota", amount="5", unit="furlongs")
        assert caught.value.errors == {"unit": ["unknown"]}
        with pytest.raises(Invalid) as caught:
            apply_batch_operation(action="extend", serial_from="NOPE1", serial_to="NOPE2",
                                  expires_at=datetime.now(UTC) + timedelta(days=1))
        assert set(caught.value.errors) == {"serial_from", "serial_to"}


def test_demo_vouchers_are_seeded_once(db, realm_a, subscriber):
    from app.services.vouchers import seed_demo_vouchers

    with realm_context(realm_a.id):
        shown = seed_demo_vouchers()
        db.session.commit()
        assert len(shown) == 2 and seed_demo_vouchers() == []
        assert redeem_voucher(account_id=subscriber.id, pin=shown[0][1]).amount == D("10")
        assert sorted(r["total"] for r in batch_report()) == [3, 5]
