"""The REST API: keys and scopes, realm isolation, idempotency, rate limits, endpoints."""

import json
import textwrap
from datetime import date

import pytest
from sqlalchemy import func, select, text

from app.models import Account, Invoice, Plan, Subscription, UsageRecord
from app.models.api import ApiKey
from app.services.api.keys import revoke_api_key
from app.services.billing.run import start_billing_run
from app.services.plans import save_plan, spec_from_mapping
from tenants import realm_context

PLAN_YAML = textwrap.dedent("""\
    code: jet-mixed
    name: Mixed time and traffic
    currency: USD
    fees:
      - {kind: setup, amount: "10.00"}
      - {kind: recurring, period: monthly, amount: "20.00"}
    bands:
      - {unit: MB,   max_usage: "0",   price: "0.50"}
      - {unit: MB,   max_usage: "150", price: "0.10"}
      - {unit: MB,   max_usage: "500", price: "0.20"}
      - {unit: hour, max_usage: "0",   price: "5.00"}
""")
DIALUP = {
    "code": "dialup", "name": "Dial-up", "currency": "USD",
    "fees": [{"kind": "recurring", "period": "monthly", "amount": "20.00"}],
    "bands": [{"unit": "minute", "max_usage": "0", "price": "0.05"}],
}


def _count(db, realm, model):
    with realm_context(realm.id):
        return db.session.scalar(select(func.count()).select_from(model))


def test_openapi_document_is_valid_and_public(db, realm_a, api):
    from openapi_spec_validator import validate

    response = api(realm_a).get("/openapi.json", token="")
    assert response.status_code == 200
    document = response.get_json()
    validate(document)
    for path in ("/api/v1/accounts", "/api/v1/accounts/{account_id}", "/api/v1/plans", "/api/v1/quotes",
                 "/api/v1/usage/batch", "/api/v1/invoices/{invoice_id}/pdf", "/api/v1/subscriptions"):
        assert path in document["paths"], path
    assert document["paths"]["/api/v1/accounts"]["post"]["x-scope"] == "accounts:write"
    for path in ("/api/v1/payments/{payment_id}/refunds", "/api/v1/vouchers/redeem", "/api/v1/tasks/{task_id}/close",
                 "/api/v1/event-actions/{action_id}", "/api/v1/report-runs/{run_id}"):
        assert path in document["paths"], path
    report = document["paths"]["/api/v1/reports/{report_code}"]["get"]
    assert report["parameters"][0]["schema"]["type"] == "string"
    assert set(report["responses"]["200"]["content"]) == {"application/json", "text/csv"} and "202" in report["responses"]
    assert "204" in document["paths"]["/api/v1/event-actions/{action_id}"]["delete"]["responses"]


def test_accounts_create_read_update(db, realm_a, api):
    client = api(realm_a)
    created = client.post("/accounts", {"username": "erin", "name": "Erin E", "email": "erin@example.com",
                                        "password": "erin-password"})
    assert created.status_code == 201, created.get_data(as_text=True)
    account = created.get_json()
    assert account["username"] == "erin" and account["status"] == "active" and "password" not in account
    assert client.get(f"/accounts/{account['id']}").get_json()["name"] == "Erin E"
    assert [a["username"] for a in client.get("/accounts?q=eri").get_json()["items"]] == ["erin"]
    changed = client.patch(f"/accounts/{account['id']}", {"status": "suspended", "phone": "+41 1"})
    assert changed.status_code == 200 and changed.get_json()["status"] == "suspended"
    assert changed.get_json()["email"] == "erin@example.com"  # untouched fields stay
    taken = client.post("/accounts", {"username": "erin", "name": "Again"})
    assert taken.status_code == 422 and taken.get_json()["errors"] == {"username": ["taken"]}
    bad = client.post("/accounts", {"username": "x", "name": "", "colour": "red"})
    assert bad.status_code == 422
    assert set(bad.get_json()["errors"]) == {"name", "colour"}
    assert client.post("/accounts", data=b"{not json", content_type="application/json").status_code == 400
    assert client.post("/accounts", data=b"username=x", content_type="text/plain").status_code == 415
    assert _count(db, realm_a, Account) == 1


