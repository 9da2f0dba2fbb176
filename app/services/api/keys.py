"""API keys: created with scopes and shown once, stored as a prefix and a keyed hash, revocable.

The token ``rb_<prefix>_<secret>`` is hashed with HMAC-SHA256 under a key derived from the
app's encryption keys (the first one for new keys; every configured one verifies, so keys
survive a rotation as long as the old key is still listed) and bound to the realm, so a
hash copied to another realm's row does not verify there.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask import current_app
from sqlalchemy import select

from app.extensions import db
from app.models.api import API_SCOPES, ApiKey
from tenants import require_realm_id

from ..errors import FieldErrors
from ..lookups import get_or_not_found

TOKEN_PREFIX = "rb_"  # noqa: S105 - a public marker, not a secret
LAST_USED_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class CreatedKey:
    key: ApiKey
    token: str  # shown once, never stored


def _hash_keys() -> dict[str, bytes]:
    keys = {}
    for raw in str(current_app.config["ENCRYPTION_KEYS"]).split(","):
        if raw.strip():
            derived = hashlib.sha256(b"realmbill-api-key-hmac" + raw.strip().encode()).digest()
            keys.setdefault(hashlib.sha256(b"id" + derived).hexdigest()[:8], derived)
    return keys


def _digest(key: bytes, realm_id: int, token: str) -> str:
    return hmac.new(key, f"realm:{realm_id}:api-key:{token}".encode(), hashlib.sha256).hexdigest()


def hash_token(token: str, realm_id: int) -> str:
    key_id, key = next(iter(_hash_keys().items()))
    return f"{key_id}:{_digest(key, realm_id, token)}"


def _verify(stored: str, token: str, realm_id: int) -> bool:
    key_id, _, digest = stored.partition(":")
    key = _hash_keys().get(key_id)
    return key is not None and hmac.compare_digest(digest, _digest(key, realm_id, token))


def split_token(token: str) -> str | None:
    """The prefix of a well-formed token, else None."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    prefix, sep, secret = token[len(TOKEN_PREFIX):].partition("_")
    if not sep or len(prefix) != 12 or len(secret) < 20 or not prefix.isalnum():
        return None
    return prefix


def create_api_key(*, name: str, scopes: list[str], created_by: str | None = None) -> CreatedKey:
    errors = FieldErrors()
    name = (name or "").strip()
    errors.require("name", name)
    if len(name) > 100:
        errors.add("name", "too_long")
    scopes = sorted(set(scopes))
    if not scopes:
        errors.add("scopes", "required")
    if any(s not in API_SCOPES for s in scopes):
        errors.add("scopes", "unknown")
    errors.raise_if_any()
    realm_id = require_realm_id()
    prefix = secrets.token_hex(6)
    token = f"{TOKEN_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    key = ApiKey(name=name, prefix=prefix, key_hash=hash_token(token, realm_id),
                 scopes=" ".join(scopes), created_by=created_by)
    db.session.add(key)
    db.session.flush()
    return CreatedKey(key, token)


def list_api_keys() -> list[ApiKey]:
    return list(db.session.scalars(select(ApiKey).order_by(ApiKey.revoked_at.is_not(None), ApiKey.id.desc())))


def revoke_api_key(key_id: int) -> ApiKey:
    key = get_or_not_found(ApiKey, key_id, "api key")
    if key.revoked_at is None:
        key.revoked_at = datetime.now(UTC)
        db.session.flush()
    return key


def authenticate(token: str) -> ApiKey | None:
    """The current realm's active key for ``token``, or None; notes when it was last used."""
    prefix = split_token(token or "")
    if prefix is None:
        return None
    key = db.session.scalar(select(ApiKey).where(ApiKey.prefix == prefix))
    if key is None or key.revoked_at is not None or not _verify(key.key_hash, token, require_realm_id()):
        return None
    now = datetime.now(UTC)
    if key.last_used_at is None or now - key.last_used_at > LAST_USED_EVERY:
        key.last_used_at = now
    return key
