"""Services: what an account's plan provides through a processing module.

Lifecycle: ordered → paid → in_progress → active; active ⇄ suspended; cancelled (never
provisioned) or deleted. ``mark_paid`` moves an ordered service on and queues its
``create`` operation; the operation's success (or a closed manual task) activates it.
A plan without a module needs no provisioning: paying activates its service at once.
"""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import Account, Plan, Subscription
from app.models.base import utcnow
from app.models.provisioning import ProcessingModule, Service
from app.models.realm import Realm
from app.security.secrets import secret_box
from provisioning_adapters.base import ServiceSpec
from tenants import require_realm_id

from ..errors import NotAllowed
from ..lookups import get_or_not_found

OPEN_STATUSES = ("ordered", "paid", "in_progress", "active", "suspended")
# The state the providing system should show after each operation.
SPEC_STATUS = {"create": "active", "resume": "active", "suspend": "suspended", "delete": "deleted"}


def get_service(service_id: int) -> Service:
    return get_or_not_found(Service, service_id, "service")


def list_services(*, account_id: int | None = None, status: str | None = None, limit: int = 200) -> list[Service]:
    query = select(Service).order_by(Service.id.desc()).limit(limit)
    if account_id is not None:
        query = query.where(Service.account_id == account_id)
    if status:
        query = query.where(Service.status == status)
    return list(db.session.scalars(query))


def account_services(account_id: int, statuses: tuple[str, ...]) -> list[Service]:
    return list(db.session.scalars(
        select(Service).where(Service.account_id == account_id, Service.status.in_(statuses))
        .order_by(Service.id)
    ))


def order_service(*, account_id: int, plan_id: int, subscription_id: int | None = None) -> Service:
    """A new service for ``plan_id`` (idempotent per subscription). Refused when the plan's
    module is disabled: a disabled module takes no new services."""
    require_realm_id()
    account = get_or_not_found(Account, account_id, "account")
    plan = get_or_not_found(Plan, plan_id, "plan")
    if subscription_id is not None:
        existing = db.session.scalar(select(Service).where(Service.subscription_id == subscription_id))
        if existing is not None:
            return existing
    module = None
    if plan.processing_module_id is not None:
        from .modules import get_module

        module = get_module(plan.processing_module_id)
        if not module.enabled:
            raise NotAllowed("module_disabled")
    service = Service(account_id=account.id, plan_id=plan.id, subscription_id=subscription_id,
                      module_id=module.id if module else None, status="ordered", details={})
    db.session.add(service)
    db.session.flush()
    return service


def order_service_for_subscription(subscription_id: int) -> Service:
    subscription = get_or_not_found(Subscription, subscription_id, "subscription")
    return order_service(account_id=subscription.account_id, plan_id=subscription.plan_version.plan_id,
                         subscription_id=subscription.id)


def sync_account_services(account_id: int) -> list[Service]:
    """Order a service for each of the account's current subscriptions whose plan has a
    processing module and no service yet (disabled modules are skipped)."""
    created = []
    subscriptions = db.session.scalars(select(Subscription).where(
        Subscription.account_id == account_id, Subscription.status.not_in(("cancelled", "ended"))))
    for subscription in list(subscriptions):
        plan = subscription.plan_version.plan
        module = db.session.get(ProcessingModule, plan.processing_module_id) if plan.processing_module_id else None
        if module is None or not module.enabled:
            continue
        if db.session.scalar(select(Service.id).where(Service.subscription_id == subscription.id)):
            continue
        created.append(order_service_for_subscription(subscription.id))
    return created


def mark_paid(service_id: int) -> Service:
    """Payment received for an ordered service: it goes in progress and ``create`` is queued.
    Calling it again changes nothing."""
    service = get_service(service_id)
    if service.status != "ordered":
        if service.status in ("cancelled", "deleted"):
            raise NotAllowed("service_closed")
        return service
    service.status = "paid"
    db.session.flush()
    if service.module_id is None:
        activate(service)
        return service
    from .operations import queue_operation

    service.status = "in_progress"
    db.session.flush()
    queue_operation(service.id, "create", reason="paid")
    return service


