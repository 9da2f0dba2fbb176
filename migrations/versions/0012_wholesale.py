"""wholesale aggregation

Revision ID: 0012_wholesale
Revises: 0011_vouchers_collections
Create Date: 2026-12-07 09:45:00

"""
import sqlalchemy as sa
from alembic import op

from app.models.types import ExactDecimal, UTCDateTime

# revision identifiers, used by Alembic.
revision = '0012_wholesale'
down_revision = '0011_vouchers_collections'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('wholesale_agreements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('child_realm_id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('realm_id', sa.Integer(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['child_realm_id'], ['realms.id'], name=op.f('fk_wholesale_agreements_child_realm_id_realms'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['plan_id'], ['plans.id'], name=op.f('fk_wholesale_agreements_plan_id_plans'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['realm_id'], ['realms.id'], name=op.f('fk_wholesale_agreements_realm_id_realms'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_wholesale_agreements')),
    sa.UniqueConstraint('child_realm_id', name=op.f('uq_wholesale_agreements_child_realm_id'))
    )
    with op.batch_alter_table('wholesale_agreements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_wholesale_agreements_plan_id'), ['plan_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_wholesale_agreements_realm_id'), ['realm_id'], unique=False)

    op.create_table('wholesale_statements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('child_realm_id', sa.Integer(), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('period_end', sa.Date(), nullable=False),
    sa.Column('plan_version_id', sa.Integer(), nullable=False),
    sa.Column('owner_account_id', sa.Integer(), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=True),
    sa.Column('active_subscribers', sa.Integer(), nullable=False),
    sa.Column('traffic_mb', ExactDecimal(scale=6, precision=20), nullable=False),
    sa.Column('time_hours', ExactDecimal(scale=6, precision=20), nullable=False),
    sa.Column('retail_total', ExactDecimal(scale=4, precision=20), nullable=False),
    sa.Column('retail_currency', sa.String(length=3), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('total', ExactDecimal(scale=4, precision=20), nullable=False),
    sa.Column('realm_id', sa.Integer(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['child_realm_id'], ['realms.id'], name=op.f('fk_wholesale_statements_child_realm_id_realms'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['plan_version_id'], ['plan_versions.id'], name=op.f('fk_wholesale_statements_plan_version_id_plan_versions'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['owner_account_id'], ['accounts.id'], name=op.f('fk_wholesale_statements_owner_account_id_accounts'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], name=op.f('fk_wholesale_statements_invoice_id_invoices'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['realm_id'], ['realms.id'], name=op.f('fk_wholesale_statements_realm_id_realms'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_wholesale_statements')),
    sa.UniqueConstraint('child_realm_id', 'period_start', name=op.f('uq_wholesale_statements_child_realm_id_period_start'))
    )
    with op.batch_alter_table('wholesale_statements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_wholesale_statements_child_realm_id'), ['child_realm_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_wholesale_statements_realm_id'), ['realm_id'], unique=False)

    op.create_table('wholesale_statement_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('statement_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('account_number', sa.String(length=30), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('traffic_mb', ExactDecimal(scale=6, precision=20), nullable=False),
    sa.Column('time_hours', ExactDecimal(scale=6, precision=20), nullable=False),
    sa.Column('retail_total', ExactDecimal(scale=4, precision=20), nullable=False),
    sa.Column('realm_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['statement_id'], ['wholesale_statements.id'], name=op.f('fk_wholesale_statement_lines_statement_id_wholesale_statements'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['realm_id'], ['realms.id'], name=op.f('fk_wholesale_statement_lines_realm_id_realms'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_wholesale_statement_lines'))
    )
    with op.batch_alter_table('wholesale_statement_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_wholesale_statement_lines_realm_id'), ['realm_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_wholesale_statement_lines_statement_id'), ['statement_id'], unique=False)


def downgrade():
    with op.batch_alter_table('wholesale_statement_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_wholesale_statement_lines_statement_id'))
        batch_op.drop_index(batch_op.f('ix_wholesale_statement_lines_realm_id'))
    op.drop_table('wholesale_statement_lines')
    with op.batch_alter_table('wholesale_statements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_wholesale_statements_realm_id'))
        batch_op.drop_index(batch_op.f('ix_wholesale_statements_child_realm_id'))
    op.drop_table('wholesale_statements')
    with op.batch_alter_table('wholesale_agreements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_wholesale_agreements_realm_id'))
        batch_op.drop_index(batch_op.f('ix_wholesale_agreements_plan_id'))
    op.drop_table('wholesale_agreements')
