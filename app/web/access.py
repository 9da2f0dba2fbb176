"""Who may see what: decorators for the consoles and self-care, and safe redirects."""

from __future__ import annotations

from functools import wraps
from urllib.parse import urlsplit

from flask import abort, current_app, g, redirect, request, url_for
from flask_login import current_user


def _login_redirect(endpoint: str):
    return redirect(url_for(endpoint, next=request.full_path.rstrip("?")))


def staff_required(permission: str | None = None):
    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            if not current_user.is_authenticated or current_user.kind != "staff":
                return _login_redirect("auth.staff_login")
            if permission and not current_user.can(permission):
                abort(403)
            return view(*args, **kwargs)

        return wrapper

    return decorator


def provider_required(view):
    """Provider console: staff of the default realm, on the default realm's host."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        if not current_user.is_authenticated or current_user.kind != "staff":
            return _login_redirect("auth.staff_login")
        if g.realm.slug != current_app.config["DEFAULT_REALM"] or not current_user.can(
            "manage_realm"
        ):
            abort(403)
        return view(*args, **kwargs)

    return wrapper


def subscriber_required(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        if not current_user.is_authenticated or current_user.kind != "subscriber":
            return _login_redirect("auth.login")
        return view(*args, **kwargs)

    return wrapper


def safe_next(target: str | None, fallback: str) -> str:
    """Only same-site relative paths; ``//evil``, ``https://evil`` and ``\\evil`` are refused."""
    if not target:
        return fallback
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return fallback
    if "\\" in target:
        return fallback
    return target