def test_keys_scopes_and_revocation(db, realm_a, realm_b, api):
    client = api(realm_a, scopes=["accounts:read"])
    assert client.get("/accounts").status_code == 200
    denied = client.post("/accounts", {"username": "zed", "name": "Zed"})
    assert denied.status_code == 403 and denied.get_json()["error"] == "insufficient_scope"
    missing = client.get("/accounts", token="")
    assert missing.status_code == 401 and missing.headers["WWW-Authenticate"].startswith("Bearer")
    assert missing.get_json()["error"] == "unauthorized"
    assert client.get("/accounts", token=client.token[:-1] + "x").status_code == 401
    assert client.get("/accounts", headers={"X-API-Key": client.token}, token="").status_code == 200
    # A key only opens its own realm, whatever host it is sent to.
    assert client.get("/accounts", headers={}, token=client.token).status_code == 200
    elsewhere = api(realm_b)
    assert elsewhere.get("/accounts", token=client.token).status_code == 401
    with realm_context(realm_a.id):
        revoke_api_key(client.key_id)
        db.session.commit()
    assert client.get("/accounts").status_code == 401
    with realm_context(realm_a.id):
        assert db.session.get(ApiKey, client.key_id).last_used_at is not None


def test_keys_are_stored_hashed(db, realm_a, api):
    client = api(realm_a)
    rows = db.session.execute(text("SELECT prefix, key_hash, scopes FROM api_keys")).all()
    assert len(rows) == 1
    assert client.token not in " ".join(str(v) for v in rows[0])
    assert client.token.split("_", 2)[2] not in rows[0].key_hash  # the secret may hold "_" itself
    # The hash is bound to its realm: the same row copied to another realm does not verify.
    from app.services.api.keys import _verify

    assert _verify(rows[0].key_hash, client.token, realm_a.id)
    assert not _verify(rows[0].key_hash, client.token, realm_a.id + 1)


