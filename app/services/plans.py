"""Plan use cases: create/update from a plan spec, import/export YAML, quote.

Every way in (console form, YAML file, API JSON) becomes the same mapping in the shape of
the plan file (DESIGN.md "Plan files and quotes") and goes through the rating engine's
plan-file checks, so a plan is validated by one set of rules.
"""

from __future__ import annotations

from datetime import date

import yaml
from sqlalchemy import select

from app.extensions import db
from app.models import ChargeBand, Plan, PlanFee, PlanQuota, PlanVersion, Subscription
from app.rating.plan import Band, Fee, PlanSpec, Quota
from app.rating.planfile import PlanFileError, dump_plan_yaml, load_plan_yaml

from .errors import Invalid, NotFound
from .lookups import get_or_not_found


def spec_from_mapping(data: dict, *, source: str) -> PlanSpec:
    """Validate a plan given as a plan-file mapping; PlanFileError lists every problem."""
    return load_plan_yaml(yaml.safe_dump(data, sort_keys=False), source=source)


def spec_of(version: PlanVersion) -> PlanSpec:
    plan = version.plan
    return PlanSpec(
        code=plan.code,
        name=plan.name,
        currency=plan.currency,
        fees=tuple(
            Fee(kind=f.kind, amount=f.amount, period=f.period, every_days=f.every_days)
            for f in version.fees
        ),
        bands=tuple(
            Band(unit=b.unit, max_usage=b.max_usage, price=b.price, increment=b.increment,
                 round_per=b.round_per)
            for b in version.bands
        ),
        quotas=tuple(Quota(unit=q.unit, amount=q.amount) for q in version.quotas),
        units=tuple(u for u in (version.custom_units or "").split(",") if u),
    )


def _fill_version(version: PlanVersion, spec: PlanSpec) -> None:
    version.fees = [
        PlanFee(position=i, kind=f.kind, period=f.period, every_days=f.every_days, amount=f.amount)
        for i, f in enumerate(spec.fees, 1)
    ]
    version.bands = [
        ChargeBand(position=i, unit=b.unit, max_usage=b.max_usage, price=b.price,
                   increment=b.increment, round_per=b.round_per)
        for i, b in enumerate(spec.bands, 1)
    ]
    version.quotas = [
        PlanQuota(position=i, unit=q.unit, amount=q.amount) for i, q in enumerate(spec.quotas, 1)
    ]
    version.custom_units = ",".join(spec.units) or None


def _version_in_use(version: PlanVersion) -> bool:
    return db.session.scalar(
        select(Subscription.id).where(Subscription.plan_version_id == version.id).limit(1)
    ) is not None


def save_plan(spec: PlanSpec, *, effective_from: date | None = None) -> Plan:
    """Create the plan, or change it: an unused latest version is edited in place; a version
    that subscribers use is kept for them (grandfathered) and a new version is added."""
    effective_from = effective_from or date.today()
    plan = db.session.scalar(select(Plan).where(Plan.code == spec.code))
    if plan is None:
        plan = Plan(code=spec.code, name=spec.name, currency=spec.currency)
        db.session.add(plan)
    elif plan.currency != spec.currency and any(_version_in_use(v) for v in plan.versions):
        raise Invalid({"currency": ["in_use"]})
    plan.name = spec.name
    plan.currency = spec.currency
    latest = plan.latest_version
    if latest is not None and spec_of(latest) == spec:
        db.session.flush()
        return plan
    if latest is None or _version_in_use(latest):
        number = (latest.number + 1) if latest else 1
        start = max(effective_from, latest.effective_from) if latest else effective_from
        latest = PlanVersion(plan=plan, number=number, effective_from=start)
        db.session.add(latest)
    _fill_version(latest, spec)
    db.session.flush()
    return plan


def import_plan(text: str, *, source: str, effective_from: date | None = None) -> Plan:
    """``realmbill plan import``: refuses the whole file on any problem (PlanFileError)."""
    return save_plan(load_plan_yaml(text, source=source), effective_from=effective_from)


def get_plan(plan_id: int) -> Plan:
    return get_or_not_found(Plan, plan_id, "plan")


def get_plan_by_code(code: str) -> Plan:
    plan = db.session.scalar(select(Plan).where(Plan.code == code))
    if plan is None:
        raise NotFound("plan")
    return plan


def export_plan(code: str) -> str:
    plan = get_plan_by_code(code)
    if plan.latest_version is None:
        raise NotFound("plan version")
    return dump_plan_yaml(spec_of(plan.latest_version))


def list_plans() -> list[Plan]:
    return list(db.session.scalars(select(Plan).order_by(Plan.code)))


__all__ = [
    "PlanFileError", "export_plan", "get_plan", "get_plan_by_code", "import_plan",
    "list_plans", "save_plan", "spec_from_mapping", "spec_of",
]
