"""Schemathesis against the API on a loopback server: generated requests never get a 5xx.

Positive cases (valid per the document) and negative ones (schema violations) for every
operation, a bounded number each, with a key holding every scope; the realm is the
provider's (the loopback host). Everything written is rolled back with the test.
"""

from __future__ import annotations

import threading
from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings

from tenants import realm_context

from .conftest import ALL_SCOPES

EXAMPLES = 6


@pytest.fixture
def loopback(app, db):
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=False)
    thread = threading.Thread(target=server.serve_forever, name="api-loopback", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_generated_requests_get_no_server_error(app, db, provider_realm, create_account, loopback):
    import requests
    import schemathesis
    from schemathesis.generation import GenerationMode

    from app.extensions import limiter
    from app.services.api.keys import create_api_key
    from app.services.plans import save_plan, spec_from_mapping

    limiter.reset()
    create_account(provider_realm, "sam", name="Sam")
    with realm_context(provider_realm.id):
        save_plan(spec_from_mapping({"code": "basic", "name": "Basic", "currency": "USD", "fees": [
            {"kind": "recurring", "period": "monthly", "amount": "10.00"}]}, source="t"),
            effective_from=date(2026, 1, 1))
        token = create_api_key(name="fuzz", scopes=list(ALL_SCOPES)).token
        db.session.commit()
    previous = app.config.get("API_RATE_LIMIT")
    app.config["API_RATE_LIMIT"] = "100000 per minute"
    session = requests.Session()
    failures: list[str] = []
    statuses: set[int] = set()
    try:
        document = session.get(loopback + "/api/v1/openapi.json").json()
        schema = schemathesis.openapi.from_dict(document)
        operations = [result.ok() for result in schema.get_all_operations()]
        assert len(operations) >= 12
        for operation in operations:
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                strategy = operation.as_strategy(generation_mode=mode)

                @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                          suppress_health_check=list(HealthCheck))
                @given(case=strategy)
                def call(case):
                    response = case.call(base_url=loopback, session=session,
                                         headers={"Authorization": f"Bearer {token}"})
                    statuses.add(response.status_code)
                    if response.status_code >= 500:
                        failures.append(f"{case.method} {case.formatted_path} -> {response.status_code}: "
                                        f"{response.text[:200]} (body {case.body!r:.200})")

                call()
    finally:
        session.close()
        if previous is None:
            app.config.pop("API_RATE_LIMIT")
        else:
            app.config["API_RATE_LIMIT"] = previous
    assert failures == []
    assert {200, 201, 404, 422} <= statuses  # authenticated: real work and real refusals
