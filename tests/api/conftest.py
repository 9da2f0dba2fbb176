"""API fixtures: ``api(realm, scopes=[...])`` gives a client holding a fresh key of that realm."""

from __future__ import annotations

import json as _json
from concurrent.futures import ThreadPoolExecutor

import pytest

ALL_SCOPES = ("accounts:read", "accounts:write", "plans:read", "plans:write", "quotes", "usage:write",
              "invoices:read", "subscriptions:read", "realms:read",
              "wholesale:read", "payments:read", "payments:write", "vouchers:read", "vouchers:write",
              "provisioning:read", "provisioning:write", "events:read", "events:write", "reports:read")


class ApiClient:
    """Requests to one realm's host with an API key, each in its own thread (own app context)."""

    _pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="test-api")

    def __init__(self, app, host: str, token: str | None, key_id: int | None = None) -> None:
        self.client = app.test_client()
        self.base = f"https://{host}"
        self.token = token
        self.key_id = key_id

    def request(self, method: str, path: str, *, json=None, data=None, headers=None, token=None,
                content_type=None):
        headers = dict(headers or {})
        token = self.token if token is None else token
        if token:
            headers.setdefault("Authorization", f"Bearer {token}")
        kwargs = {}
        if json is not None:
            kwargs["data"] = _json.dumps(json)
            kwargs["content_type"] = "application/json"
        elif data is not None:
            kwargs["data"] = data
            kwargs["content_type"] = content_type or "application/octet-stream"
        url = path if path.startswith("/api/") else "/api/v1" + path
        return self._pool.submit(self.client.open, url, method=method, base_url=self.base, headers=headers,
                                 buffered=True, **kwargs).result()

    def get(self, path, **kwargs):
        return self.request("GET", path, **kwargs)

    def post(self, path, json=None, **kwargs):
        return self.request("POST", path, json=json, **kwargs)

    def patch(self, path, json=None, **kwargs):
        return self.request("PATCH", path, json=json, **kwargs)


@pytest.fixture
def api(app, db):
    from app.extensions import limiter
    from app.services.api.keys import create_api_key
    from tenants import realm_context

    limiter.reset()

    def factory(realm, scopes=ALL_SCOPES, host: str | None = None) -> ApiClient:
        with realm_context(realm.id):
            created = create_api_key(name="test key", scopes=list(scopes))
            key_id = created.key.id
            db.session.commit()
        return ApiClient(app, host or f"{realm.slug}.localhost", created.token, key_id)

    return factory
