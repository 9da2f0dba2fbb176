"""usage: records, imports, rejects, radius sessions, nas clients

Revision ID: 0002_usage
Revises: 0001_foundation
Create Date: 2026-11-25 07:17:01.987909

"""
from alembic import op
import sqlalchemy as sa

from app.models.types import ExactDecimal
from app.models.types import UTCDateTime

# revision identifiers, used by Alembic.
revision = '0002_usage'
down_revision = '0001_foundation'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('nas_clients',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('address', sa.String(length=45), nullable=False),
    sa.Column('secret_enc', sa.Text(), nullable=False),
    sa.Column('coa_port', sa.Integer(), nullable=False),
    sa.Column('realm_id', sa.Integer(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['realm_id'], ['realms.id'], name=op.f('fk_nas_clients_realm_id_realms'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_nas_clients')),
    sa.UniqueConstraint('realm_id', 'address', name=op.f('uq_nas_clients_realm_id_address'))
    )
    with op.batch_alter_table('nas_clients', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_nas_clients_realm_id'), ['realm_id'], unique=False)

    op.create_table('usage_imports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=True),
    sa.Column('accepted', sa.Integer(), nullable=False),
    sa.Column('duplicates', sa.Integer(), nullable=False),
    sa.Column('rejected', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('finished_at', UTCDateTime(), nullable=True),
    sa.Column('realm_id', sa.Integer(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['realm_id'], ['realms.id'], name=op.f('fk_usage_imports_realm_id_realms'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_usage_imports'))
    )
    with op.batch_alter_table('usage_imports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_usage_imports_realm_id'), ['realm_id'], unique=False)

    op.create_table('usage_rejects',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('import_id', sa.Integer(), nullable=True),
    sa.Column('source', sa.String(length=10), nullable=False),
    sa.Column('file', sa.String(length=300), nullable=True),
    sa.Column('line', sa.Integer(), nullable=True),
    sa.Column('field', sa.String(length=60), nullable=True),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('raw', sa.Text(), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('realm_id', sa.Integer(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['import_id'], ['usage_imports.id'], name=op.f('fk_usage_rejects_import_id_usage_imports'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['realm_id'], ['realms.id'], name=op.f('fk_usage_rejects_realm_id_realms'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_usage_rejects')),
    sa.UniqueConstraint('realm_id', 'fingerprint', name=op.f('uq_usage_rejects_realm_id_fingerprint'))
    )
    with op.batch_alter_table('usage_rejects', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_usage_rejects_import_id'), ['import_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_usage_rejects_realm_id'), ['realm_id'], unique=False)

    op.create_table('radius_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_key', sa.String(length=200), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('nas', sa.String(length=100), nullable=True),
    sa.Column('session_id', sa.String(length=100), nullable=True),
    sa.Column('framed_ip', sa.String(length=45), nullable=True),
    sa.Column('started_at', UTCDateTime(), nullable=False),
    sa.Column('stopped_at', UTCDateTime(), nullable=True),
    sa.Column('last_event_at', UTCDateTime(), nullable=False),
    sa.Column('total_in', sa.BigInteger(), nullable=False),
    sa.Column('total_out', sa.BigInteger(), nullable=False),
    sa.Column('total_time', sa.BigInteger(), nullable=False),
    sa.Column('realm_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_radius_sessions_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['realm_id'], ['realms.id'], name=op.f('fk_radius_sessions_realm_id_realms'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_radius_sessions')),
    sa.UniqueConstraint('session_key', name=op.f('uq_radius_sessions_session_key'))
    )
    with op.batch_alter_table('radius_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_radius_sessions_account_id'), ['account_id'], unique=False)
        batch_op.create_index('ix_radius_sessions_ip_time', ['framed_ip', 'started_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_radius_sessions_realm_id'), ['realm_id'], unique=False)

    op.create_table('usage_records',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('import_id', sa.Integer(), nullable=True),
    sa.Column('source', sa.String(length=10), nullable=False),
    sa.Column('source_record_id', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('session_key', sa.String(length=200), nullable=True),
    sa.Column('username', sa.String(length=200), nullable=True),
    sa.Column('ip', sa.String(length=45), nullable=True),
    sa.Column('nas', sa.String(length=100), nullable=True),
    sa.Column('event_time', UTCDateTime(), nullable=False),
    sa.Column('start', UTCDateTime(), nullable=False),
    sa.Column('duration_s', sa.BigInteger(), nullable=False),
    sa.Column('bytes_in', sa.BigInteger(), nullable=False),
    sa.Column('bytes_out', sa.BigInteger(), nullable=False),
    sa.Column('quantity', ExactDecimal(scale=6, precision=20), nullable=True),
    sa.Column('unit', sa.String(length=20), nullable=True),
    sa.Column('destination', sa.String(length=100), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('invoice_id', sa.Integer(), nullable=True),
    sa.Column('realm_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_usage_records_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['import_id'], ['usage_imports.id'], name=op.f('fk_usage_records_import_id_usage_imports'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['realm_id'], ['realms.id'], name=op.f('fk_usage_records_realm_id_realms'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_usage_records')),
    sa.UniqueConstraint('source', 'source_record_id', name=op.f('uq_usage_records_source_source_record_id'))
    )
    with op.batch_alter_table('usage_records', schema=None) as batch_op:
        batch_op.create_index('ix_usage_records_account_time', ['account_id', 'event_time'], unique=False)
        batch_op.create_index(batch_op.f('ix_usage_records_invoice_id'), ['invoice_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_usage_records_realm_id'), ['realm_id'], unique=False)



def downgrade():
    with op.batch_alter_table('usage_records', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_usage_records_realm_id'))
        batch_op.drop_index(batch_op.f('ix_usage_records_invoice_id'))
        batch_op.drop_index('ix_usage_records_account_time')

    op.drop_table('usage_records')
    with op.batch_alter_table('radius_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_radius_sessions_realm_id'))
        batch_op.drop_index('ix_radius_sessions_ip_time')
        batch_op.drop_index(batch_op.f('ix_radius_sessions_account_id'))

    op.drop_table('radius_sessions')
    with op.batch_alter_table('usage_rejects', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_usage_rejects_realm_id'))
        batch_op.drop_index(batch_op.f('ix_usage_rejects_import_id'))

    op.drop_table('usage_rejects')
    with op.batch_alter_table('usage_imports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_usage_imports_realm_id'))

    op.drop_table('usage_imports')
    with op.batch_alter_table('nas_clients', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_nas_clients_realm_id'))

    op.drop_table('nas_clients')
