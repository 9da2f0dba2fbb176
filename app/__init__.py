"""Realmbill: the application factory, the only place that wires extensions and blueprints."""

from __future__ import annotations

from flask import Flask

from .config import Config, config_from_env


def create_app(config: Config | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=False)
    app.config.from_object(config or config_from_env())
    configure_extensions(app)
    configure_tenancy(app)
    configure_web(app)
    configure_api(app)
    configure_cli(app)
    return app


def configure_extensions(app: Flask) -> None:
    from sqlalchemy.orm import Session

    from tenants import install_scoping

    from . import models  # noqa: F401 - register every table before Alembic looks
    from .extensions import babel, csrf, db, limiter, login_manager, migrate
    from .i18n import select_locale
    from .services.audit import install_audit_log

    db.init_app(app)
    migrate.init_app(app, db, directory=str(_migrations_dir()), render_as_batch=True)
    csrf.init_app(app)
    limiter.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    login_manager.init_app(app)
    install_scoping(Session)
    install_audit_log(Session)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        _sqlite_pragmas(app)


def _migrations_dir():
    from pathlib import Path

    return Path(__file__).resolve().parent.parent / "migrations"


def _sqlite_pragmas(app: Flask) -> None:
    from sqlalchemy import event

    from .extensions import db

    with app.app_context():
        engine = db.engine

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection, _record):
            # Let SQLAlchemy, not pysqlite, open transactions, so SAVEPOINTs work.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _on_begin(connection):
            # IMMEDIATE: take the write lock up front. A deferred transaction that reads and then
            # writes fails at once (no busy wait) when another connection committed in between,
            # which the embedded job threads and the web server otherwise do to each other.
            connection.exec_driver_sql("BEGIN IMMEDIATE")


def configure_tenancy(app: Flask) -> None:
    from tenants.resolve import init_tenancy

    init_tenancy(app)


def configure_web(app: Flask) -> None:
    from .web import init_web

    init_web(app)


def configure_api(app: Flask) -> None:
    from .api import init_api

    init_api(app)


def configure_cli(app: Flask) -> None:
    from .cli import register_cli

    register_cli(app)
