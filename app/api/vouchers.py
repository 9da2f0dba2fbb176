"""Vouchers: batches with their report, generating a batch (PINs answered once), redeeming.

A generated batch's PINs are in the generating response only: the batch counts as exported
(format ``api``), so the console and CLI refuse a second export, and an ``Idempotency-Key``
replay answers the batch without them. Redemption refusals keep the service's code:
422 ``invalid`` (unknown PIN), 409 ``already_redeemed``/``expired``/``voided``/``not_active``/
``account_closed``, 429 ``rate_limited`` (attempts per account and per address).
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import g, request

from app.models.voucher import VOUCHER_KINDS
from app.services.errors import NotAllowed
from app.services.vouchers import (
    batch_report,
    format_pin,
    generate_batch,
    get_batch,
    list_batches,
    redeem_voucher,
    release_pins,
)

from .registry import ApiError, endpoint
from .schemas import DATETIME, DECIMAL, ID, MONEY, listing, nullable, obj, text

MAX_API_BATCH = 10_000
COUNTS = ("total", "sold", "active", "redeemed", "expired", "void", "inactive")
BATCH = obj({
    "id": ID, "name": {"type": "string"}, "prefix": {"type": "string"},
    "kind": {"type": "string", "enum": list(VOUCHER_KINDS)}, "amount": nullable(MONEY),
    "currency": nullable({"type": "string"}), "unit": nullable({"type": "string"}),
    "product_code": nullable({"type": "string"}), "product_name": nullable({"type": "string"}),
    "count": {"type": "integer"}, "first_serial": {"type": "string"}, "expires_at": nullable(DATETIME),
    "exported_at": nullable(DATETIME), "created_at": nullable(DATETIME),
    "report": obj({name: {"type": "integer"} for name in COUNTS}, closed=False),
}, ["id", "name", "kind", "count", "report"], closed=False)
GENERATE = obj({
    "name": text(100, 1), "count": {"type": "integer", "minimum": 1, "maximum": MAX_API_BATCH},
    "kind": {"type": "string", "enum": list(VOUCHER_KINDS)},
    "prefix": {"type": "string", "pattern": r"^[A-Za-z0-9]{1,8}$"}, "amount": nullable(DECIMAL),
    "unit": nullable(text(20)), "product_code": nullable(text(60)), "product_name": nullable(text(200)),
    "expires_at": nullable({**DATETIME, "maxLength": 40}), "activate": {"type": "boolean"},
}, ["name", "count", "kind"])
GENERATED = {**BATCH, "properties": {**BATCH["properties"], "pins": {"type": "array", "items": obj(
    {"serial": {"type": "string"}, "pin": {"type": "string"}})}}}
REDEEM = obj({"account_id": ID, "pin": text(60, 1)}, ["account_id", "pin"])
REDEEMED = obj({
    "voucher_id": ID, "serial": {"type": "string"}, "kind": {"type": "string"}, "amount": nullable(MONEY),
    "currency": nullable({"type": "string"}), "unit": nullable({"type": "string"}),
    "product_code": nullable({"type": "string"}), "product_name": nullable({"type": "string"}),
}, ["voucher_id", "serial", "kind"], closed=False)
REFUSED_409 = {"already_redeemed", "expired", "voided", "not_active", "account_closed"}


def _when(value) -> str | None:
    return value.isoformat() if value else None


def _num(value) -> str | None:
    return None if value is None else format(value.normalize(), "f")


def batch_json(batch, report: dict | None) -> dict:
    report = report or {}
    return {
        "id": batch.id, "name": batch.name, "prefix": batch.prefix, "kind": batch.kind,
        "amount": _num(batch.amount), "currency": batch.currency, "unit": batch.unit,
        "product_code": batch.product_code, "product_name": batch.product_name, "count": batch.count,
        "first_serial": f"{batch.prefix}{batch.first_number:09d}", "expires_at": _when(batch.expires_at),
        "exported_at": _when(batch.exported_at), "created_at": _when(batch.created_at),
        "report": {name: int(report.get(name, 0)) for name in COUNTS},
    }


@endpoint("/vouchers/batches", summary="List voucher batches with their report", scope="vouchers:read",
          tag="vouchers", response=listing(BATCH),
          description="Per batch: total, sold (activated), active, redeemed, expired, void, inactive.")
def api_list_voucher_batches():
    reports = {row["batch_id"]: row for row in batch_report()}
    return {"items": [batch_json(b, reports.get(b.id)) for b in list_batches()]}


@endpoint("/vouchers/batches/{batch_id}", summary="Get a voucher batch with its report",
          scope="vouchers:read", tag="vouchers", response=BATCH)
def api_get_voucher_batch(batch_id):
    batch = get_batch(batch_id)
    rows = batch_report(batch.id)
    return batch_json(batch, rows[0] if rows else None)


def _expires_at(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ApiError(422, "invalid", errors={"expires_at": ["invalid"]}) from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


@endpoint("/vouchers/batches", "POST", summary="Generate a voucher batch (the PINs are answered once)",
          scope="vouchers:write", tag="vouchers", request=GENERATE, response=GENERATED, status=201,
          replay_omits=("pins",),
          example={"name": "Hotspot day passes", "count": 3, "kind": "quota", "amount": "1024", "unit": "MB",
                   "prefix": "HS", "activate": True},
          description="`money` vouchers credit `amount` in the realm's currency, `quota` vouchers add "
                      "`amount` `unit`s, `product` vouchers grant `product_code`. The response holds "
                      "every PIN; they are never shown again (the batch counts as exported, and an "
                      "`Idempotency-Key` replay answers the batch without them). At most "
                      f"{MAX_API_BATCH:,} per call.")
def api_generate_voucher_batch(body):
    generated = generate_batch(
        name=body["name"], count=body["count"], kind=body["kind"], prefix=body.get("prefix") or "V",
        amount=body.get("amount"), unit=body.get("unit"), product_code=body.get("product_code"),
        product_name=body.get("product_name"), expires_at=_expires_at(body.get("expires_at")),
        activate=bool(body.get("activate")), created_by=f"API key {g.api_key.name}"[:254])
    batch = generated.batch
    pins = release_pins(batch.id, fmt="api")
    rows = batch_report(batch.id)
    data = batch_json(batch, rows[0] if rows else None)
    data["pins"] = [{"serial": serial, "pin": format_pin(pin)} for serial, pin in pins]
    return data, 201


@endpoint("/vouchers/redeem", "POST", summary="Redeem a voucher for an account", scope="vouchers:write",
          tag="vouchers", request=REDEEM, response=REDEEMED, errors=(409,),
          example={"account_id": 1, "pin": "1234-5678-9012"},
          description="Single use. Refusals: 422 `invalid` (unknown PIN), 409 `already_redeemed`, "
                      "`expired`, `voided`, `not_active` or `account_closed`, 429 `rate_limited` "
                      "(too many attempts for the account or from this address).")
def api_redeem_voucher(body):
    try:
        redemption = redeem_voucher(account_id=body["account_id"], pin=body["pin"], ip=request.remote_addr)
    except NotAllowed as exc:
        if exc.code == "rate_limited":
            raise ApiError(429, "rate_limited", "too many voucher attempts; try again later") from None
        if exc.code in REFUSED_409:
            raise ApiError(409, exc.code, "the voucher cannot be redeemed") from None
        raise ApiError(422, exc.code, "unknown voucher PIN", errors={"pin": [exc.code]}) from None
    return {"voucher_id": redemption.voucher_id, "serial": redemption.serial, "kind": redemption.kind,
            "amount": _num(redemption.amount), "currency": redemption.currency, "unit": redemption.unit,
            "product_code": redemption.product_code, "product_name": redemption.product_name}
