"""Key authentication, scopes and the per-key rate limit of the API."""

from __future__ import annotations

from flask import current_app, g, request

from app.models.api import ApiKey
from app.services.api.keys import authenticate, split_token

from .registry import ApiError

DEFAULT_RATE_LIMIT = "600 per minute"


def presented_token() -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.headers.get("X-API-Key", "").strip()


def require_key(scope: str | None) -> ApiKey:
    key = g.get("api_key")
    if key is None:
        key = authenticate(presented_token())
        if key is None:
            raise ApiError(401, "unauthorized", "a valid API key is required")
        g.api_key = key
    if scope is not None and scope not in key.scope_list:
        raise ApiError(403, "insufficient_scope", f"this key lacks the scope {scope}", scope=scope)
    return key


def rate_limit() -> str:
    return current_app.config.get("API_RATE_LIMIT", DEFAULT_RATE_LIMIT)


def rate_key() -> str:
    """Counters per API key (its public prefix) and realm host; per address without a key."""
    prefix = split_token(presented_token())
    who = f"key:{prefix}" if prefix else f"addr:{request.remote_addr}"
    return f"api|{request.host}|{who}"
