"""Gateway configuration per realm: which plugins are on, with their settings encrypted at rest.

The settings of one gateway are kept as one JSON object sealed with the realm and gateway
in the associated data (``realm:<id>:gateway.<code>``), so a value copied to another realm
or gateway does not decrypt. Pages get ``public_settings`` (secret fields blanked, with a
flag that a value is set) and never the secrets themselves.
"""

from __future__ import annotations

import json

from sqlalchemy import select

from app.extensions import db
from app.gateways import Gateway, available_gateways
from app.models import PaymentGateway, PaymentSettings
from app.security.secrets import secret_box
from tenants import require_realm_id

from ..errors import FieldErrors, Invalid, NotAllowed, NotFound

ONLINE_ORDER = ("stripe", "test_card")


def _context(realm_id: int, code: str) -> str:
    return f"realm:{realm_id}:gateway.{code}"


def _decrypt(row: PaymentGateway) -> dict:
    if not row.settings_enc:
        return {}
    return json.loads(secret_box().decrypt(row.settings_enc, context=_context(row.realm_id, row.code)))


def gateway_class(code: str) -> type[Gateway]:
    cls = available_gateways().get(code)
    if cls is None:
        raise NotFound("gateway")
    return cls


def gateway_row(code: str) -> PaymentGateway | None:
    return db.session.scalar(select(PaymentGateway).where(PaymentGateway.code == code))


def gateway_for(code: str, *, require_enabled: bool = True) -> Gateway:
    """The realm's configured instance of gateway ``code`` (settings decrypted)."""
    cls = gateway_class(code)
    row = gateway_row(code)
    if row is None and code == "manual":
        return cls({})  # staff can always record cash and cheques
    if row is None or (require_enabled and not row.enabled):
        raise NotAllowed("gateway_disabled")
    return cls(_decrypt(row))


def configure_gateway(code: str, *, enabled: bool, settings: dict[str, str]) -> PaymentGateway:
    """Save a gateway's settings; a secret field left blank keeps its stored value."""
    cls = gateway_class(code)
    realm_id = require_realm_id()
    row = gateway_row(code)
    current = _decrypt(row) if row is not None else {}
    merged: dict[str, str] = {}
    for spec in cls.settings_fields:
        value = (settings.get(spec.name) or "").strip()
        if spec.secret and not value:
            value = current.get(spec.name, "")
        if value:
            merged[spec.name] = value
    errors = cls(merged).check_settings() if enabled else {}
    if errors:
        raise Invalid(errors)
    if row is None:
        row = PaymentGateway(code=code)
        db.session.add(row)
    row.enabled = enabled
    row.settings_enc = secret_box().encrypt(json.dumps(merged, sort_keys=True),
                                            context=_context(realm_id, code))
    db.session.flush()
    return row


def gateway_overview() -> list[dict]:
    """Every installed gateway with its state in this realm and its non-secret settings."""
    rows = {r.code: r for r in db.session.scalars(select(PaymentGateway))}
    overview = []
    for code, cls in available_gateways().items():
        row = rows.get(code)
        settings = _decrypt(row) if row is not None else {}
        overview.append({
            "code": code, "label": cls.label, "cls": cls,
            "enabled": bool(row and row.enabled) or (code == "manual" and row is None),
            "fields": [{"spec": f, "value": "" if f.secret else settings.get(f.name, ""),
                        "is_set": bool(settings.get(f.name))} for f in cls.settings_fields],
        })
    return overview


def enabled_codes() -> list[str]:
    codes = set(db.session.scalars(select(PaymentGateway.code).where(PaymentGateway.enabled)))
    return [c for c in available_gateways() if c in codes]


def online_gateway_code() -> str | None:
    """The gateway subscribers pay with in self-care (Stripe before the test gateway)."""
    codes = enabled_codes()
    for code in ONLINE_ORDER:
        if code in codes:
            return code
    for code in codes:
        if available_gateways()[code].online:
            return code
    return None


def payment_settings() -> PaymentSettings:
    settings = db.session.scalar(select(PaymentSettings))
    if settings is None:
        settings = PaymentSettings(retry_days="1,3,7", auto_charge=True, receipt_prefix="RCT-")
        db.session.add(settings)
        db.session.flush()
    return settings


def parse_retry_days(text: str) -> list[int]:
    try:
        days = [int(part) for part in (text or "").replace(" ", "").split(",") if part]
    except ValueError:
        raise Invalid({"retry_days": ["invalid"]}) from None
    if any(d <= 0 or d > 365 for d in days) or days != sorted(set(days)):
        raise Invalid({"retry_days": ["invalid"]})
    return days


def update_payment_settings(*, retry_days: str, auto_charge: bool, receipt_prefix: str) -> PaymentSettings:
    errors = FieldErrors()
    try:
        days = parse_retry_days(retry_days)
    except Invalid:
        errors.add("retry_days", "invalid")
        days = []
    if len((receipt_prefix or "").strip()) > 20:
        errors.add("receipt_prefix", "too_long")
    errors.raise_if_any()
    settings = payment_settings()
    settings.retry_days = ",".join(str(d) for d in days)
    settings.auto_charge = auto_charge
    settings.receipt_prefix = (receipt_prefix or "").strip() or "RCT-"
    db.session.flush()
    return settings
