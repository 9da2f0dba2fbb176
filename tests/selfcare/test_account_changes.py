"""Self-care changes: password (current one required, strength rule, rate limit, event and
provisioning) and plan (HTMX proration preview, only offered plans, confirm to switch)."""

from __future__ import annotations

import shlex
import sys
import textwrap
from datetime import UTC, datetime

from sqlalchemy import select

from tenants import realm_context

NEW = "Brand-new-pass-7"


def _events(db, realm, event_type):
    from app.models import Event

    with realm_context(realm.id):
        return list(db.session.scalars(select(Event).where(Event.type == event_type).order_by(Event.id)))


def _change(client, current, new, confirm=None):
    return client.post("/password", {"current_password": current, "new_password": new,
                                     "confirm_password": new if confirm is None else confirm})


def test_password_change_needs_the_current_password_and_a_strong_new_one(db, portal, signed_in, realm_client):
    refused = {
        ("wrong-password", NEW, None): "Your current password is not correct.",
        (portal.password, "short1", None): "Too short (at least 10 characters).",
        (portal.password, "onlyletterslong", None): "Use letters and at least one digit or symbol.",
        (portal.password, "sam-1234567890", None): "must not contain your user name",
        (portal.password, portal.password, None): "different from your current one",
        (portal.password, NEW, "Brand-new-pass-8"): "do not match",
    }
    for (current, new, confirm), message in refused.items():
        response = _change(signed_in, current, new, confirm)
        assert response.status_code == 422, message
        assert message in response.get_data(as_text=True)
        assert NEW not in response.get_data(as_text=True)  # never shown back
    assert _events(db, portal.realm, "account.password_changed") == []

    done = _change(signed_in, portal.password, NEW)
    assert done.status_code == 303 and done.headers["Location"].endswith("/password?changed=1")
    assert "Your password has been changed" in signed_in.get("/password?changed=1").get_data(as_text=True)
    [event] = _events(db, portal.realm, "account.password_changed")
    assert event.account_id == portal.id and NEW not in str(event.data)

    fresh = realm_client(portal.realm)
    assert fresh.post("/login", {"username": "sam", "password": portal.password}).status_code == 401
    fresh.login_subscriber("sam", NEW)


def test_password_change_is_pushed_to_the_provisioned_service(db, portal, signed_in, tmp_path):
    """The event's reaction queues a change_password operation, run by the real cli adapter."""
    from app.models import Plan
    from app.models.provisioning import Operation
    from app.services.provisioning import services
    from app.services.provisioning.modules import save_module

    script = tmp_path / "provision.py"
    script.write_text(textwrap.dedent("""
        import pathlib, sys
        log = pathlib.Path(sys.argv[1])
        log.write_text((log.read_text() if log.exists() else "") + " ".join(sys.argv[2:]) + "\\n")
    """))
    log = tmp_path / "calls.log"

    def command(*args):
        return " ".join([shlex.quote(sys.executable), shlex.quote(str(script)), shlex.quote(str(log)), *args])

    settings = {f"command_{op}": command(op, "{{ username }}") for op in
                ("create", "suspend", "resume", "delete", "update_details", "change_plan")}
    settings["command_change_password"] = command("change_password", "{{ username }}", "{{ password }}")
    settings["command_check"] = f"{shlex.quote(sys.executable)} -c pass"
    with realm_context(portal.realm.id):
        module = save_module(name="Local users", adapter="cli", settings=settings)
        plan = db.session.get(Plan, portal.plans.basic)
        plan.processing_module_id = module.id
        service = services.order_service(account_id=portal.id, plan_id=plan.id)
        services.mark_paid(service.id)
        db.session.commit()
        service_id = service.id
    assert _change(signed_in, portal.password, NEW).status_code == 303
    assert log.read_text().splitlines() == ["create sam", f"change_password sam {NEW}"]
    with realm_context(portal.realm.id):
        kinds = [(o.kind, o.status) for o in db.session.scalars(
            select(Operation).where(Operation.service_id == service_id).order_by(Operation.id))]
    assert kinds == [("create", "succeeded"), ("change_password", "succeeded")]


