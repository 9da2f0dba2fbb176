"""Locale choice: the signed-in person's language, else the realm's, else the browser's."""

from __future__ import annotations

from flask import current_app, g, has_request_context, request
from flask_login import current_user


def select_locale() -> str | None:
    if not has_request_context():
        return None  # jobs and commands: the default, unless they force_locale() a recipient's
    languages = current_app.config["LANGUAGES"]
    chosen = request.args.get("lang")
    if chosen in languages:
        return chosen
    user_locale = getattr(current_user, "locale", None) if current_user else None
    if user_locale in languages:
        return user_locale
    realm = g.get("realm")
    if realm is not None and realm.locale in languages:
        accepted = request.accept_languages.best_match(languages)
        return accepted or realm.locale
    return request.accept_languages.best_match(languages) or "en"
