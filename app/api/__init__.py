"""REST API under /api/v1: JSON over the same service functions as the pages.

``init_api`` registers the blueprint (CSRF-exempt: requests authenticate with API keys,
not cookies), the JSON error handlers, the per-key rate limit, and every endpoint module
``app/api/<area>.py`` (discovered: adding an area edits no central list).
"""

from __future__ import annotations

import importlib
import pkgutil

from flask import Flask

INFRASTRUCTURE = {"auth", "errors", "idempotency", "openapi", "registry", "schemas"}


def discover_endpoints() -> list[str]:
    names = []
    for module in pkgutil.iter_modules(__path__):
        if module.ispkg or module.name.startswith("_") or module.name in INFRASTRUCTURE:
            continue
        importlib.import_module(f"{__name__}.{module.name}")
        names.append(module.name)
    return names


def init_api(app: Flask) -> None:
    from app.extensions import csrf, limiter

    from . import openapi  # noqa: F401 - the document's route
    from .auth import rate_key, rate_limit
    from .errors import init_errors
    from .registry import bp

    if "api" not in app.blueprints:
        if not getattr(bp, "_realmbill_ready", False):
            discover_endpoints()
            init_errors(bp)
            limiter.limit(rate_limit, key_func=rate_key)(bp)
            bp._realmbill_ready = True
        csrf.exempt(bp)
        app.register_blueprint(bp)
