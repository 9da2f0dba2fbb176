"""Reports: the realm's catalogue, one report as JSON or CSV, and background runs.

The same registry and filters as the console (``app.services.reports``). A heavy report is
computed in the background: asking for it answers the latest finished run with these
filters, or 202 with the run to poll (``GET /report-runs/{run_id}``); ``refresh=true``
starts a new run. CSV with ``Accept: text/csv`` or ``format=csv``.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from flask import Response, current_app, g, request

from .registry import ApiError, endpoint, json_response
from .schemas import DATE, DATETIME, ID, listing, nullable, obj

CODE = {"type": "string", "pattern": r"^[a-z0-9_]{1,40}$", "maxLength": 40}
UNITS = ["MB", "GB", "hour", "minute"]
DAY = {**DATE, "pattern": r"^\d{4}-\d{2}-\d{2}$", "maxLength": 10}
FILTERS = {
    "since": DAY, "until": DAY, "unit": {"type": "string", "enum": UNITS}, "node": ID,
    "limit": {"type": "integer", "minimum": 1, "maximum": 500},
    "format": {"type": "string", "enum": ["json", "csv"]}, "refresh": {"type": "boolean"},
}
DEFINITION = obj({"code": CODE, "title": {"type": "string"}, "description": {"type": "string"},
                  "heavy": {"type": "boolean"}, "filters": {"type": "array", "items": {"type": "string"}},
                  "scope": {"type": "string", "enum": ["realm", "provider"]}},
                 ["code", "title", "heavy"], closed=False)
COLUMN = obj({"key": {"type": "string"}, "label": {"type": "string"}, "kind": {"type": "string"}})
RESULT = obj({
    "code": CODE, "title": {"type": "string"}, "filters": {"type": "object"},
    "columns": {"type": "array", "items": COLUMN},
    "rows": {"type": "array", "items": {"type": "object"}}, "totals": {"type": "object"},
    "note": {"type": "string"}, "run_id": nullable(ID), "computed_at": nullable(DATETIME),
}, ["code", "columns", "rows"], closed=False)
RUN = obj({
    "id": ID, "code": CODE, "status": {"type": "string", "enum": ["queued", "running", "done", "failed"]},
    "done": {"type": "integer"}, "total": {"type": "integer"}, "filters": {"type": "object"},
    "error": nullable({"type": "string"}), "finished_at": nullable(DATETIME), "created_at": nullable(DATETIME),
}, ["id", "code", "status"], closed=False)


def _reports():
    from app.services import reports

    return reports


def _scopes() -> tuple[str, ...]:
    """Keys of the provider's realm also get the provider reports (across the realms)."""
    if g.realm.slug == current_app.config["DEFAULT_REALM"]:
        return ("realm", "provider")
    return ("realm",)


def _definition(code: str):
    from app.services.errors import NotFound

    reports = _reports()
    for scope in _scopes():
        try:
            return reports.get_report(code, scope)
        except NotFound:
            continue
    raise NotFound("report")


def _plain(value):
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, date):
        return value.isoformat()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def _when(value) -> str | None:
    return value.isoformat() if value else None


def run_json(run) -> dict:
    return {"id": run.id, "code": run.code, "status": run.status, "done": run.done or 0, "total": run.total or 0,
            "filters": dict(run.params or {}), "error": "the report failed" if run.status == "failed" else None,
            "finished_at": _when(run.finished_at), "created_at": _when(run.created_at)}


def _wants_csv(query) -> bool:
    if query.get("format"):
        return query["format"] == "csv"
    return request.accept_mimetypes.best_match(["application/json", "text/csv"]) == "text/csv"


@endpoint("/reports", summary="List the realm's reports", scope="reports:read", tag="reports",
          response=listing(DEFINITION),
          description="Keys of the provider's realm also see the provider reports (`scope: provider`), "
                      "which read across the realms.")
def api_list_reports():
    return {"items": [{"code": d.code, "title": str(d.title), "description": str(d.description),
                       "heavy": d.heavy, "filters": list(d.filters), "scope": d.scope}
                      for scope in _scopes() for d in _reports().catalogue(scope)]}


@endpoint("/reports/{report_code}", summary="Run a report (JSON or CSV)", scope="reports:read", tag="reports",
          path_types={"report_code": CODE}, query=FILTERS, response=RESULT, errors=(409,),
          responses={
              "200": {"description": "The report", "content": {
                  "application/json": {"schema": RESULT}, "text/csv": {"schema": {"type": "string"}}}},
              "202": {"description": "A heavy report is being computed: poll the run",
                      "content": {"application/json": {"schema": RUN}}},
          },
          description="Filters as in the console: `since`/`until` (dates), `unit`, `node` (cost centre), "
                      "`limit`. CSV with `Accept: text/csv` or `format=csv`. Heavy reports answer the "
                      "latest finished background run with the same filters, or 202 with the run "
                      "(`refresh=true` starts a new one).")
def api_run_report(report_code, query):
    reports = _reports()
    definition = _definition(report_code)
    for name in ("since", "until"):
        try:
            if query.get(name):
                date.fromisoformat(query[name])
        except ValueError:
            raise ApiError(422, "invalid", errors={f"query.{name}": ["invalid"]}) from None
    filters = reports.parse_filters(request.args)
    run = None
    if definition.heavy:
        from app.services.reports.runs import start_report_run

        run = start_report_run(report_code, filters, refresh=bool(query.get("refresh")))
        result = reports.result_from_run(definition, filters, run) if run.status == "done" else None
        if result is None:
            if run.status == "failed":
                raise ApiError(409, "report_failed", "the report's last run failed; ask again with refresh=true",
                               run=run_json(run))
            response = json_response(run_json(run), 202)
            response.headers["Location"] = f"/api/v1/report-runs/{run.id}"
            return response
    else:
        result = reports.run_report(report_code, filters, definition.scope)
    if _wants_csv(query):
        response = Response(reports.to_csv(result), mimetype="text/csv")
        response.headers["Content-Disposition"] = f'attachment; filename="{report_code}.csv"'
        return response
    return {
        "code": definition.code, "title": str(definition.title), "filters": filters.params(),
        "columns": [{"key": c.key, "label": str(c.label), "kind": c.kind} for c in result.columns],
        "rows": [{c.key: _plain(row.get(c.key)) for c in result.columns} for row in result.rows],
        "totals": {str(k): _plain(v) for k, v in (result.totals or {}).items()},
        "note": str(result.note or ""), "run_id": run.id if run else None,
        "computed_at": _when(run.finished_at) if run else None,
    }


@endpoint("/report-runs/{run_id}", summary="A background report run's progress", scope="reports:read",
          tag="reports", response=RUN,
          description="When `status` is `done`, ask for the report again with the same filters.")
def api_get_report_run(run_id):
    from app.services.reports.runs import get_run

    return run_json(get_run(run_id))
