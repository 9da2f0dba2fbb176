"""Wholesale: the realms below this one, their totals per month, and a realm's accounts."""

from __future__ import annotations

import re

from app.services.billing.wholesale import (
    child_figures,
    get_statement,
    previous_month,
    wholesale_overview,
)

from .registry import ApiError, endpoint
from .schemas import ID, MONEY, listing, nullable, obj

PERIOD = {"type": "string", "pattern": r"^\d{4}-(0[1-9]|1[0-2])$", "description": "YYYY-MM (default: last month)"}
ROW = obj({
    "realm_id": ID, "slug": {"type": "string"}, "period": {"type": "string"}, "billed": {"type": "boolean"},
    "plan_id": nullable(ID), "active_subscribers": nullable({"type": "integer"}),
    "traffic_mb": nullable(MONEY), "time_hours": nullable(MONEY), "retail_total": nullable(MONEY),
    "total": nullable(MONEY), "currency": nullable({"type": "string"}), "invoice_id": nullable(ID),
}, ["realm_id", "slug", "period", "billed"], closed=False)
ACCOUNT = obj({"account_id": ID, "number": {"type": "string"}, "username": {"type": "string"},
               "active": {"type": "boolean"}, "traffic_mb": MONEY, "time_hours": MONEY,
               "retail_total": MONEY}, closed=False)
DETAIL = obj({"realm_id": ID, "period": {"type": "string"}, "billed": {"type": "boolean"},
              "accounts": {"type": "array", "items": ACCOUNT}}, ["realm_id", "period", "accounts"], closed=False)


def _period(query) -> str:
    period = query.get("period") or previous_month()
    if not re.fullmatch(PERIOD["pattern"], period):
        raise ApiError(422, "invalid", errors={"query.period": ["invalid"]})
    return period


def _text(value) -> str:
    return format(value, "f")


@endpoint("/wholesale", summary="Wholesale totals of the realms below this one", scope="wholesale:read",
          tag="wholesale", query={"period": PERIOD}, response=listing(ROW))
def api_wholesale(query):
    period = _period(query)
    items = []
    for row in wholesale_overview(period):
        s = row.statement
        items.append({
            "realm_id": row.child.id, "slug": row.child.slug, "period": period, "billed": s is not None,
            "plan_id": row.agreement.plan_id if row.agreement else None,
            "active_subscribers": s.active_subscribers if s else None,
            "traffic_mb": _text(s.traffic_mb) if s else None, "time_hours": _text(s.time_hours) if s else None,
            "retail_total": _text(s.retail_total) if s else None, "total": _text(s.total) if s else None,
            "currency": s.currency if s else None, "invoice_id": s.invoice_id if s else None,
        })
    return {"items": items}


@endpoint("/wholesale/{realm_id}", summary="A realm's accounts in a wholesale month (as billed, or now)",
          scope="wholesale:read", tag="wholesale", query={"period": PERIOD}, response=DETAIL)
def api_wholesale_realm(realm_id, query):
    period = _period(query)
    statement = get_statement(realm_id, period)
    if statement is not None:
        accounts = [{"account_id": line.account_id, "number": line.account_number, "username": line.username,
                     "active": line.active, "traffic_mb": _text(line.traffic_mb),
                     "time_hours": _text(line.time_hours), "retail_total": _text(line.retail_total)}
                    for line in statement.lines]
    else:
        accounts = [{"account_id": a.account_id, "number": a.number, "username": a.username, "active": a.active,
                     "traffic_mb": _text(a.traffic_mb), "time_hours": _text(a.time_hours),
                     "retail_total": _text(a.retail_total)} for a in child_figures(realm_id, period).accounts]
    return {"realm_id": realm_id, "period": period, "billed": statement is not None, "accounts": accounts}
