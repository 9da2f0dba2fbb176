"""Alembic environment, run through Flask-Migrate (``realmbill db upgrade``)."""

from __future__ import annotations

from alembic import context
from flask import current_app

from app.models.types import ExactDecimal, UTCDateTime

config = context.config
target_db = current_app.extensions["migrate"].db


def render_item(type_, obj, autogen_context):
    # Our column types render as themselves, so migrations keep their per-database storage.
    if type_ == "type" and isinstance(obj, ExactDecimal | UTCDateTime):
        autogen_context.imports.add(f"from app.models.types import {type(obj).__name__}")
        return repr(obj)
    return False


def _configure(**kwargs) -> None:
    options = {
        **current_app.extensions["migrate"].configure_args,
        "render_as_batch": True,
        "compare_type": True,
        "render_item": render_item,
    }
    context.configure(target_metadata=target_db.metadata, **options, **kwargs)


def run_migrations_offline() -> None:
    _configure(url=str(target_db.engine.url), literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connectable = target_db.engine
    with connectable.connect() as connection:
        _configure(connection=connection)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
