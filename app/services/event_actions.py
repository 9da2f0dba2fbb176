"""Event triggers: what a realm does when an event happens.

Action kinds:
- ``email``: a Jinja template (sandboxed, one subject/body per locale, previewable) mailed
  to the account;
- ``operation``: queue a provisioning operation for each of the account's services;
- ``webhook``: POST the event as JSON to a URL, signed with HMAC-SHA256 over
  ``"<timestamp>." + raw body`` (headers ``X-Realmbill-Timestamp`` and
  ``X-Realmbill-Signature: sha256=<hex>``), TLS verified, retried with backoff, each call
  in the delivery log; the signing secret is encrypted at rest;
- ``command``: a command line run through the ``cli`` provisioning adapter (no shell);
- ``suspend``: suspend the account (the default reaction to an overdue invoice).

Defaults shipped with every realm (created the first time they are needed and never
re-created once changed): a welcome e-mail on account creation, quota warnings at 80 %
and 100 %, and suspension on an overdue invoice. Deleting a default only disables it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import ssl
import time
from datetime import timedelta
from urllib.parse import urlsplit

from flask import current_app
from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import Account
from app.models.base import utcnow
from app.models.events import EVENT_TYPES, Event
from app.models.provisioning import ACTION_KINDS, OPERATION_KINDS, ActionDelivery, EventAction
from app.models.realm import Realm
from app.security.secrets import secret_box
from tenants import require_realm_id

from .errors import FieldErrors, Invalid, NotFound
from .lookups import get_or_not_found
from .uow import after_commit

log = logging.getLogger(__name__)

LOCALES = ("en", "de")
MAX_DELIVERY_ATTEMPTS = 8
BACKOFF_BASE_SECONDS = 30
BACKOFF_MAX_SECONDS = 3600
WEBHOOK_TIMEOUT = 10
ALL_KINDS = (*ACTION_KINDS, "suspend")

DEFAULT_ACTIONS = {
    "welcome": {
        "event_type": "account.created", "kind": "email", "name": "Welcome e-mail",
        "config": {
            "subject": {"en": "Welcome to {{ realm.name }}", "de": "Willkommen bei {{ realm.name }}"},
            "body": {
                "en": "Hello {{ account.name }},\n\nwelcome to {{ realm.name }}. Your user name is "
                      "{{ account.username }} and your customer number {{ account.number }}.\n\n{{ realm.name }}",
                "de": "Hallo {{ account.name }},\n\nwillkommen bei {{ realm.name }}. Ihr Benutzername ist "
                      "{{ account.username }}, Ihre Kundennummer {{ account.number }}.\n\n{{ realm.name }}",
            },
        },
    },
    "quota80": {
        "event_type": "quota.threshold", "kind": "email", "name": "Quota warning (80 %)",
        "config": {
            "min_percent": 80, "below_percent": 100,
            "subject": {"en": "You have used {{ data.percent }} % of your quota",
                        "de": "Sie haben {{ data.percent }} % Ihres Kontingents verbraucht"},
            "body": {
                "en": "Hello {{ account.name }},\n\nyou have used {{ data.percent }} % of your "
                      "{{ data.unit | default('') }} quota.\n\n{{ realm.name }}",
                "de": "Hallo {{ account.name }},\n\nSie haben {{ data.percent }} % Ihres "
                      "{{ data.unit | default('') }}-Kontingents verbraucht.\n\n{{ realm.name }}",
            },
        },
    },
    "quota100": {
        "event_type": "quota.exhausted", "kind": "email", "name": "Quota used up (100 %)",
        "config": {
            "subject": {"en": "Your quota is used up", "de": "Ihr Kontingent ist aufgebraucht"},
            "body": {
                "en": "Hello {{ account.name }},\n\nyou have used 100 % of your "
                      "{{ data.unit | default('') }} quota.\n\n{{ realm.name }}",
                "de": "Hallo {{ account.name }},\n\nSie haben 100 % Ihres "
                      "{{ data.unit | default('') }}-Kontingents verbraucht.\n\n{{ realm.name }}",
            },
        },
    },
    "overdue_suspend": {
        "event_type": "invoice.overdue", "kind": "suspend", "name": "Suspend on overdue invoice",
        "config": {},
    },
}


# ------------------------------------------------------------------ configuration
def _secret_context(realm_id: int) -> str:
    return f"realm:{realm_id}:event_action.webhook_secret"


def ensure_default_actions() -> None:
    """Create the shipped default actions of the current realm once (race-safe)."""
    realm_id = require_realm_id()
    have = set(db.session.scalars(select(EventAction.default_key).where(EventAction.default_key.is_not(None))))
    for key, spec in DEFAULT_ACTIONS.items():
        if key in have:
            continue
        try:
            with db.session.begin_nested():
                db.session.add(EventAction(realm_id=realm_id, default_key=key, enabled=True,
                                           event_type=spec["event_type"], kind=spec["kind"],
                                           name=spec["name"], config=json.loads(json.dumps(spec["config"]))))
        except IntegrityError:  # created at the same moment by another job
            continue


def list_actions(*, event_type: str | None = None) -> list[EventAction]:
    ensure_default_actions()
    query = select(EventAction).order_by(EventAction.event_type, EventAction.id)
    if event_type:
        query = query.where(EventAction.event_type == event_type)
    return list(db.session.scalars(query))


def get_action(action_id: int) -> EventAction:
    return get_or_not_found(EventAction, action_id, "event_action")


def webhook_secret_set(action: EventAction) -> bool:
    return bool(action.secret_enc)


def _check_template(errors: FieldErrors, field: str, source: str) -> None:
    try:
        _env().parse(source or "")
    except TemplateError:
        errors.add(field, "invalid_template")


def save_action(
    action_id: int | None = None,
    *,
    event_type: str,
    kind: str,
    name: str,
    enabled: bool = True,
    config: dict | None = None,
    webhook_secret: str | None = None,
) -> EventAction:
    """Create or update an action. A blank ``webhook_secret`` keeps the stored one."""
    realm_id = require_realm_id()
    action = get_action(action_id) if action_id is not None else None
    config = dict(config or {})
    errors = FieldErrors()
    errors.require("name", name)
    if event_type not in EVENT_TYPES:
        errors.add("event_type", "unknown")
    if kind not in ALL_KINDS:
        errors.add("kind", "unknown")
    clean: dict = {}
    for key in ("min_percent", "below_percent"):
        if config.get(key) not in (None, ""):
            try:
                clean[key] = int(config[key])
                if not 0 <= clean[key] <= 1000:
                    raise ValueError
            except (TypeError, ValueError):
                errors.add(key, "invalid")
    if action is not None and action.default_key and "below_percent" in (action.config or {}) \
            and "below_percent" not in config:
        clean["below_percent"] = action.config["below_percent"]
    if kind == "email":
        clean["subject"], clean["body"] = {}, {}
        for locale in LOCALES:
            subject = ((config.get("subject") or {}).get(locale) or "").strip()
            body = (config.get("body") or {}).get(locale) or ""
            if subject or body:
                _check_template(errors, f"subject_{locale}", subject)
                _check_template(errors, f"body_{locale}", body)
                clean["subject"][locale], clean["body"][locale] = subject, body
        if not clean["subject"]:
            errors.add("subject_en", "required")
    elif kind == "operation":
        if config.get("operation") not in OPERATION_KINDS:
            errors.add("operation", "unknown")
        clean["operation"] = config.get("operation")
    elif kind == "webhook":
        url = (config.get("url") or "").strip()
        parts = urlsplit(url)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            errors.add("url", "invalid")
        clean["url"] = url
        if not webhook_secret and not (action and action.secret_enc):
            errors.add("webhook_secret", "required")
    elif kind == "command":
        command = (config.get("command") or "").strip()
        errors.require("command", command)
        if command:
            _check_template(errors, "command", command)
        clean["command"] = command
        try:
            clean["timeout"] = int(config.get("timeout") or 30)
        except (TypeError, ValueError):
            errors.add("timeout", "invalid")
    errors.raise_if_any()
    if action is None:
        action = EventAction(realm_id=realm_id)
        db.session.add(action)
    action.event_type, action.kind, action.name = event_type, kind, name.strip()[:100]
    action.enabled = bool(enabled)
    action.config = clean
    if kind == "webhook" and webhook_secret:
        action.secret_enc = secret_box().encrypt(webhook_secret, context=_secret_context(realm_id))
    elif kind != "webhook":
        action.secret_enc = None
    db.session.flush()
    return action


def delete_action(action_id: int) -> None:
    """Delete an action; the shipped defaults are only disabled (so they stay gone)."""
    action = get_action(action_id)
    if action.default_key:
        action.enabled = False
    else:
        db.session.delete(action)
    db.session.flush()


# ------------------------------------------------------------------ e-mail templates
class _Env(SandboxedEnvironment):
    pass


def _env() -> SandboxedEnvironment:
    return _Env(undefined=StrictUndefined, autoescape=False)


def _template_context(event_type: str, account: Account | None, realm: Realm, data: dict) -> dict:
    account_vars = None
    if account is not None:
        account_vars = {"name": account.name, "username": account.username, "number": account.number,
                        "email": account.email or "", "status": account.status}
    return {"event": event_type, "account": account_vars or {}, "data": dict(data or {}),
            "realm": {"name": realm.name, "slug": realm.slug}}


def render_email(action: EventAction, *, locale: str, context: dict) -> tuple[str, str]:
    """(subject, body) in ``locale`` (falling back to English, then to any locale)."""
    subjects = action.config.get("subject") or {}
    bodies = action.config.get("body") or {}
    chosen = locale if locale in subjects else "en" if "en" in subjects else next(iter(subjects), None)
    if chosen is None:
        raise Invalid({"subject_en": ["required"]})
    env = _env()
    try:
        subject = env.from_string(subjects[chosen]).render(context)
        body = env.from_string(bodies.get(chosen) or "").render(context)
    except TemplateError as exc:
        raise Invalid({"template": [f"{type(exc).__name__}: {exc.message or ''}"]}) from None
    return " ".join(subject.split())[:300], body


def sample_context(event_type: str) -> dict:
    realm = db.session.get(Realm, require_realm_id())
    sample = {"percent": 80, "unit": "MB", "reason": "overdue", "invoice_number": "INV-000042",
              "amount": "42.00", "service_id": 1}
    account = Account(name="Alice Example", username="alice", number="A000042",
                      email="alice@example.org", status="active")
    return _template_context(event_type, account, realm, sample)


def preview_action(action_id: int, *, locale: str) -> tuple[str, str]:
    action = get_action(action_id)
    return render_email(action, locale=locale, context=sample_context(action.event_type))


# ------------------------------------------------------------------ running
def run_actions(event: Event) -> None:
    """Run every enabled action the realm attached to ``event.type``."""
    ensure_default_actions()
    actions = list(db.session.scalars(
        select(EventAction).where(EventAction.event_type == event.type, EventAction.enabled.is_(True))
        .order_by(EventAction.id)
    ))
    if not actions:
        return
    account = db.session.get(Account, event.account_id) if event.account_id else None
    realm = db.session.get(Realm, event.realm_id)
    for action in actions:
        minimum, below = action.config.get("min_percent"), action.config.get("below_percent")
        if minimum is not None or below is not None:
            try:
                percent = float((event.data or {}).get("percent", 0))
            except (TypeError, ValueError):
                continue
            if (minimum is not None and percent < minimum) or (below is not None and percent >= below):
                continue
        RUNNERS[action.kind](action, event, account, realm)


def _run_email(action: EventAction, event: Event, account: Account | None, realm: Realm) -> None:
    from .mail import send_mail

    if account is None or not account.email:
        return
    locale = account.locale or realm.locale or "en"
    subject, body = render_email(action, locale=locale,
                                 context=_template_context(event.type, account, realm, event.data))
    send_mail(to=account.email, subject=subject, text=body, realm=realm.id,
              dedupe_key=f"event-{event.id}-action-{action.id}")


def _run_operation(action: EventAction, event: Event, account: Account | None, realm: Realm) -> None:
    from .provisioning.operations import queue_operation
    from .provisioning.services import account_services

    if account is None:
        return
    for service in account_services(account.id, ("active", "suspended", "in_progress")):
        queue_operation(service.id, action.config["operation"], reason=f"{event.type} ({action.name})"[:200])


def _run_suspend(action: EventAction, event: Event, account: Account | None, realm: Realm) -> None:
    from .accounts import suspend_account

    if account is None or account.status != "active":
        return
    suspend_account(account.id, reason=event.type)


def _run_command(action: EventAction, event: Event, account: Account | None, realm: Realm) -> None:
    """Run the configured command line through the cli adapter; failures raise (the event
    job fails and is retried; the error is kept on the event)."""
    from provisioning_adapters.base import ServiceSpec, load_adapters

    cli = load_adapters().get("cli")
    if cli is None:
        raise RuntimeError("the cli adapter is not installed")
    adapter = cli({"timeout": action.config.get("timeout") or 30,
                   "command_update_details": action.config["command"]})
    spec = ServiceSpec(
        username=account.username if account else "event", realm=realm.slug,
        details={"event": event.type, "event_id": event.id,
                 **{f"data_{k}": v for k, v in (event.data or {}).items()},
                 **({"name": account.name, "email": account.email or ""} if account else {})},
    )
    adapter.apply("update_details", spec)


def _run_webhook(action: EventAction, event: Event, account: Account | None, realm: Realm) -> None:
    existing = db.session.scalar(select(ActionDelivery).where(
        ActionDelivery.action_id == action.id, ActionDelivery.event_id == event.id))
    if existing is not None:
        return
    delivery = ActionDelivery(action_id=action.id, event_id=event.id, status="pending", attempts=0,
                              next_attempt_at=utcnow())
    db.session.add(delivery)
    db.session.flush()
    _enqueue_delivery(delivery)


RUNNERS = {"email": _run_email, "operation": _run_operation, "webhook": _run_webhook,
           "command": _run_command, "suspend": _run_suspend}


# ------------------------------------------------------------------ webhooks
def _enqueue_delivery(delivery: ActionDelivery) -> None:
    realm_id, delivery_id, attempt = delivery.realm_id, delivery.id, delivery.attempts

    def run() -> None:
        from workers.events import deliver_webhook_job
        from workers.queues import enqueue

        enqueue(deliver_webhook_job, realm_id, delivery_id, queue="default",
                job_id=f"webhook-{delivery_id}-{attempt}", retries=0)

    after_commit(run)


def webhook_body(event: Event) -> bytes:
    payload = {"id": event.id, "type": event.type, "realm": event.realm_id,
               "account_id": event.account_id, "created_at": event.created_at.isoformat(),
               "data": event.data or {}}
    return json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=<hex>`` of HMAC-SHA256(secret, timestamp + "." + body)."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def _tls_context() -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=current_app.config.get("WEBHOOK_CA_FILE"))
    context.check_hostname = True
    context.verify_mode = ssl.CERT_REQUIRED
    return context


def _post(url: str, body: bytes, headers: dict) -> int:
    import urllib.error
    import urllib.request

    if urlsplit(url).scheme not in ("http", "https"):
        raise ValueError("webhook URLs must be http or https")
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
    context = _tls_context() if url.lower().startswith("https:") else None
    try:
        with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT, context=context) as response:  # noqa: S310
            response.read(1024)
            return response.status
    except urllib.error.HTTPError as exc:
        exc.close()
        return exc.code


def deliver_webhook(delivery_id: int, *, now=None) -> ActionDelivery:
    """One delivery attempt; delivered ones are never sent again. Failures are logged on the
    delivery and retried with exponential backoff by the scheduler's sweep."""
    now = now or utcnow()
    query = select(ActionDelivery).where(ActionDelivery.id == delivery_id)
    if db.session.connection().dialect.name == "postgresql":
        query = query.with_for_update()
    delivery = db.session.scalar(query)
    if delivery is None:
        raise NotFound("delivery")
    if delivery.status != "pending" or (delivery.next_attempt_at and delivery.next_attempt_at > now):
        return delivery
    action = delivery.action
    event = db.session.get(Event, delivery.event_id)
    body = webhook_body(event)
    timestamp = str(int(time.time()))
    secret = secret_box().decrypt(action.secret_enc, context=_secret_context(action.realm_id)) if action.secret_enc else ""
    headers = {"Content-Type": "application/json", "User-Agent": "Realmbill-Webhook/1",
               "X-Realmbill-Event": event.type, "X-Realmbill-Delivery": str(delivery.id),
               "X-Realmbill-Timestamp": timestamp, "X-Realmbill-Signature": sign(secret, timestamp, body)}
    delivery.attempts = (delivery.attempts or 0) + 1
    try:
        status = _post(action.config["url"], body, headers)
        error = None if 200 <= status < 300 else f"HTTP {status}"
        delivery.response_status = status
    except (OSError, ValueError) as exc:  # URLError, TLS failure, timeout
        reason = getattr(exc, "reason", exc)
        error = f"{type(exc).__name__}: {reason}"[:500]
    if error is None:
        delivery.status, delivery.delivered_at, delivery.last_error = "delivered", utcnow(), None
        delivery.next_attempt_at = None
    else:
        delivery.last_error = error
        if delivery.attempts >= MAX_DELIVERY_ATTEMPTS:
            delivery.status, delivery.next_attempt_at = "failed", None
        else:
            delay = min(BACKOFF_BASE_SECONDS * 2 ** (delivery.attempts - 1), BACKOFF_MAX_SECONDS)
            delivery.next_attempt_at = now + timedelta(seconds=delay)
    db.session.flush()
    return delivery


def retry_due_deliveries(*, now=None) -> list[int]:
    now = now or utcnow()
    due = list(db.session.scalars(select(ActionDelivery).where(
        ActionDelivery.status == "pending", ActionDelivery.next_attempt_at <= now).order_by(ActionDelivery.id)))
    for delivery in due:
        _enqueue_delivery(delivery)
    return [d.id for d in due]


def list_deliveries(*, limit: int = 100) -> list[ActionDelivery]:
    return list(db.session.scalars(select(ActionDelivery).order_by(ActionDelivery.id.desc()).limit(limit)))
