"""Reports in the realm console: the menu, one page per report, CSV, background runs, pins."""

from __future__ import annotations

from flask import Response, request, url_for

from app.services import reports
from app.services.reports import pins
from app.services.reports.runs import get_run, latest_run, start_report_run

from ..access import staff_required
from ..charts import bar_chart
from ..htmx import add_vary, navigate
from ..rendering import render
from .routes import bp


def report_page(definition, filters, *, scope: str, endpoint_prefix: str, pinned=False):
    """The page of one report (shared by the realm console and the provider console)."""
    run = result = None
    if definition.heavy:
        run = latest_run(definition.code, filters)
        if run is not None and run.status == "done":
            result = reports.result_from_run(definition, filters, run)
    else:
        result = definition.build(filters)
    chart = bar_chart(result.chart()) if result is not None else None
    return render("console/report.html", fragment="console/_report_body.html", report=definition,
                  filters=filters, result=result, run=run, chart=chart, scope=scope,
                  endpoint_prefix=endpoint_prefix, pinned=pinned, units=reports.UNITS)


def csv_response(definition, filters) -> Response:
    if definition.heavy:
        run = latest_run(definition.code, filters)
        result = None
        if run is not None and run.status == "done":
            result = reports.result_from_run(definition, filters, run)
        if result is None:
            result = definition.build(filters)
    else:
        result = definition.build(filters)
    return Response(reports.to_csv(result), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{definition.code}.csv"'})


@bp.route("/reports")
@staff_required("finance")
def reports_menu():
    return render("console/reports.html", reports=reports.catalogue("realm"), pinned=pins.pinned_codes(),
                  endpoint_prefix="console")


@bp.route("/reports/<code>")
@staff_required("finance")
def report(code: str):
    definition = reports.get_report(code)
    filters = reports.parse_filters(request.args)
    return add_vary(Response(report_page(definition, filters, scope="realm", endpoint_prefix="console",
                                         pinned=code in pins.pinned_codes())))


@bp.route("/reports/<code>.csv")
@staff_required("finance")
def report_csv(code: str):
    return csv_response(reports.get_report(code), reports.parse_filters(request.args))


@bp.route("/reports/<code>/run", methods=["POST"])
@staff_required("finance")
def report_run(code: str):
    filters = reports.parse_filters(request.form)
    start_report_run(code, filters, refresh=bool(request.form.get("refresh")))
    return navigate(url_for("console.report", code=code, **filters.params()))


@bp.route("/reports/runs/<int:run_id>")
@staff_required("finance")
def report_run_progress(run_id: int):
    run = get_run(run_id)
    definition = reports.get_report(run.code)
    filters = reports.parse_filters(run.params)
    if run.status == "done":
        response = Response(status=204)
        response.headers["HX-Refresh"] = "true"  # the finished result is a full page
        return response
    return render("console/_report_run.html", run=run, report=definition, filters=filters)


@bp.route("/reports/<code>/pin", methods=["POST"])
@staff_required("manage_realm")
def report_pin(code: str):
    pins.set_pinned(code, pinned=request.form.get("pinned") == "1")
    return navigate(request.form.get("back") or url_for("console.reports_menu"))
