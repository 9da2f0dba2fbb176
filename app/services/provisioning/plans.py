"""What a plan asks of service processing: its module and an account template or resources."""

from __future__ import annotations

import re

from sqlalchemy import select

from app.extensions import db
from app.models import Plan
from app.models.provisioning import ProcessingModule

from ..errors import FieldErrors
from ..lookups import get_or_not_found

TEMPLATE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
RESOURCE_KEY = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


def parse_resources(text: str | None) -> dict:
    """``storage: 10GB`` lines → {"storage": "10GB"}; whole numbers become ints."""
    errors = FieldErrors()
    resources: dict = {}
    for line in (text or "").splitlines():
        if not line.strip():
            continue
        key, sep, value = line.partition(":")
        key, value = key.strip().lower(), value.strip()
        if not sep or not RESOURCE_KEY.match(key) or not value or len(value) > 100:
            errors.add("resources", "invalid")
            continue
        resources[key] = int(value) if value.isdigit() else value
    errors.raise_if_any()
    return resources


def format_resources(resources: dict | None) -> str:
    return "\n".join(f"{k}: {v}" for k, v in sorted((resources or {}).items()))


def set_plan_processing(plan_id: int, *, module_id: int | None, account_template: str | None = None,
                        resources: dict | None = None) -> Plan:
    """Attach a processing module to a plan with either an account template or resources."""
    plan = get_or_not_found(Plan, plan_id, "plan")
    account_template = (account_template or "").strip() or None
    resources = dict(resources or {})
    errors = FieldErrors()
    if module_id is not None and db.session.scalar(
        select(ProcessingModule.id).where(ProcessingModule.id == module_id)
    ) is None:
        errors.add("module_id", "not_found")
    if account_template and not TEMPLATE.match(account_template):
        errors.add("account_template", "invalid")
    if account_template and resources:
        errors.add("resources", "template_or_resources")
    errors.raise_if_any()
    plan.processing_module_id = module_id
    plan.account_template = account_template
    plan.resources = resources or None
    db.session.flush()
    return plan


def list_plans() -> list[Plan]:
    return list(db.session.scalars(select(Plan).order_by(Plan.code)))
