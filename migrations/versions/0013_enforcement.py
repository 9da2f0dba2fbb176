"""quota enforcement

Revision ID: 0013_enforcement
Revises: 0012_wholesale
Create Date: 2026-12-07 09:45:00

"""
import sqlalchemy as sa
from alembic import op

from app.models.types import UTCDateTime

# revision identifiers, used by Alembic.
revision = '0013_enforcement'
down_revision = '0012_wholesale'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('plans', schema=None) as batch_op:
        batch_op.add_column(sa.Column('quota_policy', sa.String(length=10), nullable=False, server_default='overage'))
        batch_op.add_column(sa.Column('quota_thresholds', sa.String(length=40), nullable=False, server_default='80,100'))
        batch_op.add_column(sa.Column('quota_cascade', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('rate_limit', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('shaped_rate_limit', sa.String(length=64), nullable=True))

    with op.batch_alter_table('quota_pools', schema=None) as batch_op:
        batch_op.add_column(sa.Column('thresholds', sa.String(length=40), nullable=True))

    op.create_table('quota_notices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('pool_id', sa.Integer(), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('percent', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=True),
    sa.Column('realm_id', sa.Integer(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['pool_id'], ['quota_pools.id'], name=op.f('fk_quota_notices_pool_id_quota_pools'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_quota_notices_account_id_accounts'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['realm_id'], ['realms.id'], name=op.f('fk_quota_notices_realm_id_realms'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quota_notices')),
    sa.UniqueConstraint('pool_id', 'period_start', 'kind', 'percent', name=op.f('uq_quota_notices_pool_id_period_start_kind_percent'))
    )
    with op.batch_alter_table('quota_notices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_quota_notices_realm_id'), ['realm_id'], unique=False)

    op.create_table('enforcements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('pool_id', sa.Integer(), nullable=True),
    sa.Column('dimension', sa.String(length=10), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('period_end', sa.Date(), nullable=False),
    sa.Column('policy', sa.String(length=10), nullable=False),
    sa.Column('state', sa.String(length=15), nullable=False),
    sa.Column('rate_limit', sa.String(length=64), nullable=True),
    sa.Column('normal_rate_limit', sa.String(length=64), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.String(length=200), nullable=True),
    sa.Column('sent_at', UTCDateTime(), nullable=True),
    sa.Column('confirmed_at', UTCDateTime(), nullable=True),
    sa.Column('lifted_at', UTCDateTime(), nullable=True),
    sa.Column('realm_id', sa.Integer(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_enforcements_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['pool_id'], ['quota_pools.id'], name=op.f('fk_enforcements_pool_id_quota_pools'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['realm_id'], ['realms.id'], name=op.f('fk_enforcements_realm_id_realms'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_enforcements')),
    sa.UniqueConstraint('account_id', 'dimension', 'period_start', name=op.f('uq_enforcements_account_id_dimension_period_start'))
    )
    with op.batch_alter_table('enforcements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_enforcements_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_enforcements_realm_id'), ['realm_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_enforcements_state'), ['state'], unique=False)

    op.create_table('enforcement_targets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('enforcement_id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('nas', sa.String(length=100), nullable=True),
    sa.Column('action', sa.String(length=12), nullable=False),
    sa.Column('state', sa.String(length=15), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('reply_code', sa.Integer(), nullable=True),
    sa.Column('error_cause', sa.Integer(), nullable=True),
    sa.Column('sent_at', UTCDateTime(), nullable=True),
    sa.Column('confirmed_at', UTCDateTime(), nullable=True),
    sa.Column('realm_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['enforcement_id'], ['enforcements.id'], name=op.f('fk_enforcement_targets_enforcement_id_enforcements'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['session_id'], ['radius_sessions.id'], name=op.f('fk_enforcement_targets_session_id_radius_sessions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['realm_id'], ['realms.id'], name=op.f('fk_enforcement_targets_realm_id_realms'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_enforcement_targets')),
    sa.UniqueConstraint('enforcement_id', 'session_id', 'action', name=op.f('uq_enforcement_targets_enforcement_id_session_id_action'))
    )
    with op.batch_alter_table('enforcement_targets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_enforcement_targets_enforcement_id'), ['enforcement_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_enforcement_targets_realm_id'), ['realm_id'], unique=False)


def downgrade():
    with op.batch_alter_table('enforcement_targets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_enforcement_targets_realm_id'))
        batch_op.drop_index(batch_op.f('ix_enforcement_targets_enforcement_id'))
    op.drop_table('enforcement_targets')
    with op.batch_alter_table('enforcements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_enforcements_state'))
        batch_op.drop_index(batch_op.f('ix_enforcements_realm_id'))
        batch_op.drop_index(batch_op.f('ix_enforcements_account_id'))
    op.drop_table('enforcements')
    with op.batch_alter_table('quota_notices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_quota_notices_realm_id'))
    op.drop_table('quota_notices')
    with op.batch_alter_table('quota_pools', schema=None) as batch_op:
        batch_op.drop_column('thresholds')
    with op.batch_alter_table('plans', schema=None) as batch_op:
        batch_op.drop_column('shaped_rate_limit')
        batch_op.drop_column('rate_limit')
        batch_op.drop_column('quota_cascade')
        batch_op.drop_column('quota_thresholds')
        batch_op.drop_column('quota_policy')
