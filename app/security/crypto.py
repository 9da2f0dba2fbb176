"""Encryption at rest for secrets kept in the database.

AES-256-GCM with the row's *context* (e.g. ``"realm:3:gateway.stripe.secret_key"``) as
associated data: a ciphertext copied into another realm's row, or another column, fails to
decrypt. Keys come from configuration as a comma-separated list; the first encrypts, all
decrypt, so a new key can be put first and ``rotate()`` re-encrypts old values.
Stored form: ``v1:<key id>:<urlsafe base64 of nonce + ciphertext>``.
"""

from __future__ import annotations

import base64
import hashlib
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM


class DecryptionError(Exception):
    """The value was not encrypted for this context with any known key."""


def _derive(raw: str) -> bytes:
    # Any configured string becomes a 256-bit key; operators need not produce exact bytes.
    return hashlib.sha256(raw.strip().encode()).digest()


def _key_id(key: bytes) -> str:
    return hashlib.sha256(b"realmbill-key-id" + key).hexdigest()[:8]


class SecretBox:
    def __init__(self, keys: str | list[str]) -> None:
        raw_keys = keys.split(",") if isinstance(keys, str) else list(keys)
        derived = [_derive(k) for k in raw_keys if k.strip()]
        if not derived:
            raise ValueError("at least one encryption key is required")
        self._keys = {_key_id(k): k for k in derived}
        self._current = _key_id(derived[0])

    def encrypt(self, plaintext: str, *, context: str) -> str:
        nonce = os.urandom(12)
        sealed = AESGCM(self._keys[self._current]).encrypt(
            nonce, plaintext.encode(), context.encode()
        )
        return f"v1:{self._current}:{base64.urlsafe_b64encode(nonce + sealed).decode()}"

    def decrypt(self, token: str, *, context: str) -> str:
        try:
            version, key_id, payload = token.split(":", 2)
            key = self._keys[key_id]
            blob = base64.urlsafe_b64decode(payload.encode())
        except (ValueError, KeyError) as exc:
            raise DecryptionError("unknown key or malformed value") from exc
        if version != "v1":
            raise DecryptionError("unknown format version")
        try:
            return AESGCM(key).decrypt(blob[:12], blob[12:], context.encode()).decode()
        except InvalidTag as exc:
            raise DecryptionError("value does not belong to this context") from exc

    def needs_rotation(self, token: str) -> bool:
        return token.split(":", 2)[1] != self._current

    def rotate(self, token: str, *, context: str) -> str:
        """Re-encrypt with the current key (a no-op result when already current)."""
        if not self.needs_rotation(token):
            return token
        return self.encrypt(self.decrypt(token, context=context), context=context)
