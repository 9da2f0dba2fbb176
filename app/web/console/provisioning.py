"""Provisioning pages of the realm console: processing modules, current operations,
department tasks, event actions with their delivery log, and subscriber authentication."""

from __future__ import annotations

from flask import request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from app.extensions import db
from app.models.events import EVENT_TYPES
from app.models.provisioning import OPERATION_KINDS
from app.models.staff import Department
from app.services import event_actions
from app.services.errors import Invalid
from app.services.provisioning import modules as module_services
from app.services.provisioning import operations as operation_services
from app.services.provisioning import tasks as task_services
from app.services.subscriber_auth import get_auth_settings, save_auth_settings

from ..access import staff_required
from ..errors import ERROR_TEXT, field_messages
from ..forms import optional_int, optional_text, text
from ..htmx import navigate
from ..rendering import render
from .routes import bp

ERROR_TEXT.update({
    "invalid_template": _l("The template cannot be read."),
    "too_small": _l("Too small."),
    "out_of_range": _l("Out of range."),
})

OPEN_STATUSES = ("queued", "running", "failed", "manual")
LOCALES = event_actions.LOCALES


def _departments():
    return list(db.session.scalars(select(Department).order_by(Department.name)))


def _int(name: str, default: int) -> int:
    value = text(name)
    try:
        return int(value) if value else default
    except ValueError:
        return -1


# ------------------------------------------------------------------ modules
@bp.route("/provisioning/modules")
@staff_required("manage_realm")
def provisioning_modules():
    return render("console/provisioning_modules.html", modules=module_services.list_modules(),
                  adapters=module_services.available_adapters())


def _module_form(module, adapter_name, values, errors, status=200):
    cls = module_services.available_adapters().get(adapter_name) if adapter_name else None
    secrets_set = module_services.secret_fields_set(module) if module is not None else set()
    return render("console/provisioning_module_form.html", module=module, adapter_name=adapter_name,
                  adapter=cls, values=values, errors=errors, departments=_departments(),
                  secrets_set=secrets_set), status


def _module_values(module) -> dict:
    return {"name": module.name, "data_centre": module.data_centre or "",
            "department_id": module.department_id or "", "enabled": module.enabled,
            "retry_interval_seconds": module.retry_interval_seconds, "max_attempts": module.max_attempts,
            **{f"setting_{k}": v for k, v in (module.settings or {}).items()}}


def _save_module(module_id, adapter_name):
    cls = module_services.available_adapters().get(adapter_name) if adapter_name else None
    settings = {}
    if cls is not None:
        for field in cls.settings_fields:
            key = f"setting_{field.name}"
            if field.kind == "bool":
                settings[field.name] = key in request.form
            else:
                settings[field.name] = request.form.get(key, "")
    return module_services.save_module(
        module_id, name=text("name"), adapter=adapter_name, data_centre=optional_text("data_centre"),
        department_id=optional_int("department_id"), enabled="enabled" in request.form, settings=settings,
        retry_interval_seconds=_int("retry_interval_seconds", 300), max_attempts=_int("max_attempts", 3),
    )


@bp.route("/provisioning/modules/new", methods=["GET", "POST"])
@staff_required("manage_realm")
def new_provisioning_module():
    adapter_name = (request.values.get("adapter") or "").strip() or None
    if adapter_name and adapter_name not in module_services.available_adapters():
        adapter_name = None
    if request.method == "GET":
        cls = module_services.available_adapters().get(adapter_name) if adapter_name else None
        defaults = {f"setting_{f.name}": f.default for f in (cls.settings_fields if cls else ())
                    if f.default not in (None, "") and not f.secret}
        return _module_form(None, adapter_name, {"enabled": True, "retry_interval_seconds": 300,
                                                 "max_attempts": 3, **defaults}, {})
    try:
        _save_module(None, adapter_name)
    except Invalid as exc:
        return _module_form(None, adapter_name, _posted_values(), field_messages(exc), 422)
    return navigate(url_for("console.provisioning_modules"))


def _posted_values() -> dict:
    values = request.form.to_dict()
    values["enabled"] = "enabled" in request.form
    return values


@bp.route("/provisioning/modules/<int:module_id>", methods=["GET", "POST"])
@staff_required("manage_realm")
def edit_provisioning_module(module_id: int):
    module = module_services.get_module(module_id)
    if request.method == "GET":
        return _module_form(module, module.adapter, _module_values(module), {})
    try:
        _save_module(module.id, module.adapter)
    except Invalid as exc:
        return _module_form(module, module.adapter, _posted_values(), field_messages(exc), 422)
    return navigate(url_for("console.provisioning_modules"))


