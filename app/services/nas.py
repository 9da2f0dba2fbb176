"""NAS clients: the routers and access servers that speak RADIUS with us."""

from __future__ import annotations

import ipaddress

from sqlalchemy import select

from app.extensions import db
from app.models import NasClient
from app.security.secrets import secret_box
from tenants import require_realm_id

from .errors import FieldErrors


def _context(realm_id: int) -> str:
    return f"realm:{realm_id}:nas.secret"


def add_nas(*, name: str, address: str, secret: str, coa_port: int = 3799) -> NasClient:
    realm_id = require_realm_id()
    errors = FieldErrors()
    errors.require("name", name)
    try:
        address = str(ipaddress.ip_address((address or "").strip()))
    except ValueError:
        errors.add("address", "invalid")
    else:
        if db.session.scalar(select(NasClient.id).where(NasClient.address == address)):
            errors.add("address", "taken")
    if len(secret or "") < 8:
        errors.add("secret", "too_short")
    if not 1 <= coa_port <= 65535:
        errors.add("coa_port", "invalid")
    errors.raise_if_any()
    nas = NasClient(
        name=name.strip(), address=address, coa_port=coa_port,
        secret_enc=secret_box().encrypt(secret, context=_context(realm_id)),
    )
    db.session.add(nas)
    db.session.flush()
    return nas


def list_nas() -> list[NasClient]:
    return list(db.session.scalars(select(NasClient).order_by(NasClient.address)))


def nas_secrets() -> dict[str, str]:
    """``{address: shared secret}`` of the current realm's NASes, decrypted for the listener."""
    box = secret_box()
    realm_id = require_realm_id()
    return {n.address: box.decrypt(n.secret_enc, context=_context(realm_id)) for n in list_nas()}
