"""Every failure of the API as JSON, in one place: ``{"error": code, "message": ..., ...}``.

Service errors map to HTTP: NotFound → 404, NotAllowed → 403 for permission codes and 409
otherwise (a state that forbids the change), Invalid and plan-file problems → 422; input
that is not JSON or not UTF-8 → 400; unknown routes under /api/v1 → 404.
"""

from __future__ import annotations

import logging

from flask import Blueprint
from werkzeug.exceptions import HTTPException

from app.rating.planfile import PlanFileError
from app.services.errors import Invalid, NotAllowed, NotFound, ServiceError

from .registry import ApiError, json_response

log = logging.getLogger(__name__)

PERMISSION_CODES = {"forbidden", "not_permitted", "permission_denied", "insufficient_scope"}


def error_body(status: int, code: str, message: str, **details) -> tuple:
    return json_response({"error": code, "message": message, **details}, status)


def init_errors(bp: Blueprint) -> None:
    @bp.errorhandler(ApiError)
    def _api_error(exc: ApiError):
        response = error_body(exc.status, exc.code, exc.message, **exc.details)
        if exc.status == 401:
            response.headers["WWW-Authenticate"] = 'Bearer realm="api"'
        return response

    @bp.errorhandler(NotFound)
    def _not_found(exc: NotFound):
        return error_body(404, "not_found", str(exc), what=exc.what)

    @bp.errorhandler(NotAllowed)
    def _not_allowed(exc: NotAllowed):
        status = 403 if exc.code in PERMISSION_CODES else 409
        return error_body(status, exc.code, str(exc))

    @bp.errorhandler(Invalid)
    def _invalid(exc: Invalid):
        return error_body(422, "invalid", "the request is not valid", errors=exc.errors)

    @bp.errorhandler(PlanFileError)
    def _plan_file(exc: PlanFileError):
        return error_body(422, "invalid_plan", "the plan is not valid",
                          problems=[{"path": p.path, "message": p.message} for p in exc.problems])

    @bp.errorhandler(ServiceError)
    def _service_error(exc: ServiceError):
        return error_body(409, exc.code, str(exc))

    @bp.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        code = (exc.name or "error").lower().replace(" ", "_")
        response = error_body(exc.code or 500, code, exc.description or exc.name or "")
        for name, value in (exc.get_headers() or []):
            if name.lower() in ("retry-after", "allow"):
                response.headers[name] = value
        return response

    @bp.errorhandler(Exception)
    def _unexpected(exc: Exception):
        log.exception("API request failed")
        return error_body(500, "internal_error", "the request failed; it changed nothing")

    @bp.route("/<path:anything>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    def _unknown(anything: str):
        return error_body(404, "not_found", "no such API endpoint")
