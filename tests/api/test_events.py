"""API events: the event list, webhook actions (secret write-only), the delivery log."""

from __future__ import annotations

from sqlalchemy import select, text

from app.models.provisioning import ActionDelivery, EventAction
from tenants import realm_context

from . import factories

SECRET = "s3cret-signing-key-0123456789"


def test_events_filtered_by_type_and_account(db, realm_a, realm_b, api, create_account):
    alice, bob = create_account(realm_a, "alice").id, create_account(realm_a, "bob").id
    with realm_context(realm_a.id):
        first = factories.event(alice).id
        second = factories.event(bob, "payment.received").id
        db.session.commit()
    with realm_context(realm_b.id):
        factories.event(None)
        db.session.commit()
    client = api(realm_a, scopes=["events:read"])
    ids = [e["id"] for e in client.get("/events").get_json()["items"]]
    assert set(ids) >= {first, second} and len(ids) == len(set(ids))
    assert all(e["type"] == "payment.received"
               for e in client.get("/events?type=payment.received").get_json()["items"])
    assert [e["id"] for e in client.get(f"/events?account_id={alice}").get_json()["items"]
            if e["type"] == "account.created" and e["data"] == {"factory": True}] == [first]
    assert client.get(f"/events/{second}").get_json()["account_id"] == bob
    assert client.get("/events?type=nonsense").status_code == 422


def test_webhook_actions_secret_is_write_only(db, realm_a, api):
    client = api(realm_a, scopes=["events:read", "events:write"])
    defaults = client.get("/event-actions").get_json()["items"]
    assert {a["kind"] for a in defaults} >= {"email", "suspend"} and all(a["default"] for a in defaults)
    body = {"event_type": "invoice.issued", "name": "ERP", "url": "https://erp.example.com/hook", "secret": SECRET}
    created = client.post("/event-actions", body)
    assert created.status_code == 201, created.get_data(as_text=True)
    action = created.get_json()
    assert action["kind"] == "webhook" and action["secret_set"] is True
    assert action["config"] == {"url": "https://erp.example.com/hook"}
    for response in (created, client.get(f"/event-actions/{action['id']}"), client.get("/event-actions")):
        assert SECRET not in response.get_data(as_text=True)
    with realm_context(realm_a.id):  # encrypted at rest
        raw = db.session.execute(text("SELECT secret_enc FROM event_actions WHERE id = :id"),
                                 {"id": action["id"]}).scalar()
        assert raw and SECRET not in raw
    listed = client.get("/event-actions?event_type=invoice.issued").get_json()["items"]
    assert [a["id"] for a in listed] == [action["id"]]

    bad = client.post("/event-actions", {**body, "url": "ftp://x.example", "secret": "short"})
    assert bad.status_code == 422 and set(bad.get_json()["errors"]) == {"url", "secret"}

    assert client.request("DELETE", f"/event-actions/{action['id']}").status_code == 204
    assert client.get(f"/event-actions/{action['id']}").status_code == 404
    default_id = defaults[0]["id"]
    assert client.request("DELETE", f"/event-actions/{default_id}").status_code == 204
    assert client.get(f"/event-actions/{default_id}").get_json()["enabled"] is False
    assert api(realm_a, scopes=["events:read"]).post("/event-actions", body).status_code == 403


def test_delivery_log(db, realm_a, api, create_account):
    account_id = create_account(realm_a, "dee").id
    with realm_context(realm_a.id):
        action = factories.webhook_action()
        event = factories.event(account_id, "payment.received")
        db.session.add(ActionDelivery(action_id=action.id, event_id=event.id, status="failed", attempts=8,
                                      response_status=500, last_error="HTTP 500"))
        db.session.commit()
        assert db.session.scalar(select(EventAction.id).where(EventAction.id == action.id))
    items = api(realm_a, scopes=["events:read"]).get("/webhook-deliveries").get_json()["items"]
    assert [(d["status"], d["response_status"], d["attempts"]) for d in items] == [("failed", 500, 8)]
