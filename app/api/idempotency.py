"""``Idempotency-Key`` on POST: replay the stored response, refuse a reused key (422)."""

from __future__ import annotations

import json
from collections.abc import Callable

from flask import Response, g, request
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models.api import ApiKey
from app.services.api.idempotency import (
    IdempotencyMismatch,
    find_response,
    request_fingerprint,
    store_response,
)

from .registry import ApiError, check_text

HEADER = "Idempotency-Key"


def _canonical_body() -> bytes:
    raw = request.get_data(cache=True)
    if request.mimetype == "application/json":
        try:
            return json.dumps(json.loads(raw), sort_keys=True, separators=(",", ":")).encode()
        except (ValueError, RecursionError):
            return raw
    return raw


def run_idempotent(key: ApiKey, run: Callable[[], Response]) -> Response:
    token = request.headers.get(HEADER)
    if token is None:
        return run()
    check_text(token)
    token = token.strip()
    if not token or len(token) > 255:
        raise ApiError(400, "invalid_idempotency_key", "Idempotency-Key must be 1 to 255 characters")
    fingerprint = request_fingerprint(request.method, request.path, _canonical_body())
    try:
        stored = find_response(key.id, token, fingerprint)
    except IdempotencyMismatch:
        raise ApiError(422, "idempotency_key_reused",
                       "this Idempotency-Key was used with a different request") from None
    if stored is not None:
        response = Response(stored.response_body, status=stored.status_code, mimetype=stored.content_type)
        response.headers["Idempotent-Replayed"] = "true"
        return response
    response = run()
    if response.status_code < 400:
        body = response.get_data(as_text=True)
        omits = getattr(g.get("api_endpoint"), "replay_omits", ())
        if omits and response.mimetype == "application/json":
            # Shown once (voucher PINs): a replay answers the rest, never a stored copy of them.
            stored_body = json.loads(body)
            for name in omits:
                stored_body.pop(name, None)
            stored_body["replay_omitted"] = list(omits)
            body = json.dumps(stored_body, separators=(",", ":")) + "\n"
        try:
            with db.session.begin_nested():
                store_response(api_key_id=key.id, idempotency_key=token, method=request.method,
                               path=request.path, fingerprint=fingerprint,
                               status_code=response.status_code, content_type=response.mimetype,
                               body=body)
        except IntegrityError:
            # A concurrent request with the same key won: ours must not take effect twice.
            raise ApiError(409, "idempotency_conflict", "a request with this Idempotency-Key is in progress") from None
    return response
