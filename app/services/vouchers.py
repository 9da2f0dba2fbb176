"""Scratch-card vouchers: generate batches, export them once, redeem, batch operations.

PINs
----
A PIN is ``d`` random decimal digits from ``secrets`` where ``d`` is the smallest number
(at least 12) with ``10**d >= count * 2**40``: with ``count`` valid PINs in a batch, one
guess hits *any* of them with probability at most 2**-40, i.e. an attacker needs ≥ 2**40
guesses per valid PIN. Redemption is also rate-limited per account and per IP (below), so
online guessing is hopeless. PINs are never stored: each voucher keeps
``HMAC-SHA256(key, "<realm id>:<pin>")``, the key derived from the application's
encryption keys (``ENCRYPTION_KEYS``); the key id is stored with the hash and every
configured key is tried on redemption, so keys can rotate. The realm id inside the MAC
makes a PIN of another realm simply unknown here (it behaves like a wrong PIN).

The printable list (serial + PIN) exists only at generation: it is returned to the caller
and kept encrypted (SecretBox) on the batch until the one export (CSV or PDF sheet), which
wipes it; later exports are refused.

Redemption is one conditional ``UPDATE vouchers SET status='redeemed' … WHERE
status='active' AND not expired … RETURNING …`` with the credit in the same transaction:
of concurrent redemptions of one voucher exactly one gets the row back.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
import re
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from flask import current_app
from sqlalchemy import and_, case, func, insert, or_, select, update

from app.extensions import db
from app.models import Account, Realm
from app.models.base import utcnow
from app.models.voucher import VOUCHER_KINDS, AccessGrant, Voucher, VoucherBatch
from app.rating.money import MoneyError, minor_units, parse_decimal
from app.rating.units import UnitError, lookup
from app.security.secrets import secret_box
from tenants import require_realm_id

from .errors import FieldErrors, Invalid, NotAllowed
from .lookups import get_or_not_found

MAX_BATCH = 100_000
MIN_PIN_DIGITS = 12
GUESS_BITS = 40
PREFIX_RE = re.compile(r"^[A-Z0-9]{1,8}$")
BATCH_ACTIONS = ("activate", "void", "extend", "product")

# Redemption refusals (codes; pages translate them).
REFUSALS = ("invalid", "already_redeemed", "voided", "not_active", "expired", "rate_limited")


# ------------------------------------------------------------------ PIN hashing
def pin_digits_for(count: int) -> int:
    """Digits so that a batch of ``count`` PINs needs ≥ 2**40 guesses per valid PIN."""
    digits = MIN_PIN_DIGITS
    while 10**digits < count * 2**GUESS_BITS:
        digits += 1
    return digits


def _pin_keys() -> dict[str, bytes]:
    """Key id → HMAC key, derived from the configured encryption keys (first = current)."""
    raw = current_app.config["ENCRYPTION_KEYS"]
    raw_keys = raw.split(",") if isinstance(raw, str) else list(raw)
    keys: dict[str, bytes] = {}
    for item in raw_keys:
        if item.strip():
            key = hashlib.sha256(b"realmbill-voucher-pin:" + item.strip().encode()).digest()
            keys[hashlib.sha256(b"realmbill-voucher-key-id:" + key).hexdigest()[:8]] = key
    if not keys:
        raise RuntimeError("no encryption key configured")
    return keys


def normalize_pin(pin: str) -> str:
    return re.sub(r"[\s\-]", "", pin or "")


def pin_hash(key: bytes, realm_id: int, pin: str) -> str:
    return hmac.new(key, f"{realm_id}:{pin}".encode(), hashlib.sha256).hexdigest()


def _candidate_hashes(realm_id: int, pin: str) -> list[str]:
    return [pin_hash(key, realm_id, pin) for key in _pin_keys().values()]


def _pins_context(realm_id: int, batch_id: int) -> str:
    return f"realm:{realm_id}:voucher_batch:{batch_id}:pins"


def format_pin(pin: str) -> str:
    """Groups of four for printing (the groups are ignored on entry)."""
    return "-".join(pin[i:i + 4] for i in range(0, len(pin), 4))


# ------------------------------------------------------------------ generation
@dataclass
class GeneratedBatch:
    batch: VoucherBatch
    pins: list[tuple[str, str]]  # (serial, PIN) — only here, once


def _check_value(errors: FieldErrors, *, kind, amount, currency, unit, product_code):
    value = None
    if kind not in VOUCHER_KINDS:
        errors.add("kind", "invalid")
        return None, currency, unit
    if kind in ("money", "quota"):
        try:
            value = parse_decimal(amount) if amount not in (None, "") else None
        except MoneyError:
            errors.add("amount", "not_a_number")
            return None, currency, unit
        if value is None:
            errors.add("amount", "required")
        elif value <= 0:
            errors.add("amount", "negative")
    if kind == "money" and value is not None and value > 0:
        try:
            places = minor_units(currency)
            if value != value.quantize(Decimal(1).scaleb(-places)):
                errors.add("amount", "too_many_decimals")
        except MoneyError:
            errors.add("currency", "invalid")
    if kind == "quota":
        try:
            unit = lookup(unit or "").name
        except UnitError:
            errors.add("unit", "unknown")
        if value is not None and value != value.quantize(Decimal("0.000001")):
            errors.add("amount", "too_many_decimals")
    if kind == "product" and not (product_code or "").strip():
        errors.add("product_code", "required")
    return value, currency, unit


def generate_batch(*, name: str, count: int, kind: str, prefix: str = "V",
                   amount: Decimal | str | None = None, unit: str | None = None,
                   product_code: str | None = None, product_name: str | None = None,
                   expires_at: datetime | None = None, activate: bool = False,
                   created_by: str | None = None, progress=None) -> GeneratedBatch:
    """Create ``count`` vouchers; returns the batch and its (serial, PIN) list."""
    realm_id = require_realm_id()
    realm = db.session.get(Realm, realm_id)
    errors = FieldErrors()
    errors.require("name", name)
    if not isinstance(count, int) or not 1 <= count <= MAX_BATCH:
        errors.add("count", "invalid")
    prefix = (prefix or "").strip().upper()
    if not PREFIX_RE.match(prefix):
        errors.add("prefix", "invalid")
    currency = realm.currency if kind == "money" else None
    value, currency, unit = _check_value(errors, kind=kind, amount=amount, currency=currency,
                                         unit=unit, product_code=product_code)
    if expires_at is not None and expires_at <= utcnow():
        errors.add("expires_at", "in_the_past")
    errors.raise_if_any()

    # Serial numbers are realm-wide; lock the realm row while taking the next range.
    lock = select(Realm.id).where(Realm.id == realm_id)
    if db.session.connection().dialect.name == "postgresql":
        lock = lock.with_for_update()
    db.session.execute(lock)
    first = (db.session.scalar(select(func.max(Voucher.number))) or 0) + 1
    digits = pin_digits_for(count)
    batch = VoucherBatch(
        name=name.strip(), prefix=prefix, kind=kind, amount=value, currency=currency,
        unit=unit if kind == "quota" else None,
        product_code=(product_code or "").strip() or None if kind == "product" else None,
        product_name=(product_name or "").strip() or None if kind == "product" else None,
        count=count, pin_digits=digits, first_number=first, expires_at=expires_at,
        created_by=created_by,
    )
    db.session.add(batch)
    db.session.flush()

    key_id, key = next(iter(_pin_keys().items()))
    now = utcnow()
    seen: set[str] = set()
    pins: list[tuple[str, str]] = []
    rows = []
    for offset in range(count):
        pin = f"{secrets.randbelow(10**digits):0{digits}d}"
        while pin in seen:  # astronomically rare; a batch never holds one PIN twice
            pin = f"{secrets.randbelow(10**digits):0{digits}d}"
        seen.add(pin)
        number = first + offset
        serial = f"{prefix}{number:09d}"
        pins.append((serial, pin))
        rows.append({
            "realm_id": realm_id, "batch_id": batch.id, "number": number, "serial": serial,
            "pin_hash": pin_hash(key, realm_id, pin), "key_id": key_id,
            "status": "active" if activate else "inactive", "kind": kind, "amount": value,
            "currency": batch.currency, "unit": batch.unit, "product_code": batch.product_code,
            "product_name": batch.product_name, "expires_at": expires_at,
            "activated_at": now if activate else None,
        })
        if progress is not None:
            progress(1)
    for start in range(0, len(rows), 5000):
        db.session.execute(insert(Voucher.__table__), rows[start:start + 5000])
    batch.pins_enc = secret_box().encrypt(json.dumps(pins), context=_pins_context(realm_id, batch.id))
    db.session.flush()
    return GeneratedBatch(batch=batch, pins=pins)


# ------------------------------------------------------------------ queries
def get_batch(batch_id: int) -> VoucherBatch:
    return get_or_not_found(VoucherBatch, batch_id, "voucher batch")


def list_batches() -> list[VoucherBatch]:
    return list(db.session.scalars(select(VoucherBatch).order_by(VoucherBatch.id.desc())))


def list_vouchers(batch_id: int, *, limit: int = 500) -> list[Voucher]:
    return list(db.session.scalars(
        select(Voucher).where(Voucher.batch_id == batch_id).order_by(Voucher.number).limit(limit)))


def batch_report(batch_id: int | None = None, *, now: datetime | None = None) -> list[dict]:
    """Per batch: total, sold (activated), active, redeemed, expired, void, inactive."""
    now = now or utcnow()
    expired = and_(Voucher.status.in_(("active", "inactive")), Voucher.expires_at.is_not(None),
                   Voucher.expires_at <= now)

    def count_if(condition):
        return func.sum(case((condition, 1), else_=0))

    query = select(
        Voucher.batch_id,
        func.count(Voucher.id),
        count_if(Voucher.activated_at.is_not(None)),
        count_if(and_(Voucher.status == "active", ~expired)),
        count_if(Voucher.status == "redeemed"),
        count_if(expired),
        count_if(Voucher.status == "void"),
        count_if(and_(Voucher.status == "inactive", ~expired)),
    ).group_by(Voucher.batch_id).order_by(Voucher.batch_id)
    if batch_id is not None:
        query = query.where(Voucher.batch_id == batch_id)
    keys = ("batch_id", "total", "sold", "active", "redeemed", "expired", "void", "inactive")
    return [dict(zip(keys, (int(v or 0) for v in row), strict=True)) for row in db.session.execute(query)]


# ------------------------------------------------------------------ export (once)
def _release_pins(batch_id: int, fmt: str) -> tuple[VoucherBatch, list[tuple[str, str]]]:
    batch = get_batch(batch_id)
    query = select(VoucherBatch.pins_enc).where(VoucherBatch.id == batch_id)
    if db.session.connection().dialect.name == "postgresql":
        query = query.with_for_update()
    sealed = db.session.scalar(query)
    if sealed is None:
        raise NotAllowed("already_exported", "the PINs of this batch were already exported")
    claimed = db.session.execute(
        update(VoucherBatch).where(VoucherBatch.id == batch_id, VoucherBatch.pins_enc.is_not(None))
        .values(pins_enc=None, exported_at=utcnow(), export_format=fmt)
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        raise NotAllowed("already_exported", "the PINs of this batch were already exported")
    db.session.refresh(batch)
    pins = json.loads(secret_box().decrypt(sealed, context=_pins_context(batch.realm_id, batch.id)))
    return batch, [tuple(p) for p in pins]


def _value_text(voucher_or_batch) -> str:
    if voucher_or_batch.kind == "money":
        return f"{voucher_or_batch.amount.normalize():f} {voucher_or_batch.currency}"
    if voucher_or_batch.kind == "quota":
        return f"{voucher_or_batch.amount.normalize():f} {voucher_or_batch.unit}"
    return voucher_or_batch.product_name or voucher_or_batch.product_code or ""


def vouchers_csv(batch: VoucherBatch, pins: list[tuple[str, str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["serial", "pin", "kind", "value", "expires_at"])
    expires = batch.expires_at.date().isoformat() if batch.expires_at else ""
    for serial, pin in pins:
        writer.writerow([serial, pin, batch.kind, _value_text(batch), expires])
    return out.getvalue().encode()


def vouchers_pdf(batch: VoucherBatch, pins: list[tuple[str, str]]) -> bytes:
    from app.services.documents.pdf import render_pdf

    realm = db.session.get(Realm, batch.realm_id)
    cards = [{"serial": s, "pin": format_pin(p), "value": _value_text(batch)} for s, p in pins]
    return render_pdf("documents/voucher_sheet.html", {
        "batch": batch, "cards": cards, "realm": realm, "value": _value_text(batch),
        "expires": batch.expires_at.date().isoformat() if batch.expires_at else None,
    }, realm=realm)


def release_pins(batch_id: int, *, fmt: str) -> list[tuple[str, str]]:
    """The batch's (serial, PIN) list, released once like an export (the API answers them
    in the generating response); a later export is refused as ``already_exported``."""
    return _release_pins(batch_id, fmt)[1]


def export_batch(batch_id: int, *, fmt: str = "csv") -> tuple[str, bytes, str]:
    """The batch's cards as CSV or a PDF sheet — once; returns (filename, data, mimetype)."""
    return export_batch_files(batch_id, formats=[fmt])[0]