@bp.route("/provisioning/modules/<int:module_id>/check", methods=["POST"])
@staff_required("manage_realm")
def check_provisioning_module(module_id: int):
    module_services.check_module(module_id)
    return navigate(url_for("console.provisioning_modules"))


# ------------------------------------------------------------------ operations
@bp.route("/provisioning/operations")
@staff_required()
def provisioning_operations():
    show = request.args.get("show", "open")
    statuses = None if show == "all" else OPEN_STATUSES
    return render("console/provisioning_operations.html", show=show,
                  operations=operation_services.list_operations(statuses=statuses))


@bp.route("/provisioning/operations/<int:operation_id>/restart", methods=["POST"])
@staff_required("manage_accounts")
def restart_provisioning_operation(operation_id: int):
    operation_services.restart_operation(operation_id)
    return navigate(url_for("console.provisioning_operations"))


# ------------------------------------------------------------------ tasks
@bp.route("/provisioning/tasks")
@staff_required()
def provisioning_tasks():
    include_closed = request.args.get("closed") == "1"
    return render("console/provisioning_tasks.html", include_closed=include_closed, errors={},
                  tasks=task_services.list_tasks(current_user, include_closed=include_closed))


@bp.route("/provisioning/tasks/<int:task_id>/assign", methods=["POST"])
@staff_required()
def assign_provisioning_task(task_id: int):
    task_services.assign_task(task_id, current_user)
    return navigate(url_for("console.provisioning_tasks"))


@bp.route("/provisioning/tasks/<int:task_id>/close", methods=["POST"])
@staff_required()
def close_provisioning_task(task_id: int):
    try:
        details = task_services.parse_details(request.form.get("details"))
        task_services.close_task(task_id, current_user, details=details, notes=optional_text("notes"))
    except Invalid as exc:
        return render("console/provisioning_tasks.html", include_closed=False,
                      errors={task_id: field_messages(exc)},
                      tasks=task_services.list_tasks(current_user)), 422
    return navigate(url_for("console.provisioning_tasks"))


# ------------------------------------------------------------------ event actions
@bp.route("/events/actions")
@staff_required("manage_realm")
def event_actions_page():
    from app.services.events import list_events

    return render("console/event_actions.html", actions=event_actions.list_actions(),
                  deliveries=event_actions.list_deliveries(limit=50), events=list_events(limit=50))


def _action_values(action) -> dict:
    config = action.config or {}
    values = {"event_type": action.event_type, "kind": action.kind, "name": action.name,
              "enabled": action.enabled, "url": config.get("url", ""), "command": config.get("command", ""),
              "operation": config.get("operation", ""), "min_percent": config.get("min_percent", "")}
    for locale in LOCALES:
        values[f"subject_{locale}"] = (config.get("subject") or {}).get(locale, "")
        values[f"body_{locale}"] = (config.get("body") or {}).get(locale, "")
    return values


def _action_form(action, values, errors, status=200, preview=None):
    return render("console/event_action_form.html", action=action, values=values, errors=errors,
                  event_types=EVENT_TYPES, kinds=event_actions.ALL_KINDS, operations=OPERATION_KINDS,
                  locales=LOCALES, preview=preview,
                  secret_set=bool(action and event_actions.webhook_secret_set(action))), status


def _save_action(action_id):
    config = {
        "url": text("url"), "command": text("command"), "operation": text("operation"),
        "min_percent": text("min_percent"),
        "subject": {loc: text(f"subject_{loc}") for loc in LOCALES},
        "body": {loc: request.form.get(f"body_{loc}", "") for loc in LOCALES},
    }
    return event_actions.save_action(
        action_id, event_type=text("event_type"), kind=text("kind"), name=text("name"),
        enabled="enabled" in request.form, config=config,
        webhook_secret=request.form.get("webhook_secret") or None,
    )


@bp.route("/events/actions/new", methods=["GET", "POST"])
@staff_required("manage_realm")
def new_event_action():
    if request.method == "GET":
        return _action_form(None, {"enabled": True, "kind": request.args.get("kind", "email"),
                                   "event_type": request.args.get("event_type", "account.created")}, {})
    try:
        _save_action(None)
    except Invalid as exc:
        return _action_form(None, _posted_values(), field_messages(exc), 422)
    return navigate(url_for("console.event_actions_page"))


