"""Service failures and HTTP errors turned into pages, in one place."""

from __future__ import annotations

from flask import Flask, g, request
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import HTTPException

from app.services.errors import Invalid, NotAllowed, NotFound

# Human text for the machine codes services raise (translated at render time).
ERROR_TEXT = {
    "required": _l("This field is required."),
    "invalid": _l("This value is not valid."),
    "taken": _l("This value is already in use."),
    "not_found": _l("Not found."),
    "unsupported": _l("This value is not supported."),
    "unknown": _l("Unknown value."),
    "too_short": _l("Too short (at least 8 characters)."),
    "too_long": _l("Too long."),
    "too_large": _l("The file is too large."),
    "invalid_colour": _l("Use a colour like #1f5fbf."),
    "png_or_jpeg": _l("Upload a PNG or JPEG image."),
    "not_a_number": _l("Enter a decimal number like 12.50."),
    "negative": _l("Must not be negative."),
}


def field_messages(error: Invalid) -> dict[str, list[str]]:
    return {
        field: [str(ERROR_TEXT.get(code, code)) for code in codes]
        for field, codes in error.errors.items()
    }


def init_error_pages(app: Flask) -> None:
    from .rendering import render

    def _page(status: int, title, message: str | None = None):
        if g.get("realm") is None:
            # No realm (unknown host): a plain page that needs no theme or database.
            return (
                f"<!doctype html><title>{status}</title><h1>{status}</h1><p>{title}</p>",
                status,
                {"Content-Type": "text/html; charset=utf-8"},
            )
        return render("error.html", status=status, title=title, message=message), status

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        if request.path.startswith("/static/"):
            return exc
        return _page(exc.code or 500, exc.name)

    @app.errorhandler(NotFound)
    def _not_found(exc: NotFound):
        return _page(404, _l("Not found"))

    @app.errorhandler(NotAllowed)
    def _not_allowed(exc: NotAllowed):
        return _page(403, _l("Not allowed"), exc.code)
