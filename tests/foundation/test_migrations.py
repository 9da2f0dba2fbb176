"""Migrations upgrade, downgrade and upgrade again, and the models match them."""

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from app import create_app
from app.extensions import db as _db
from tests.conftest import make_config


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrations.sqlite'}"
        return
    base = request.getfixturevalue("pg_database")
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql("CREATE SCHEMA IF NOT EXISTS migration_probe")
    yield base + "?options=-csearch_path%3Dmigration_probe"
    with admin.connect() as conn:
        conn.exec_driver_sql("DROP SCHEMA migration_probe CASCADE")
    admin.dispose()


def _tables(engine):
    return set(sa.inspect(engine).get_table_names()) - {"alembic_version"}


def test_upgrade_downgrade_upgrade_and_models_match(empty_database):
    app = create_app(make_config(empty_database))
    with app.app_context():
        upgrade()
        assert _tables(_db.engine) == set(_db.metadata.tables)
        downgrade(revision="base")
        assert _tables(_db.engine) == set()
        upgrade()
        with _db.engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "target_metadata": _db.metadata}
            )
            diff = compare_metadata(context, _db.metadata)
        assert diff == [], f"models and migrations differ: {diff}"
        _db.engine.dispose()
