"""Per-realm branding assets: colours as CSS, the logo, and theme static files."""

from __future__ import annotations

import hashlib

from flask import Blueprint, Response, abort, g, request, send_from_directory

from app.services.realms import COLOUR

from ..rendering import THEMES_DIR, available_themes

bp = Blueprint("branding", __name__)


def colours_css(primary: str, secondary: str, scope: str = ":root") -> str:
    return f"{scope}{{--primary:{primary};--secondary:{secondary};}}\n"


@bp.route("/branding.css")
def realm_css():
    realm = g.realm
    body = colours_css(realm.primary_colour, realm.secondary_colour)
    response = Response(body, mimetype="text/css")
    response.headers["Cache-Control"] = "no-cache"
    response.set_etag(hashlib.sha256(body.encode()).hexdigest())
    return response.make_conditional(request)


@bp.route("/branding/preview.css")
def preview_css():
    """Colours for the live preview in the branding form (validated, never echoed raw)."""
    primary = request.args.get("primary", "")
    secondary = request.args.get("secondary", "")
    if not (COLOUR.match(primary) and COLOUR.match(secondary)):
        abort(400)
    return Response(colours_css(primary, secondary, ".brand-preview"), mimetype="text/css")


@bp.route("/branding/logo")
def logo():
    realm = g.realm
    if not realm.logo:
        abort(404)
    response = Response(realm.logo, mimetype=realm.logo_mime)
    response.set_etag(hashlib.sha256(realm.logo).hexdigest())
    return response.make_conditional(request)


@bp.route("/themes/<theme>/<path:filename>")
def theme_static(theme: str, filename: str):
    if theme not in available_themes():
        abort(404)
    return send_from_directory(THEMES_DIR / theme / "static", filename, max_age=3600)
