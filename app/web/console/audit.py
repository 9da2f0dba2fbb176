"""Audit log pages of the realm console: filter the log, export it as CSV."""

from __future__ import annotations

from datetime import date

from flask import Response, request

from app.models.audit import ACTOR_KINDS
from app.services import audit

from ..access import staff_required
from ..htmx import add_vary
from ..rendering import render
from .routes import bp

ACTIONS = ("create", "update", "delete")


def _filters() -> dict:
    args = request.args
    return {
        "entity": args.get("entity", "").strip()[:60],
        "actor_kind": args.get("actor_kind", "") if args.get("actor_kind") in ACTOR_KINDS else "",
        "action": args.get("action", "").strip()[:40],
        "text": args.get("q", "").strip()[:100],
        "since": _date(args.get("since")),
        "until": _date(args.get("until")),
    }


def _date(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


@bp.route("/audit")
@staff_required("manage_realm")
def audit_log():
    filters = _filters()
    html = render("console/audit.html", fragment="console/_audit_rows.html",
                  entries=audit.list_entries(**filters), entities=audit.entities(),
                  actor_kinds=ACTOR_KINDS, actions=ACTIONS, filters=filters,
                  limit=audit.LIST_LIMIT)
    return add_vary(Response(html))


@bp.route("/audit.csv")
@staff_required("manage_realm")
def audit_log_csv():
    body = audit.export_csv(**_filters())
    return Response(body, mimetype="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="audit-log.csv"'})
