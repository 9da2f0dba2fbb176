"""Stored responses for POSTs sent with an ``Idempotency-Key`` (per realm and API key).

Same key and same request → the stored response again; same key and another request →
refused (``IdempotencyMismatch``). A response is stored in the transaction that made the
change, so it exists exactly when the change does.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import select

from app.extensions import db
from app.models.api import IdempotencyRecord


class IdempotencyMismatch(Exception):
    """The key was used before for a different request."""


def request_fingerprint(method: str, path: str, body: bytes) -> str:
    return hashlib.sha256(method.encode() + b"\x1f" + path.encode() + b"\x1f" + body).hexdigest()


def find_response(api_key_id: int, idempotency_key: str, fingerprint: str) -> IdempotencyRecord | None:
    record = db.session.scalar(select(IdempotencyRecord).where(
        IdempotencyRecord.api_key_id == api_key_id, IdempotencyRecord.idempotency_key == idempotency_key))
    if record is not None and record.request_hash != fingerprint:
        raise IdempotencyMismatch(idempotency_key)
    return record


def store_response(*, api_key_id: int, idempotency_key: str, method: str, path: str, fingerprint: str,
                   status_code: int, content_type: str, body: str) -> None:
    db.session.add(IdempotencyRecord(
        api_key_id=api_key_id, idempotency_key=idempotency_key, method=method, path=path[:500],
        request_hash=fingerprint, status_code=status_code, content_type=content_type[:100],
        response_body=body))
    db.session.flush()


RETENTION_HOURS = 24


def purge_expired(*, now=None, hours: int = RETENTION_HOURS) -> int:
    """Forget stored responses older than ``hours`` in every realm (the scheduler's sweep)."""
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import delete

    cutoff = (now or datetime.now(UTC)) - timedelta(hours=hours)
    result = db.session.execute(
        delete(IdempotencyRecord).where(IdempotencyRecord.created_at < cutoff)
        .execution_options(all_realms=True, synchronize_session=False))
    return result.rowcount or 0