def test_other_realms_ids_are_not_found_and_nothing_changes(db, realm_a, realm_b, api, create_account):
    victim_id = create_account(realm_b, "victim", name="Victim", email="v@example.com").id
    with realm_context(realm_b.id):
        plan = save_plan(spec_from_mapping(DIALUP, source="t"), effective_from=date(2026, 1, 1))
        subscription = Subscription(account_id=victim_id, plan_version_id=plan.latest_version.id,
                                    status="active", starts_on=date(2026, 10, 1))
        db.session.add(subscription)
        db.session.flush()
        start_billing_run("2026-10")
        db.session.commit()
        invoice_id = db.session.scalar(select(Invoice.id))
        plan_id, subscription_id = plan.id, subscription.id
    client = api(realm_a)
    for path in (f"/accounts/{victim_id}", f"/plans/{plan_id}", f"/invoices/{invoice_id}",
                 f"/invoices/{invoice_id}/pdf", f"/invoices/{invoice_id}/xml", f"/subscriptions/{subscription_id}"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.get_json()["error"] == "not_found"
    assert client.patch(f"/accounts/{victim_id}", {"name": "Owned"}).status_code == 404
    assert client.get(f"/invoices?account_id={victim_id}").get_json()["items"] == []
    assert client.get(f"/subscriptions?account_id={victim_id}").get_json()["items"] == []
    with realm_context(realm_b.id):
        db.session.expire_all()
        assert db.session.get(Account, victim_id).name == "Victim"
    # The owner of the data sees it.
    owner = api(realm_b)
    assert owner.get(f"/invoices/{invoice_id}").get_json()["total"] == "20.0000"
    assert owner.get(f"/subscriptions/{subscription_id}").get_json()["plan_code"] == "dialup"


def test_idempotency_key_replays_and_refuses_another_body(db, realm_a, api):
    client = api(realm_a)
    body = {"username": "ida", "name": "Ida"}
    first = client.post("/accounts", body, headers={"Idempotency-Key": "k-1"})
    again = client.post("/accounts", {"name": "Ida", "username": "ida"}, headers={"Idempotency-Key": "k-1"})
    assert first.status_code == again.status_code == 201
    assert first.get_json() == again.get_json() and again.headers["Idempotent-Replayed"] == "true"
    other = client.post("/accounts", {"username": "ida2", "name": "Ida"}, headers={"Idempotency-Key": "k-1"})
    assert other.status_code == 422 and other.get_json()["error"] == "idempotency_key_reused"
    assert _count(db, realm_a, Account) == 1
    # Without the header the same body is a new request (refused: the username is taken).
    assert client.post("/accounts", body).status_code == 422
    # Keys are per API key: another key may use "k-1" for its own request.
    second = api(realm_a).post("/accounts", {"username": "olga", "name": "Olga"}, headers={"Idempotency-Key": "k-1"})
    assert second.status_code == 201 and second.get_json()["username"] == "olga"


def test_rate_limit_per_key(app, db, realm_a, api):
    client, other = api(realm_a, scopes=["accounts:read"]), api(realm_a, scopes=["accounts:read"])
    previous = app.config.get("API_RATE_LIMIT")
    app.config["API_RATE_LIMIT"] = "3 per minute"
    try:
        assert [client.get("/accounts").status_code for _ in range(3)] == [200, 200, 200]
        limited = client.get("/accounts")
        assert limited.status_code == 429 and limited.get_json()["error"] == "too_many_requests"
        assert other.get("/accounts").status_code == 200  # counted per key
    finally:
        if previous is None:
            app.config.pop("API_RATE_LIMIT")
        else:
            app.config["API_RATE_LIMIT"] = previous


def test_plans_import_yaml_and_json_and_read(db, realm_a, api):
    client = api(realm_a)
    created = client.post("/plans", data=PLAN_YAML.encode(), content_type="application/yaml")
    assert created.status_code == 201, created.get_data(as_text=True)
    plan = created.get_json()
    assert plan["code"] == "jet-mixed" and plan["plan"]["bands"][1] == {"unit": "MB", "max_usage": "150", "price": "0.10"}
    assert client.post("/plans", DIALUP).status_code == 201
    assert [p["code"] for p in client.get("/plans").get_json()["items"]] == ["dialup", "jet-mixed"]
    assert client.get(f"/plans/{plan['id']}").get_json()["name"] == "Mixed time and traffic"
    broken = client.post("/plans", {**DIALUP, "code": "broken", "bands": [{"unit": "parsec", "max_usage": "0", "price": 0.5}]})
    assert broken.status_code == 422
    paths = {p["path"] for p in broken.get_json()["problems"]}
    assert {"bands[0].unit", "bands[0].price"} <= paths
    assert _count(db, realm_a, Plan) == 2


def test_quote_has_the_rate_json_shape(app, db, realm_a, api, tmp_path):
    client = api(realm_a, scopes=["quotes", "plans:write"])
    client.post("/plans", data=PLAN_YAML.encode(), content_type="application/yaml")
    quoted = client.post("/quotes", {"plan_code": "jet-mixed", "usage": {"MB": "700", "hour": "2"}})
    assert quoted.status_code == 200, quoted.get_data(as_text=True)
    plan_file = tmp_path / "plan.yaml"
    plan_file.write_text(PLAN_YAML)
    cli = app.test_cli_runner().invoke(args=["rate", "--plan-file", str(plan_file), "--usage", "MB=700",
                                             "--usage", "hour=2", "--json"])
    assert quoted.get_json() == json.loads(cli.output)
    assert quoted.get_json()["total"] == "215.00"
    inline = client.post("/quotes", {"plan": DIALUP, "usage": {"minute": "100"}, "with_setup": True})
    assert inline.get_json()["total"] == "25.00"
    assert client.post("/quotes", {"plan_code": "nope"}).status_code == 404
    assert client.post("/quotes", {"plan_code": "jet-mixed", "usage": {"parsec": "1"}}).status_code == 422
    assert client.post("/quotes", {"usage": {}}).status_code == 422


def test_usage_batch_is_idempotent_and_reports_each_record(db, realm_a, realm_b, api, create_account):
    create_account(realm_a, "uma")
    create_account(realm_b, "uma")  # same name elsewhere: never attributed from realm A
    client = api(realm_a, scopes=["usage:write"])
    records = [
        {"id": "r1", "username": "uma", "event_time": "2026-10-05T10:00:00Z", "duration_s": 60, "bytes_in": 10},
        {"id": "r2", "username": "uma", "event_time": "2026-10-05T11:00:00+02:00", "bytes_out": 20},
        {"id": "r3", "username": "nobody", "event_time": "2026-10-05T12:00:00Z"},
        {"id": "r4", "username": "uma", "event_time": "yesterday"},
        {"id": "r1", "username": "uma", "event_time": "2026-10-05T10:00:00Z", "duration_s": 60, "bytes_in": 10},
    ]
    first = client.post("/usage/batch", {"records": records})
    assert first.status_code == 200, first.get_data(as_text=True)
    result = first.get_json()
    assert (result["accepted"], result["duplicates"], result["rejected"]) == (2, 1, 2)
    assert {(e["index"], e["code"]) for e in result["errors"]} == {(2, "unknown_account"), (3, "bad_timestamp")}
    again = client.post("/usage/batch", {"records": records[:2]}).get_json()
    assert (again["accepted"], again["duplicates"], again["rejected"]) == (0, 2, 0)
    with realm_context(realm_a.id):
        assert db.session.scalar(select(func.count()).select_from(UsageRecord)) == 2
    # Another realm may use the same record ids: they are its own.
    create_account(realm_b, "bea")
    other = api(realm_b, scopes=["usage:write"]).post("/usage/batch", {"records": [
        {"id": "r1", "username": "bea", "event_time": "2026-10-05T10:00:00Z", "duration_s": 5}]})
    assert other.get_json()["accepted"] == 1
    too_many = client.post("/usage/batch", {"records": [{"id": str(i), "event_time": "x"} for i in range(10_001)]})
    assert too_many.status_code == 422 and too_many.get_json()["errors"] == {"records": ["too_many"]}


def test_invoices_and_subscriptions_read(db, realm_a, api, create_account):
    account_id = create_account(realm_a, "ivy").id
    with realm_context(realm_a.id):
        plan = save_plan(spec_from_mapping(DIALUP, source="t"), effective_from=date(2026, 1, 1))
        db.session.add(Subscription(account_id=account_id, plan_version_id=plan.latest_version.id,
                                    status="active", starts_on=date(2026, 10, 1)))
        db.session.flush()
        start_billing_run("2026-10")
        db.session.commit()
    client = api(realm_a, scopes=["invoices:read", "subscriptions:read"])
    preview = client.get(f"/accounts/{account_id}/invoice-preview").get_json()
    assert preview["account_id"] == account_id and preview["currency"] == "USD"
    assert [line["kind"] for line in preview["lines"]][:1] == ["recurring"]
    items = client.get(f"/invoices?account_id={account_id}").get_json()["items"]
    assert len(items) == 1 and items[0]["number"] == "INV-000001"
    invoice = client.get(f"/invoices/{items[0]['id']}").get_json()
    assert invoice["lines"][0]["kind"] == "recurring"
    assert sum(float(line["amount"]) for line in invoice["lines"]) == float(invoice["total"])
    subs = client.get("/subscriptions").get_json()["items"]
    assert [(s["account_id"], s["plan_code"], s["status"]) for s in subs] == [(account_id, "dialup", "active")]
    assert client.get("/invoices/999999").status_code == 404
    assert client.get("/nothing/here").status_code == 404
    assert client.get("/nothing/here").get_json()["error"] == "not_found"


def test_invoice_pdf(db, realm_a, api, create_account):
    pytest.importorskip("app.services.documents.invoices")
    account_id = create_account(realm_a, "pia").id
    with realm_context(realm_a.id):
        plan = save_plan(spec_from_mapping(DIALUP, source="t"), effective_from=date(2026, 1, 1))
        db.session.add(Subscription(account_id=account_id, plan_version_id=plan.latest_version.id,
                                    status="active", starts_on=date(2026, 10, 1)))
        db.session.flush()
        start_billing_run("2026-10")
        db.session.commit()
        invoice_id = db.session.scalar(select(Invoice.id))
    response = api(realm_a, scopes=["invoices:read"]).get(f"/invoices/{invoice_id}/pdf")
    assert response.status_code == 200 and response.data.startswith(b"%PDF")
    assert response.mimetype == "application/pdf"


def test_console_creates_shows_once_and_revokes(db, realm_a, realm_client):
    client = realm_client(realm_a)
    client.login_staff("owner@alpha.example")
    page = client.post("/console/api-keys", {"name": "Billing sync", "scopes": ["accounts:read", "quotes"]})
    assert page.status_code == 201 and page.headers["Cache-Control"] == "no-store"
    html = page.get_data(as_text=True)
    token = html.split('<code id="new-api-key">')[1].split("</code>")[0]
    assert token.startswith("rb_")
    listing = client.get("/console/api-keys").get_data(as_text=True)
    assert "Billing sync" in listing and token not in listing
    with realm_context(realm_a.id):
        key = db.session.scalar(select(ApiKey))
        assert key.scope_list == ["accounts:read", "quotes"]
    assert client.post("/console/api-keys", {"name": "", "scopes": []}).status_code == 422
    assert client.post(f"/console/api-keys/{key.id}/revoke").status_code == 303
    with realm_context(realm_a.id):
        db.session.expire_all()
        assert db.session.get(ApiKey, key.id).revoked_at is not None
    assert "revoked" in client.get("/console/api-keys").get_data(as_text=True)


def test_usage_batch_of_ten_thousand_records(db, realm_a, api, create_account):
    create_account(realm_a, "bulk")
    client = api(realm_a, scopes=["usage:write"])
    records = [{"id": f"b{i}", "username": "bulk", "event_time": "2026-10-05T10:00:00Z", "bytes_in": i}
               for i in range(10_000)]
    first = client.post("/usage/batch", {"records": records}).get_json()
    assert (first["accepted"], first["duplicates"], first["rejected"]) == (10_000, 0, 0)
    replay = client.post("/usage/batch", {"records": records}).get_json()
    assert (replay["accepted"], replay["duplicates"]) == (0, 10_000)
    with realm_context(realm_a.id):
        assert db.session.scalar(select(func.sum(UsageRecord.bytes_in))) == sum(range(10_000))


def test_cli_creates_lists_and_revokes_keys(app, db, realm_a, api):
    runner = app.test_cli_runner()
    created = runner.invoke(args=["api-key", "create", "--realm", "alpha", "--name", "sync",
                                  "--scope", "accounts:read"], catch_exceptions=False)
    assert created.exit_code == 0, created.output
    key_id, token = created.stdout.split()[2], created.stdout.split()[-1]
    client = api(realm_a)
    assert client.get("/accounts", token=token).status_code == 200
    listing = runner.invoke(args=["api-key", "list", "--realm", "alpha"]).output
    assert "sync" in listing and "accounts:read" in listing and token not in listing
    assert runner.invoke(args=["api-key", "revoke", "--realm", "alpha", key_id]).exit_code == 0
    assert client.get("/accounts", token=token).status_code == 401
    bad = runner.invoke(args=["api-key", "create", "--realm", "alpha", "--name", "x", "--scope", "root"])
    assert bad.exit_code == 1 and "scopes: unknown" in bad.output


def test_stored_responses_are_forgotten_after_a_day(app, db, realm_a, api):
    from datetime import UTC, datetime, timedelta

    from app.models.api import IdempotencyRecord
    from workers.scheduler import TASKS

    client = api(realm_a)
    client.post("/accounts", {"username": "old", "name": "Old"}, headers={"Idempotency-Key": "k"})
    with realm_context(realm_a.id):
        db.session.execute(IdempotencyRecord.__table__.update().values(
            created_at=datetime.now(UTC) - timedelta(hours=25)))
        db.session.commit()
    assert "api-idempotency-sweep" in TASKS
    assert TASKS["api-idempotency-sweep"].func() == 1
    assert _count(db, realm_a, IdempotencyRecord) == 0
    # The key is free again: the same request now runs anew (and is refused: the name is taken).
    assert client.post("/accounts", {"username": "old", "name": "Old"},
                       headers={"Idempotency-Key": "k"}).status_code == 422


def test_realms_for_provider_keys_only(db, provider_realm, realm_a, api):
    provider = api(provider_realm, host="localhost")
    slugs = [r["slug"] for r in provider.get("/realms").get_json()["items"]]
    assert {"provider", "alpha"} <= set(slugs)
    assert provider.get(f"/realms/{realm_a.id}").get_json()["parent_id"] == provider_realm.id
    visp = api(realm_a)
    assert visp.get("/realms").status_code == 403
    assert visp.get(f"/realms/{provider_realm.id}").status_code == 403