@bp.route("/events/actions/<int:action_id>", methods=["GET", "POST"])
@staff_required("manage_realm")
def edit_event_action(action_id: int):
    action = event_actions.get_action(action_id)
    if request.method == "GET":
        return _action_form(action, _action_values(action), {})
    try:
        _save_action(action.id)
    except Invalid as exc:
        return _action_form(action, _posted_values(), field_messages(exc), 422)
    return navigate(url_for("console.event_actions_page"))


@bp.route("/events/actions/<int:action_id>/preview")
@staff_required("manage_realm")
def preview_event_action(action_id: int):
    action = event_actions.get_action(action_id)
    locale = request.args.get("locale") if request.args.get("locale") in LOCALES else "en"
    try:
        subject, body = event_actions.preview_action(action.id, locale=locale)
        preview = {"locale": locale, "subject": subject, "body": body}
    except Invalid as exc:
        preview = {"locale": locale, "error": "; ".join(sum(exc.errors.values(), []))}
    return _action_form(action, _action_values(action), {}, preview=preview)


@bp.route("/events/actions/<int:action_id>/delete", methods=["POST"])
@staff_required("manage_realm")
def delete_event_action(action_id: int):
    event_actions.delete_action(action_id)
    return navigate(url_for("console.event_actions_page"))


# ------------------------------------------------------------------ subscriber authentication
@bp.route("/provisioning/authentication", methods=["GET", "POST"])
@staff_required("manage_realm")
def subscriber_authentication():
    row = get_auth_settings()
    if request.method == "GET":
        values = {"method": row.method if row else "local", **((row.settings if row else None) or {})}
        return render("console/subscriber_auth.html", values=values, errors={},
                      secret_set=bool(row and row.secret_enc), saved=request.args.get("saved"))
    method = text("method")
    settings = {key: text(key) for key in ("host", "port", "timeout", "nas_identifier", "url",
                                           "user_dn_template", "ca_file")}
    settings["start_tls"] = "start_tls" in request.form
    try:
        save_auth_settings(method=method, settings=settings,
                           radius_secret=request.form.get("radius_secret") or None)
    except Invalid as exc:
        values = {**request.form.to_dict(), "start_tls": settings["start_tls"]}
        return render("console/subscriber_auth.html", values=values, errors=field_messages(exc),
                      secret_set=bool(row and row.secret_enc), saved=None), 422
    return navigate(url_for("console.subscriber_authentication", saved=1))


# ------------------------------------------------------------------ plans and services
@bp.route("/provisioning/plans", methods=["GET", "POST"])
@staff_required("manage_plans")
def provisioning_plans():
    from app.services.provisioning import plans as plan_services

    errors: dict = {}
    status = 200
    if request.method == "POST":
        plan_id = optional_int("plan_id")
        try:
            plan_services.set_plan_processing(
                plan_id or 0, module_id=optional_int("module_id"),
                account_template=optional_text("account_template"),
                resources=plan_services.parse_resources(request.form.get("resources")))
        except Invalid as exc:
            errors, status = {plan_id: field_messages(exc)}, 422
        else:
            return navigate(url_for("console.provisioning_plans"))
    return render("console/provisioning_plans.html", plans=plan_services.list_plans(), errors=errors,
                  modules=module_services.list_modules(),
                  format_resources=plan_services.format_resources), status


@bp.route("/provisioning/services")
@staff_required()
def provisioning_services():
    from app.services.provisioning.plans import list_plans
    from app.services.provisioning.services import list_services

    return render("console/provisioning_services.html", services=list_services(), plans=list_plans(),
                  error=request.args.get("error"))


@bp.route("/provisioning/services/order", methods=["POST"])
@staff_required("manage_accounts")
def order_provisioning_service():
    from app.services.accounts import list_accounts
    from app.services.errors import NotAllowed, NotFound
    from app.services.provisioning.services import order_service

    username = text("username").lower()
    account = next((a for a in list_accounts(search=username) if a.username == username), None)
    try:
        if account is None:
            raise NotFound("account")
        order_service(account_id=account.id, plan_id=optional_int("plan_id") or 0)
    except (NotFound, NotAllowed) as exc:
        return navigate(url_for("console.provisioning_services", error=exc.code))
    return navigate(url_for("console.provisioning_services"))


@bp.route("/provisioning/services/<int:service_id>/paid", methods=["POST"])
@staff_required("finance")
def mark_provisioning_service_paid(service_id: int):
    from app.services.provisioning.services import mark_paid

    mark_paid(service_id)
    return navigate(url_for("console.provisioning_services"))
