"""Web surface: blueprints, the request's unit of work, login, headers, error pages."""

from __future__ import annotations

import importlib
import pkgutil

from flask import Blueprint, Flask, Response, g, redirect, request, session, url_for

from app.extensions import db, login_manager

from .errors import init_error_pages
from .rendering import install_page_gettext
from .security import init_security_headers
from .template_helpers import init_template_helpers


def _member_of_session():
    """(Flask-Login's user id, model, id) of the session's signed-in user, or None."""
    from app.services.staff import user_key

    user_id = session.get("_user_id")
    key = user_key(user_id)
    return (user_id, *key) if key is not None else None


def _load_user(user_id: str):
    """Flask-Login's loader: the user the realm's statement loaded already (None: not of this
    realm), else a lookup within the current realm (a remember-me cookie, a changed session)."""
    from app.services.staff import load_user

    prefetched = g.pop("session_member", None)
    if prefetched is not None and prefetched[0] == user_id:
        return prefetched[1]
    return load_user(user_id)


def init_web(app: Flask) -> None:
    from tenants.resolve import SESSION_MEMBER

    app.extensions[SESSION_MEMBER] = _member_of_session
    login_manager.user_loader(_load_user)

    @login_manager.unauthorized_handler
    def _unauthorized():
        endpoint = "auth.staff_login" if request.path.startswith(("/console", "/provider")) else "auth.login"
        return redirect(url_for(endpoint, next=request.full_path.rstrip("?")))

    @app.after_request
    def _finish_unit_of_work(response: Response) -> Response:
        # The request owns the transaction: commit once on success, roll back otherwise.
        if response.status_code < 400:
            db.session.commit()
        else:
            db.session.rollback()
        return response

    @app.context_processor
    def _globals():
        return {"realm": g.get("realm")}

    init_template_helpers(app)
    install_page_gettext(app)
    init_security_headers(app)
    init_error_pages(app)
    for blueprint in discover_blueprints():
        app.register_blueprint(blueprint)


def discover_blueprints() -> list[Blueprint]:
    """Every ``bp`` in app/web/<area>/routes.py: adding an area edits no central list."""
    found = []
    for module in pkgutil.iter_modules(__path__):
        if not module.ispkg:
            continue
        routes = importlib.import_module(f"{__name__}.{module.name}.routes")
        found.append(routes.bp)
    return found
