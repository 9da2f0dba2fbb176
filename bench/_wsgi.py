"""WSGI entry point of the load benchmarks: ``gunicorn bench._wsgi:app``.

The real app (``app.create_app``) with the production config, except what a loopback run
over plain http needs: cookies without ``Secure``, no Redis (embedded job threads), an
in-memory rate-limit store and limits high enough that a load run measures the pages,
not the limiter (the per-key API limit and the sign-in limit are set through the
environment, see ``bench._common.gunicorn_app``).
"""

from __future__ import annotations

import os

from app import create_app
from app.config import Config

app = create_app(Config(
    SQLALCHEMY_DATABASE_URI=os.environ["DATABASE_URL"],
    SESSION_COOKIE_SECURE=False,
    REMEMBER_COOKIE_SECURE=False,
    PREFERRED_URL_SCHEME="http",
    REDIS_URL=None,
    RATELIMIT_STORAGE_URI="memory://",
    LOGIN_RATE_LIMIT=os.environ.get("BENCH_LOGIN_RATE_LIMIT", "100000 per minute"),
    API_RATE_LIMIT=os.environ.get("BENCH_API_RATE_LIMIT", "100000 per minute"),
))

# Loaded once by the gunicorn master (--preload): no pooled connection may cross the fork.
with app.app_context():
    from app.extensions import db

    db.engine.dispose()
