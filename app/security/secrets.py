"""The application's SecretBox, built from configuration once per app."""

from __future__ import annotations

from flask import current_app

from .crypto import SecretBox


def secret_box() -> SecretBox:
    box = current_app.extensions.get("realmbill_secret_box")
    if box is None:
        box = SecretBox(current_app.config["ENCRYPTION_KEYS"])
        current_app.extensions["realmbill_secret_box"] = box
    return box