def cancel_service(service_id: int) -> Service:
    """Drop a service that was never provisioned (ordered or paid)."""
    service = get_service(service_id)
    if service.status == "cancelled":
        return service
    if service.status not in ("ordered", "paid"):
        raise NotAllowed("service_provisioned")
    service.status = "cancelled"
    service.ended_at = utcnow()
    db.session.flush()
    return service


def activate(service: Service, *, details: dict | None = None) -> None:
    """The service works now: mark it active, emit ``service.active`` and send the welcome
    e-mail (once per service: the mail is deduplicated by key)."""
    from ..events import emit

    if details:
        service.details = {**(service.details or {}), **details}
    if service.status == "active" and service.activated_at is not None:
        db.session.flush()
        return
    service.status = "active"
    service.activated_at = service.activated_at or utcnow()
    db.session.flush()
    emit("service.active", account=service.account_id,
         data={"service_id": service.id, "plan": service.plan.code if service.plan else None})
    _send_welcome(service)


def _send_welcome(service: Service) -> None:
    from flask_babel import force_locale
    from flask_babel import gettext as _

    from app.services.mail import send_mail

    account = service.account
    if not account.email:
        return
    realm = db.session.get(Realm, account.realm_id)
    locale = account.locale or (realm.locale if realm else None) or "en"
    with force_locale(locale):
        plan_name = service.plan.name if service.plan else ""
        subject = _("Your service %(plan)s is ready", plan=plan_name)
        lines = [
            _("Hello %(name)s,", name=account.name),
            "",
            _("your service %(plan)s is set up and ready to use.", plan=plan_name),
            _("User name: %(username)s", username=account.username),
        ]
        for key, value in sorted((service.details or {}).items()):
            if value not in (None, ""):
                lines.append(f"{key}: {value}")
        lines += ["", realm.name if realm else ""]
    send_mail(to=account.email, subject=subject, text="\n".join(lines), realm=account.realm_id,
              dedupe_key=f"service-welcome-{service.id}")


def apply_success(service: Service, kind: str, *, details: dict | None = None) -> None:
    """The providing system did ``kind``: move the service to the matching state."""
    if kind == "create":
        activate(service, details=details)
        return
    if details:
        service.details = {**(service.details or {}), **details}
    if kind == "suspend" and service.status == "active":
        service.status = "suspended"
    elif kind == "resume" and service.status == "suspended":
        service.status = "active"
    elif kind == "delete":
        service.status = "deleted"
        service.ended_at = service.ended_at or utcnow()
    db.session.flush()


def service_spec(service: Service, kind: str) -> ServiceSpec:
    """What the providing system should hold for ``service`` after operation ``kind``."""
    from .. import enforcement as _enforcement  # quota enforcement hook
    from ..accounts import service_password_context

    account = service.account
    realm = db.session.get(Realm, account.realm_id)
    password = None
    if account.service_password_enc:
        password = secret_box().decrypt(account.service_password_enc,
                                        context=service_password_context(account.realm_id))
    if kind in SPEC_STATUS:
        status = SPEC_STATUS[kind]
    elif service.status == "suspended" or account.status == "suspended":
        status = "suspended"
    else:
        status = "active"
    plan = service.plan
    details = {"name": account.name, "email": account.email or "", "phone": account.phone or "",
               "number": account.number, **(service.details or {})}
    return ServiceSpec(
        username=account.username, password=password, realm=realm.slug if realm else "",
        plan_code=plan.code if plan else None, status=status, details=details,
        attributes=_enforcement.login_attributes(account.id),  # quota enforcement hook: shaped rate at next login
        resources=dict((plan.resources if plan else None) or {}),
        template=plan.account_template if plan else None,
    )
