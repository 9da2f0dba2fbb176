"""Quotes: one full billing period of a plan for given usage (the `realmbill rate --json` shape)."""

from __future__ import annotations

import yaml

from app.rating.quote import UsageArgumentError, parse_usage_args
from app.rating.units import UnitError
from app.services.plans import get_plan_by_code, spec_of
from app.services.quotes import quote_plan_file, quote_stored_plan

from .plans import PLAN_FILE
from .registry import ApiError, endpoint
from .schemas import DECIMAL, obj, text

QUOTE_LINE = {"type": "object", "required": ["kind", "amount", "explanation"], "properties": {
    "kind": {"type": "string"}, "amount": {"type": "string"}, "explanation": {"type": "string"},
    "band": {"type": "integer"}, "unit": {"type": "string"}, "units": {"type": "string"},
    "price": {"type": "string"}, "period": {"type": "string"},
}}
QUOTE = obj({"currency": {"type": "string"}, "total": {"type": "string"},
             "lines": {"type": "array", "items": QUOTE_LINE}}, ["currency", "total", "lines"], closed=False)
REQUEST = obj({
    "plan_code": text(40, 1), "plan": PLAN_FILE,
    "usage": {"type": "object", "additionalProperties": DECIMAL, "maxProperties": 50},
    "with_setup": {"type": "boolean"},
})


@endpoint("/quotes", "POST", summary="Quote a plan for given usage", scope="quotes", tag="quotes",
          request=REQUEST, response=QUOTE, status=200,
          example={"plan_code": "home-50", "usage": {"MB": "700", "hour": "2"}},
          description="Give `plan_code` (a stored plan of this realm) or `plan` (a plan-file mapping). "
                      "Writes nothing.")
def api_quote(body):
    if ("plan_code" in body) == ("plan" in body):
        raise ApiError(422, "invalid", "give exactly one of plan_code or plan",
                       errors={"plan_code": ["exactly_one"], "plan": ["exactly_one"]})
    mapping = body.get("plan")
    extra: tuple[str, ...] = ()
    if "plan_code" in body:
        version = get_plan_by_code(body["plan_code"]).latest_version
        extra = spec_of(version).units if version else ()
    if isinstance(mapping, dict) and isinstance(mapping.get("units"), list):
        extra = tuple(u["name"] for u in mapping["units"] if isinstance(u, dict) and isinstance(u.get("name"), str))
    try:
        usage = parse_usage_args([f"{unit}={amount}" for unit, amount in body.get("usage", {}).items()], extra)
    except (UsageArgumentError, UnitError) as exc:
        raise ApiError(422, "invalid", str(exc), errors={"usage": ["invalid"]}) from None
    with_setup = body.get("with_setup", False)
    if mapping is not None:
        result = quote_plan_file(yaml.safe_dump(mapping, sort_keys=False), source="request", usage=usage,
                                 with_setup=with_setup)
    else:
        result = quote_stored_plan(body["plan_code"], usage=usage, with_setup=with_setup)
    return result.to_dict(), 200
