"""Reports across realms in the provider console (same page and CSV as the realm console)."""

from __future__ import annotations

from flask import Response, request

from app.services import reports

from ..access import provider_required
from ..console.reports import csv_response, report_page
from ..htmx import add_vary
from ..rendering import render
from .routes import bp


@bp.route("/reports")
@provider_required
def reports_menu():
    return render("console/reports.html", reports=reports.catalogue("provider"), pinned=[],
                  endpoint_prefix="provider")


@bp.route("/reports/<code>")
@provider_required
def report(code: str):
    definition = reports.get_report(code, "provider")
    filters = reports.parse_filters(request.args)
    return add_vary(Response(report_page(definition, filters, scope="provider", endpoint_prefix="provider")))


@bp.route("/reports/<code>.csv")
@provider_required
def report_csv(code: str):
    return csv_response(reports.get_report(code, "provider"), reports.parse_filters(request.args))
