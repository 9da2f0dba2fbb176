"""Plans: list, get, import (plan-file mapping as JSON, or the YAML file itself)."""

from __future__ import annotations

from flask import request

from app.rating.planfile import plan_to_mapping
from app.services.plans import (
    get_plan,
    import_plan,
    list_plans,
    save_plan,
    spec_from_mapping,
    spec_of,
)

from .registry import ApiError, endpoint
from .schemas import DATE, ID, listing, obj

MAX_PLAN_BYTES = 256 * 1024
PLAN_FILE = {"type": "object", "description": "A plan in the plan-file shape of DESIGN.md "
             "(code, name, currency, fees, bands, quotas, units); amounts are decimal strings."}
PLAN = obj({
    "id": ID, "code": {"type": "string"}, "name": {"type": "string"}, "currency": {"type": "string"},
    "active": {"type": "boolean"}, "version": {"type": "integer"}, "effective_from": DATE,
    "plan": PLAN_FILE,
}, ["id", "code", "name", "currency", "active"], closed=False)


def plan_json(plan) -> dict:
    version = plan.latest_version
    return {
        "id": plan.id, "code": plan.code, "name": plan.name, "currency": plan.currency,
        "active": plan.active, "version": version.number if version else None,
        "effective_from": version.effective_from.isoformat() if version else None,
        "plan": plan_to_mapping(spec_of(version)) if version else None,
    }


@endpoint("/plans", summary="List plans", scope="plans:read", tag="plans", response=listing(PLAN))
def api_list_plans():
    return {"items": [plan_json(p) for p in list_plans()]}


@endpoint("/plans/{plan_id}", summary="Get a plan", scope="plans:read", tag="plans", response=PLAN)
def api_get_plan(plan_id):
    return plan_json(get_plan(plan_id))


@endpoint("/plans", "POST", summary="Import a plan (create, or a new version of an existing code)",
          scope="plans:write", tag="plans", request=PLAN_FILE,
          request_types=("application/json", "application/yaml", "text/yaml"), response=PLAN, status=201,
          example={"code": "home-50", "name": "Home 50", "currency": "USD",
                   "fees": [{"kind": "recurring", "period": "monthly", "amount": "20.00"}],
                   "bands": [{"unit": "MB", "max_usage": "0", "price": "0.01"}]},
          description="Send the plan file as YAML (`application/yaml`) or its mapping as JSON. "
                      "Any problem refuses the whole plan (422 with every problem's key path).")
def api_import_plan(body):
    if (request.content_length or 0) > MAX_PLAN_BYTES:
        raise ApiError(413, "too_large", "a plan file is at most 256 KiB")
    if isinstance(body, str):
        plan = import_plan(body, source="request")
    else:
        plan = save_plan(spec_from_mapping(body, source="request"))
    return plan_json(plan), 201
