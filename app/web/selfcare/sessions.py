"""Self-care: the subscriber's RADIUS sessions (start and stop, NAS, framed IP, traffic)."""

from __future__ import annotations

from flask import request
from flask_login import current_user

from app.services.selfcare import list_sessions

from ..access import subscriber_required
from ..rendering import render
from .routes import bp


@bp.route("/sessions")
@subscriber_required
def sessions():
    listing = list_sessions(current_user.id, page=request.args.get("page", 1, type=int))
    return render("portal/sessions.html", listing=listing)