def test_password_attempts_are_rate_limited(db, portal, signed_in):
    for _ in range(5):
        assert _change(signed_in, "wrong-password", NEW).status_code == 422
    limited = _change(signed_in, portal.password, NEW)
    assert limited.status_code == 429
    assert "Too many attempts" in limited.get_data(as_text=True)
    assert 'id="password-form"' in limited.get_data(as_text=True)
    assert _events(db, portal.realm, "account.password_changed") == []


def _current_plan(db, portal):
    from app.services.selfcare import current_subscription

    with realm_context(portal.realm.id):
        db.session.expire_all()
        return current_subscription(portal.id).plan_version.plan.code


def test_plan_page_offers_active_plans_in_the_same_currency(portal, signed_in):
    html = signed_in.get("/plan").get_data(as_text=True)
    assert 'id="current-plan">Basic 20<' in html
    assert f'id="plan-{portal.plans.fast}"' in html and "50.00 USD / monthly" in html
    assert f'id="plan-{portal.plans.basic}"' not in html  # the current one
    assert f'id="plan-{portal.plans.euro}"' not in html   # another currency
    assert 'hx-get="/plan/preview"' in html


def test_plan_preview_fragment_shows_the_proration(db, portal, signed_in, make_invoice):
    from app.services.subscriptions import preview_plan_change

    # The current month is invoiced already: the preview credits and charges the rest of it.
    today = datetime.now(UTC).date()
    make_invoice(portal.realm, portal.id, "20.00", issued=today.replace(day=1),
                 period_key=today.replace(day=1).isoformat())
    with realm_context(portal.realm.id):
        from app.services.selfcare import current_subscription

        expected = preview_plan_change(current_subscription(portal.id).id, plan_id=portal.plans.fast)
    response = signed_in.get(f"/plan/preview?plan_id={portal.plans.fast}", headers={"HX-Request": "true"})
    assert response.status_code == 200 and "HX-Request" in response.headers["Vary"]
    html = response.get_data(as_text=True)
    assert "<html" not in html and 'id="plan-preview"' in html
    assert "Switching to Fast 100 today" in html
    assert f"data-total>{expected.total:.2f} USD<" in html
    assert len(expected.lines) == 2 and "Credit for the unused part of Basic 20" in html
    assert _current_plan(db, portal) == "basic"  # a preview writes nothing

    for plan_id in (portal.plans.euro, portal.plans.basic, 999999):
        refused = signed_in.get(f"/plan/preview?plan_id={plan_id}", headers={"HX-Request": "true"})
        assert "This plan cannot be chosen here." in refused.get_data(as_text=True)


def test_plan_change_needs_confirmation_and_raises_the_event(db, portal, signed_in):
    shown = signed_in.post("/plan", {"plan_id": str(portal.plans.fast), "confirm": "0"})
    assert shown.status_code == 200 and "Switching to Fast 100 today" in shown.get_data(as_text=True)
    assert _current_plan(db, portal) == "basic"

    refused = signed_in.post("/plan", {"plan_id": str(portal.plans.euro), "confirm": "1"})
    assert refused.status_code == 422 and "This plan cannot be chosen here." in refused.get_data(as_text=True)
    assert _current_plan(db, portal) == "basic"

    done = signed_in.post("/plan", {"plan_id": str(portal.plans.fast), "confirm": "1"})
    assert done.status_code == 303 and done.headers["Location"].endswith("/plan?changed=1")
    assert _current_plan(db, portal) == "fast"
    [event] = _events(db, portal.realm, "account.plan_changed")
    assert event.account_id == portal.id
    page = signed_in.get("/plan?changed=1").get_data(as_text=True)
    assert "Your plan has been changed." in page and 'id="current-plan">Fast 100<' in page
