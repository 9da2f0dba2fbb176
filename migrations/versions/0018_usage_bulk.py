"""usage_records for bulk loading: no per-row foreign key checks, fewer indexes

Revision ID: 0018_usage_bulk
Revises: 0017_usage_rollups
Create Date: 2026-12-07 12:40:00

usage_records is a bulk fact table. Its three foreign keys (realm, account, import) each
cost a trigger and an index probe per inserted row; they go. Integrity is kept instead by
the writer (app/services/usage/writer.py), which takes ``FOR KEY SHARE`` on the accounts
of a batch once (the lock an FK check takes per row), and by AFTER DELETE triggers that
keep the delete behaviour: an account or realm deleted takes its usage rows along, an
import deleted leaves its rows with ``import_id`` NULL.

Indexes: the realm_id index goes (every realm-filtered query on usage_records also names
accounts, which the (account_id, event_time) index serves, or adds up a whole period);
the invoice_id index becomes partial (``WHERE invoice_id IS NOT NULL``), so new rows,
which are never invoiced yet, do not enter it.
"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0018_usage_bulk'
down_revision = '0017_usage_rollups'
branch_labels = None
depends_on = None

_FKS = (
    ('fk_usage_records_account_id_accounts', 'accounts', 'account_id', 'CASCADE'),
    ('fk_usage_records_import_id_usage_imports', 'usage_imports', 'import_id', 'SET NULL'),
    ('fk_usage_records_realm_id_realms', 'realms', 'realm_id', 'CASCADE'),
)

# PostgreSQL: statement-level triggers with transition tables (one set-based statement per
# DELETE, however many rows it removed).
_PG_TRIGGERS = """
CREATE FUNCTION usage_records_accounts_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM usage_records WHERE account_id IN (SELECT id FROM gone);
    RETURN NULL;
END $$;
CREATE TRIGGER usage_records_accounts_deleted AFTER DELETE ON accounts
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION usage_records_accounts_deleted();

CREATE FUNCTION usage_records_realms_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM usage_records WHERE realm_id IN (SELECT id FROM gone);
    RETURN NULL;
END $$;
CREATE TRIGGER usage_records_realms_deleted AFTER DELETE ON realms
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION usage_records_realms_deleted();

CREATE FUNCTION usage_records_imports_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE usage_records SET import_id = NULL WHERE import_id IN (SELECT id FROM gone);
    RETURN NULL;
END $$;
CREATE TRIGGER usage_records_imports_deleted AFTER DELETE ON usage_imports
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION usage_records_imports_deleted();
"""

_PG_DROP = """
DROP TRIGGER IF EXISTS usage_records_accounts_deleted ON accounts;
DROP TRIGGER IF EXISTS usage_records_realms_deleted ON realms;
DROP TRIGGER IF EXISTS usage_records_imports_deleted ON usage_imports;
DROP FUNCTION IF EXISTS usage_records_accounts_deleted();
DROP FUNCTION IF EXISTS usage_records_realms_deleted();
DROP FUNCTION IF EXISTS usage_records_imports_deleted();
"""

_SQLITE_TRIGGERS = (
    "CREATE TRIGGER usage_records_accounts_deleted AFTER DELETE ON accounts BEGIN "
    "DELETE FROM usage_records WHERE account_id = OLD.id; END",
    "CREATE TRIGGER usage_records_realms_deleted AFTER DELETE ON realms BEGIN "
    "DELETE FROM usage_records WHERE realm_id = OLD.id; END",
    "CREATE TRIGGER usage_records_imports_deleted AFTER DELETE ON usage_imports BEGIN "
    "UPDATE usage_records SET import_id = NULL WHERE import_id = OLD.id; END",
)
_SQLITE_DROP = (
    "DROP TRIGGER IF EXISTS usage_records_accounts_deleted",
    "DROP TRIGGER IF EXISTS usage_records_realms_deleted",
    "DROP TRIGGER IF EXISTS usage_records_imports_deleted",
)

_NOT_NULL = sa.text('invoice_id IS NOT NULL')


def upgrade():
    with op.batch_alter_table('usage_records', schema=None) as batch_op:
        for name, _, _, _ in _FKS:
            batch_op.drop_constraint(name, type_='foreignkey')
        batch_op.drop_index('ix_usage_records_realm_id')
        batch_op.drop_index('ix_usage_records_invoice_id')
        batch_op.create_index('ix_usage_records_invoice_id', ['invoice_id'], unique=False,
                              postgresql_where=_NOT_NULL, sqlite_where=_NOT_NULL)
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(_PG_TRIGGERS)
    else:
        for statement in _SQLITE_TRIGGERS:
            op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(_PG_DROP)
    else:
        for statement in _SQLITE_DROP:
            op.execute(statement)
    with op.batch_alter_table('usage_records', schema=None) as batch_op:
        batch_op.drop_index('ix_usage_records_invoice_id')
        batch_op.create_index('ix_usage_records_invoice_id', ['invoice_id'], unique=False)
        batch_op.create_index('ix_usage_records_realm_id', ['realm_id'], unique=False)
        for name, table, column, ondelete in _FKS:
            batch_op.create_foreign_key(name, table, [column], ['id'], ondelete=ondelete)