def export_batch_files(batch_id: int, *, formats: list[str]) -> list[tuple[str, bytes, str]]:
    """One release of the PINs in one or more formats (e.g. the CLI writes CSV and PDF at once)."""
    if not formats or any(fmt not in ("csv", "pdf") for fmt in formats):
        raise Invalid({"format": ["invalid"]})
    batch, pins = _release_pins(batch_id, "+".join(formats))
    name = f"vouchers-{batch.prefix}-{batch.id}"
    files = []
    for fmt in formats:
        if fmt == "csv":
            files.append((f"{name}.csv", vouchers_csv(batch, pins), "text/csv"))
        else:
            files.append((f"{name}.pdf", vouchers_pdf(batch, pins), "application/pdf"))
    return files


# ------------------------------------------------------------------ rate limit
_memory_counts: dict[str, tuple[int, float]] = {}
_memory_lock = threading.Lock()


def _redis():
    url = current_app.config.get("VOUCHER_RATE_LIMIT_REDIS_URL") or current_app.config.get("REDIS_URL")
    if not url:
        return None
    from redis import Redis

    clients = current_app.extensions.setdefault("realmbill_voucher_redis", {})
    if url not in clients:
        clients[url] = Redis.from_url(url)
    return clients[url]


def _hit(key: str, window: int) -> int:
    """Count one attempt in the fixed window; returns the attempts in it so far."""
    slot = int(time.time() // window)
    full_key = f"realmbill:voucher-attempts:{key}:{slot}"
    client = _redis()
    if client is not None:
        pipe = client.pipeline()
        pipe.incr(full_key)
        pipe.expire(full_key, window + 5)
        return int(pipe.execute()[0])
    # Embedded mode (no Redis): one process, so a process-local counter is shared enough.
    with _memory_lock:
        if len(_memory_counts) > 10_000:  # forget finished windows
            for stale in [k for k, (_, until) in _memory_counts.items() if until <= time.time()]:
                del _memory_counts[stale]
        count, expires = _memory_counts.get(full_key, (0, 0.0))
        count = count + 1 if expires > time.time() else 1
        _memory_counts[full_key] = (count, time.time() + window)
        return count


def check_rate_limit(*, account_id: int, ip: str | None) -> None:
    """At most VOUCHER_REDEEM_ATTEMPTS redemption attempts per window, per account and per IP."""
    limit = int(current_app.config.get("VOUCHER_REDEEM_ATTEMPTS", 10))
    window = int(current_app.config.get("VOUCHER_REDEEM_WINDOW", 900))
    realm_id = require_realm_id()
    keys = [f"{realm_id}:account:{account_id}"]
    if ip:
        keys.append(f"ip:{ip}")
    over = [key for key in keys if _hit(key, window) > limit]
    if over:
        raise NotAllowed("rate_limited", "too many voucher attempts; try again later")


# ------------------------------------------------------------------ redemption
@dataclass
class Redemption:
    voucher_id: int
    serial: str
    kind: str
    amount: Decimal | None
    currency: str | None
    unit: str | None
    product_code: str | None
    product_name: str | None


def redeem_voucher(*, account_id: int, pin: str, ip: str | None = None, today: date | None = None) -> Redemption:
    """Redeem the voucher with ``pin`` for the account: single use, credit in the same transaction."""
    account = get_or_not_found(Account, account_id, "account")
    if account.status == "closed":
        raise NotAllowed("account_closed", "a closed account cannot redeem vouchers")
    check_rate_limit(account_id=account_id, ip=ip)
    pin = normalize_pin(pin)
    if not pin.isdigit() or not MIN_PIN_DIGITS <= len(pin) <= 40:
        raise NotAllowed("invalid", "unknown voucher PIN")
    realm_id = require_realm_id()
    hashes = _candidate_hashes(realm_id, pin)
    now = utcnow()
    claim = (
        update(Voucher)
        .where(Voucher.pin_hash.in_(hashes), Voucher.status == "active",
               or_(Voucher.expires_at.is_(None), Voucher.expires_at > now))
        .values(status="redeemed", redeemed_at=now, redeemed_by_account_id=account.id)
        .returning(Voucher.id, Voucher.serial, Voucher.kind, Voucher.amount, Voucher.currency,
                   Voucher.unit, Voucher.product_code, Voucher.product_name)
        .execution_options(synchronize_session=False)
    )
    row = db.session.execute(claim).first()
    if row is None:
        raise NotAllowed(_refusal(hashes, now), "voucher refused")
    redemption = Redemption(*row)
    _credit(account, redemption, today or now.date())
    db.session.flush()
    return redemption


def _refusal(hashes: list[str], now: datetime) -> str:
    voucher = db.session.scalar(select(Voucher).where(Voucher.pin_hash.in_(hashes)))
    if voucher is None:
        return "invalid"
    if voucher.status == "redeemed":
        return "already_redeemed"
    if voucher.status == "void":
        return "voided"
    if voucher.expires_at is not None and voucher.expires_at <= now:
        return "expired"
    if voucher.status == "inactive":
        return "not_active"
    return "invalid"


def _credit(account: Account, redemption: Redemption, today: date) -> None:
    if redemption.kind == "money":
        from app.services.billing.charges import add_charge

        add_charge(account.id, description=f"Voucher {redemption.serial}", amount=-redemption.amount,
                   kind="credit", source_key=f"voucher:{redemption.voucher_id}",
                   currency=redemption.currency)
    elif redemption.kind == "quota":
        from app.models import QuotaPool

        from .quotas import create_pool, top_up_pool

        pool = db.session.scalar(select(QuotaPool).where(
            QuotaPool.scope == "account", QuotaPool.account_id == account.id,
            QuotaPool.unit == redemption.unit).order_by(QuotaPool.id))
        if pool is None:
            pool = create_pool(name=f"Vouchers ({redemption.unit})", scope="account", unit=redemption.unit,
                               size=Decimal(0), anchor=today.replace(day=1), account_id=account.id)
        top_up_pool(pool.id, quantity=redemption.amount, on=today)
    else:
        db.session.add(AccessGrant(account_id=account.id, voucher_id=redemption.voucher_id,
                                   product_code=redemption.product_code,
                                   product_name=redemption.product_name))


def list_grants(account_id: int) -> list[AccessGrant]:
    return list(db.session.scalars(select(AccessGrant).where(AccessGrant.account_id == account_id)
                                   .order_by(AccessGrant.id.desc())))


def redeemed_by(account_id: int, *, limit: int = 50) -> list[Voucher]:
    return list(db.session.scalars(select(Voucher).where(Voucher.redeemed_by_account_id == account_id)
                                   .order_by(Voucher.redeemed_at.desc()).limit(limit)))


# ------------------------------------------------------------------ batch operations
@dataclass
class Selection:
    batch_id: int | None
    first: int | None
    last: int | None


def _select(*, batch_id: int | None, serial_from: str | None, serial_to: str | None) -> Selection:
    errors = FieldErrors()
    first = last = None
    if batch_id is not None:
        get_batch(batch_id)
    for field, serial in (("serial_from", serial_from), ("serial_to", serial_to)):
        if serial:
            number = db.session.scalar(select(Voucher.number).where(Voucher.serial == serial.strip().upper()))
            if number is None:
                errors.add(field, "unknown")
            elif field == "serial_from":
                first = number
            else:
                last = number
    if batch_id is None and not (serial_from and serial_to):
        errors.add("serial_from", "required")
    if first is not None and last is not None and first > last:
        errors.add("serial_to", "before_start")
    errors.raise_if_any()
    return Selection(batch_id, first, last)


def _conditions(sel: Selection, action: str) -> list:
    conditions = [Voucher.status != "redeemed"]  # redeemed vouchers are never changed
    if sel.batch_id is not None:
        conditions.append(Voucher.batch_id == sel.batch_id)
    if sel.first is not None:
        conditions.append(Voucher.number >= sel.first)
    if sel.last is not None:
        conditions.append(Voucher.number <= sel.last)
    if action == "activate":
        conditions.append(Voucher.status == "inactive")
    else:
        conditions.append(Voucher.status != "void")
    return conditions


def _check_action(action, *, expires_at, product_code) -> None:
    errors = FieldErrors()
    if action not in BATCH_ACTIONS:
        errors.add("action", "invalid")
    if action == "extend":
        if expires_at is None:
            errors.add("expires_at", "required")
        elif expires_at <= utcnow():
            errors.add("expires_at", "in_the_past")
    if action == "product" and not (product_code or "").strip():
        errors.add("product_code", "required")
    errors.raise_if_any()


def preview_batch_operation(*, action: str, batch_id: int | None = None, serial_from: str | None = None,
                            serial_to: str | None = None) -> dict:
    """How many vouchers the action would change, and how many it leaves (redeemed, void)."""
    sel = _select(batch_id=batch_id, serial_from=serial_from, serial_to=serial_to)  # NotFound first
    if action not in BATCH_ACTIONS:
        raise Invalid({"action": ["invalid"]})
    touched = db.session.scalar(select(func.count(Voucher.id)).where(*_conditions(sel, action)))
    scope = [Voucher.batch_id == sel.batch_id] if sel.batch_id is not None else []
    if sel.first is not None:
        scope.append(Voucher.number >= sel.first)
    if sel.last is not None:
        scope.append(Voucher.number <= sel.last)
    total = db.session.scalar(select(func.count(Voucher.id)).where(*scope))
    return {"touched": int(touched or 0), "total": int(total or 0),
            "unchanged": int((total or 0) - (touched or 0))}


def apply_batch_operation(*, action: str, batch_id: int | None = None, serial_from: str | None = None,
                          serial_to: str | None = None, expires_at: datetime | None = None,
                          product_code: str | None = None, product_name: str | None = None) -> int:
    """Activate, void, extend or change the product of a batch or serial range; returns the count."""
    _check_action(action, expires_at=expires_at, product_code=product_code)
    sel = _select(batch_id=batch_id, serial_from=serial_from, serial_to=serial_to)
    now = utcnow()
    values: dict = {
        "activate": {"status": "active", "activated_at": now},
        "void": {"status": "void", "voided_at": now},
        "extend": {"expires_at": expires_at},
        "product": {"kind": "product", "amount": None, "currency": None, "unit": None,
                    "product_code": (product_code or "").strip(),
                    "product_name": (product_name or "").strip() or None},
    }[action]
    changed = db.session.execute(
        update(Voucher).where(*_conditions(sel, action)).values(**values)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.flush()
    db.session.expire_all()
    return int(changed or 0)


# ------------------------------------------------------------------ demo
def seed_demo_vouchers() -> list[tuple[str, str]]:
    """Demo data for the current realm: a few active cards worth money and quota.

    Returns the (serial, PIN) pairs so the demo can print them (they are never shown again);
    does nothing and returns [] when the realm already has voucher batches.
    """
    if db.session.scalar(select(func.count(VoucherBatch.id))):
        return []
    money_cards = generate_batch(name="Demo cards", count=5, kind="money", amount="10", prefix="DEMO",
                                 activate=True, created_by="demo")
    quota_cards = generate_batch(name="Demo data top-ups", count=3, kind="quota", amount="5", unit="GB",
                                 prefix="DGB", activate=True, created_by="demo")
    return money_cards.pins[:1] + quota_cards.pins[:1]
