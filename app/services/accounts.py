"""Account (subscriber) use cases."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from app.extensions import db
from app.models import ACCOUNT_STATUSES, Account, CostCentre
from app.security.passwords import hash_password
from app.security.secrets import secret_box
from tenants import require_realm_id

from .errors import FieldErrors, NotAllowed
from .events import emit
from .lookups import get_or_not_found

USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def service_password_context(realm_id: int) -> str:
    return f"realm:{realm_id}:account.service_password"


def _next_number() -> str:
    count = db.session.scalar(select(func.count(Account.id))) or 0
    candidate = count + 1
    while db.session.scalar(select(Account.id).where(Account.number == f"A{candidate:06d}")):
        candidate += 1
    return f"A{candidate:06d}"


def _check_fields(errors: FieldErrors, *, name, email, status, cost_centre_id) -> None:
    errors.require("name", name)
    if email and not EMAIL.match(email):
        errors.add("email", "invalid")
    if status not in ACCOUNT_STATUSES:
        errors.add("status", "invalid")
    if cost_centre_id is not None and db.session.scalar(
        select(CostCentre.id).where(CostCentre.id == cost_centre_id)
    ) is None:
        errors.add("cost_centre_id", "not_found")


def create_account(
    *,
    username: str,
    name: str,
    email: str | None = None,
    password: str | None = None,
    phone: str | None = None,
    address: str | None = None,
    cost_centre_id: int | None = None,
    status: str = "active",
    locale: str | None = None,
) -> Account:
    realm_id = require_realm_id()
    username = (username or "").strip().lower()
    errors = FieldErrors()
    errors.require("username", username)
    if username and not USERNAME.match(username):
        errors.add("username", "invalid")
    elif username and db.session.scalar(select(Account.id).where(Account.username == username)):
        errors.add("username", "taken")
    if password is not None and len(password) < 8:
        errors.add("password", "too_short")
    _check_fields(errors, name=name, email=email, status=status, cost_centre_id=cost_centre_id)
    errors.raise_if_any()

    account = Account(
        realm_id=realm_id, number=_next_number(), username=username, name=name.strip(),
        email=(email or None), phone=phone or None, address=address or None,
        cost_centre_id=cost_centre_id, status=status, locale=locale,
    )
    if password:
        account.password_hash = hash_password(password)
        account.service_password_enc = secret_box().encrypt(
            password, context=service_password_context(realm_id)
        )
    db.session.add(account)
    db.session.flush()
    emit("account.created", account=account, data={"username": account.username})
    return account


def get_account(account_id: int) -> Account:
    return get_or_not_found(Account, account_id, "account")


def update_account(
    account_id: int,
    *,
    name: str,
    email: str | None,
    phone: str | None = None,
    address: str | None = None,
    cost_centre_id: int | None = None,
    status: str = "active",
) -> Account:
    account = get_account(account_id)
    errors = FieldErrors()
    _check_fields(errors, name=name, email=email, status=status, cost_centre_id=cost_centre_id)
    errors.raise_if_any()
    before = {f: getattr(account, f) for f in _DETAIL_FIELDS}
    account.name = name.strip()
    account.email = email or None
    account.phone = phone or None
    account.address = address or None
    account.cost_centre_id = cost_centre_id
    old_status = account.status
    account.status = status
    db.session.flush()
    changed = sorted(f for f in _DETAIL_FIELDS if getattr(account, f) != before[f])
    if changed:
        emit("account.details_changed", account=account, data={"fields": changed})
    if status != old_status:
        _emit_status_change(account, old_status, reason="edited")
    return account


_DETAIL_FIELDS = ("name", "email", "phone", "address", "cost_centre_id")
_STATUS_EVENTS = {"suspended": "account.suspended", "active": "account.resumed", "closed": "account.deleted"}


def _emit_status_change(account: Account, old_status: str, *, reason: str) -> None:
    emit(_STATUS_EVENTS[account.status], account=account,
         data={"reason": reason, "from": old_status, "to": account.status})


def suspend_account(account_id: int, *, reason: str) -> Account:
    """Suspend an active account; its services are suspended by the event's reactions."""
    account = get_account(account_id)
    if account.status == "closed":
        raise NotAllowed("account_closed")
    if account.status == "suspended":
        return account  # idempotent: already suspended, nothing new happens
    old_status, account.status = account.status, "suspended"
    db.session.flush()
    _emit_status_change(account, old_status, reason=reason)
    return account


def resume_account(account_id: int, *, reason: str) -> Account:
    """Reactivate a suspended account; its services are resumed by the event's reactions."""
    account = get_account(account_id)
    if account.status == "closed":
        raise NotAllowed("account_closed")
    if account.status == "active":
        return account
    old_status, account.status = account.status, "active"
    db.session.flush()
    _emit_status_change(account, old_status, reason=reason)
    return account


def change_service_password(account_id: int, *, password: str) -> Account:
    """Set a new service (and self-care) password; pushed to the services by the event."""
    account = get_account(account_id)
    errors = FieldErrors()
    if not password or len(password) < 8:
        errors.add("password", "too_short")
    errors.raise_if_any()
    account.password_hash = hash_password(password)
    account.service_password_enc = secret_box().encrypt(
        password, context=service_password_context(account.realm_id)
    )
    db.session.flush()
    emit("account.password_changed", account=account)
    return account


def list_accounts(*, search: str | None = None, limit: int = 200) -> list[Account]:
    query = select(Account).order_by(Account.number).limit(limit)
    if search:
        pattern = f"%{search.strip().lower()}%"
        query = query.where(
            func.lower(Account.username).like(pattern)
            | func.lower(Account.name).like(pattern)
            | func.lower(Account.number).like(pattern)
        )
    return list(db.session.scalars(query))


def create_cost_centre(*, code: str, name: str, parent_code: str | None = None) -> CostCentre:
    errors = FieldErrors()
    errors.require("code", code)
    errors.require("name", name)
    parent = None
    if parent_code:
        parent = db.session.scalar(select(CostCentre).where(CostCentre.code == parent_code))
        if parent is None:
            errors.add("parent", "not_found")
    if code and db.session.scalar(select(CostCentre.id).where(CostCentre.code == code)):
        errors.add("code", "taken")
    errors.raise_if_any()
    node = CostCentre(code=code, name=name, parent=parent)
    db.session.add(node)
    db.session.flush()
    return node


def list_cost_centres() -> list[CostCentre]:
    return list(db.session.scalars(select(CostCentre).order_by(CostCentre.code)))
