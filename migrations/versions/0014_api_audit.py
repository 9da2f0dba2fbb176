"""API keys, idempotency, audit log

Revision ID: 0014_api_audit
Revises: 0013_enforcement
Create Date: 2026-12-07 09:45:00

"""
from alembic import op
import sqlalchemy as sa

from app.models.types import ExactDecimal
from app.models.types import UTCDateTime

# revision identifiers, used by Alembic.
revision = '0014_api_audit'
down_revision = '0013_enforcement'
branch_labels = None
depends_on = None


def upgrade():
    # --- API keys and idempotency (API engineer)
    op.create_table('api_keys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('prefix', sa.String(length=16), nullable=False),
    sa.Column('key_hash', sa.String(length=80), nullable=False),
    sa.Column('scopes', sa.Text(), nullable=False),
    sa.Column('created_by', sa.String(length=254), nullable=True),
    sa.Column('last_used_at', UTCDateTime(), nullable=True),
    sa.Column('revoked_at', UTCDateTime(), nullable=True),
    sa.Column('realm_id', sa.Integer(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['realm_id'], ['realms.id'], name=op.f('fk_api_keys_realm_id_realms'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_keys')),
    sa.UniqueConstraint('prefix', name=op.f('uq_api_keys_prefix'))
    )
    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_keys_realm_id'), ['realm_id'], unique=False)

    op.create_table('idempotency_keys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('api_key_id', sa.Integer(), nullable=False),
    sa.Column('idempotency_key', sa.String(length=255), nullable=False),
    sa.Column('method', sa.String(length=10), nullable=False),
    sa.Column('path', sa.String(length=500), nullable=False),
    sa.Column('request_hash', sa.String(length=64), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('response_body', sa.Text(), nullable=False),
    sa.Column('realm_id', sa.Integer(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['api_key_id'], ['api_keys.id'], name=op.f('fk_idempotency_keys_api_key_id_api_keys'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['realm_id'], ['realms.id'], name=op.f('fk_idempotency_keys_realm_id_realms'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_idempotency_keys')),
    sa.UniqueConstraint('realm_id', 'api_key_id', 'idempotency_key', name=op.f('uq_idempotency_keys_realm_id_api_key_id_idempotency_key'))
    )
    with op.batch_alter_table('idempotency_keys', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_idempotency_keys_api_key_id'), ['api_key_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_idempotency_keys_realm_id'), ['realm_id'], unique=False)
    # --- end API keys and idempotency


def downgrade():
    # --- API keys and idempotency (API engineer)
    with op.batch_alter_table('idempotency_keys', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_idempotency_keys_realm_id'))
        batch_op.drop_index(batch_op.f('ix_idempotency_keys_api_key_id'))
    op.drop_table('idempotency_keys')
    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_keys_realm_id'))
    op.drop_table('api_keys')
    # --- end API keys and idempotency
