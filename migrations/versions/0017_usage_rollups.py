"""daily usage rollups (per account, per cost centre) and their insert-only deltas

Revision ID: 0017_usage_rollups
Revises: 0016_reports
Create Date: 2026-12-07 12:30:00

"""
from alembic import op
import sqlalchemy as sa

from app.models.types import ExactDecimal

# revision identifiers, used by Alembic.
revision = '0017_usage_rollups'
down_revision = '0016_reports'
branch_labels = None
depends_on = None


def _sums():
    return [
        sa.Column('records', sa.BigInteger(), nullable=False),
        sa.Column('duration_s', sa.BigInteger(), nullable=False),
        sa.Column('bytes_in', sa.BigInteger(), nullable=False),
        sa.Column('bytes_out', sa.BigInteger(), nullable=False),
        sa.Column('quantity', ExactDecimal(scale=6), nullable=True),
    ]


def upgrade():
    op.create_table('usage_daily',
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('unit', sa.String(length=20), nullable=False),
    *_sums(),
    sa.Column('realm_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_usage_daily_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['realm_id'], ['realms.id'], name=op.f('fk_usage_daily_realm_id_realms'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('account_id', 'day', 'unit', name=op.f('pk_usage_daily'))
    )
    with op.batch_alter_table('usage_daily', schema=None) as batch_op:
        batch_op.create_index('ix_usage_daily_realm_day', ['realm_id', 'day'], unique=False)
        batch_op.create_index(batch_op.f('ix_usage_daily_realm_id'), ['realm_id'], unique=False)

    op.create_table('usage_daily_centres',
    sa.Column('cost_centre_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('unit', sa.String(length=20), nullable=False),
    *_sums(),
    sa.Column('realm_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['realm_id'], ['realms.id'], name=op.f('fk_usage_daily_centres_realm_id_realms'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('realm_id', 'cost_centre_id', 'day', 'unit', name=op.f('pk_usage_daily_centres'))
    )
    with op.batch_alter_table('usage_daily_centres', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_usage_daily_centres_realm_id'), ['realm_id'], unique=False)

    op.create_table('usage_rollup_deltas',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('realm_id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('unit', sa.String(length=20), nullable=False),
    *_sums(),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_usage_rollup_deltas'))
    )


def downgrade():
    op.drop_table('usage_rollup_deltas')
    with op.batch_alter_table('usage_daily_centres', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_usage_daily_centres_realm_id'))
    op.drop_table('usage_daily_centres')
    with op.batch_alter_table('usage_daily', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_usage_daily_realm_id'))
        batch_op.drop_index('ix_usage_daily_realm_day')
    op.drop_table('usage_daily')
