"""quota pools, balances and draws

Revision ID: 0003_quotas
Revises: 0002_usage
Create Date: 2026-11-25 07:25:59.678180

"""
from alembic import op
import sqlalchemy as sa

from app.models.types import ExactDecimal
from app.models.types import UTCDateTime

# revision identifiers, used by Alembic.
revision = '0003_quotas'
down_revision = '0002_usage'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('quota_pools',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('scope', sa.String(length=20), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=True),
    sa.Column('cost_centre_id', sa.Integer(), nullable=True),
    sa.Column('unit', sa.String(length=20), nullable=False),
    sa.Column('size', ExactDecimal(scale=6, precision=20), nullable=False),
    sa.Column('anchor', sa.Date(), nullable=False),
    sa.Column('period', sa.String(length=20), nullable=False),
    sa.Column('carry_over', sa.String(length=10), nullable=False),
    sa.Column('carry_cap', ExactDecimal(scale=6, precision=20), nullable=True),
    sa.Column('realm_id', sa.Integer(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_quota_pools_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['cost_centre_id'], ['cost_centres.id'], name=op.f('fk_quota_pools_cost_centre_id_cost_centres'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['realm_id'], ['realms.id'], name=op.f('fk_quota_pools_realm_id_realms'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quota_pools'))
    )
    with op.batch_alter_table('quota_pools', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_quota_pools_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_quota_pools_cost_centre_id'), ['cost_centre_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_quota_pools_realm_id'), ['realm_id'], unique=False)

    op.create_table('quota_balances',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('pool_id', sa.Integer(), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('period_end', sa.Date(), nullable=False),
    sa.Column('opening', ExactDecimal(scale=6, precision=20), nullable=False),
    sa.Column('topped_up', ExactDecimal(scale=6, precision=20), nullable=False),
    sa.Column('used', ExactDecimal(scale=6, precision=20), nullable=False),
    sa.Column('realm_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['pool_id'], ['quota_pools.id'], name=op.f('fk_quota_balances_pool_id_quota_pools'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['realm_id'], ['realms.id'], name=op.f('fk_quota_balances_realm_id_realms'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quota_balances')),
    sa.UniqueConstraint('pool_id', 'period_start', name=op.f('uq_quota_balances_pool_id_period_start'))
    )
    with op.batch_alter_table('quota_balances', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_quota_balances_realm_id'), ['realm_id'], unique=False)

    op.create_table('quota_draws',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('balance_id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('quantity', ExactDecimal(scale=6, precision=20), nullable=False),
    sa.Column('records', sa.Integer(), nullable=False),
    sa.Column('realm_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_quota_draws_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['balance_id'], ['quota_balances.id'], name=op.f('fk_quota_draws_balance_id_quota_balances'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['realm_id'], ['realms.id'], name=op.f('fk_quota_draws_realm_id_realms'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quota_draws')),
    sa.UniqueConstraint('balance_id', 'account_id', name=op.f('uq_quota_draws_balance_id_account_id'))
    )
    with op.batch_alter_table('quota_draws', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_quota_draws_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_quota_draws_realm_id'), ['realm_id'], unique=False)



def downgrade():
    with op.batch_alter_table('quota_draws', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_quota_draws_realm_id'))
        batch_op.drop_index(batch_op.f('ix_quota_draws_account_id'))

    op.drop_table('quota_draws')
    with op.batch_alter_table('quota_balances', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_quota_balances_realm_id'))

    op.drop_table('quota_balances')
    with op.batch_alter_table('quota_pools', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_quota_pools_realm_id'))
        batch_op.drop_index(batch_op.f('ix_quota_pools_cost_centre_id'))
        batch_op.drop_index(batch_op.f('ix_quota_pools_account_id'))

    op.drop_table('quota_pools')
