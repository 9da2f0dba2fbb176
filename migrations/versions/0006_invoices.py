"""invoices, lines, counters, billing runs

Revision ID: 0006_invoices
Revises: 0005_meters
Create Date: 2026-11-25 07:34:30.925160

"""
from alembic import op
import sqlalchemy as sa

from app.models.types import ExactDecimal
from app.models.types import UTCDateTime

# revision identifiers, used by Alembic.
revision = '0006_invoices'
down_revision = '0005_meters'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('billing_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('period_end', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('total_accounts', sa.Integer(), nullable=False),
    sa.Column('done_accounts', sa.Integer(), nullable=False),
    sa.Column('chunks', sa.Integer(), nullable=False),
    sa.Column('finished_at', UTCDateTime(), nullable=True),
    sa.Column('realm_id', sa.Integer(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['realm_id'], ['realms.id'], name=op.f('fk_billing_runs_realm_id_realms'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_billing_runs')),
    sa.UniqueConstraint('realm_id', 'period_start', name=op.f('uq_billing_runs_realm_id_period_start'))
    )
    with op.batch_alter_table('billing_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_billing_runs_realm_id'), ['realm_id'], unique=False)

    op.create_table('invoice_counters',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('last_number', sa.Integer(), nullable=False),
    sa.Column('realm_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['realm_id'], ['realms.id'], name=op.f('fk_invoice_counters_realm_id_realms'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invoice_counters')),
    sa.UniqueConstraint('realm_id', 'kind', name=op.f('uq_invoice_counters_realm_id_kind'))
    )
    with op.batch_alter_table('invoice_counters', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_invoice_counters_realm_id'), ['realm_id'], unique=False)

    op.create_table('invoices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('number', sa.String(length=40), nullable=True),
    sa.Column('sequence', sa.Integer(), nullable=True),
    sa.Column('period_key', sa.String(length=10), nullable=True),
    sa.Column('period_start', sa.Date(), nullable=True),
    sa.Column('period_end', sa.Date(), nullable=True),
    sa.Column('issue_date', sa.Date(), nullable=True),
    sa.Column('due_date', sa.Date(), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('subtotal', ExactDecimal(scale=4, precision=20), nullable=False),
    sa.Column('tax_total', ExactDecimal(scale=4, precision=20), nullable=False),
    sa.Column('total', ExactDecimal(scale=4, precision=20), nullable=False),
    sa.Column('credited_invoice_id', sa.Integer(), nullable=True),
    sa.Column('billing_run_id', sa.Integer(), nullable=True),
    sa.Column('seller_tax_id', sa.String(length=40), nullable=True),
    sa.Column('buyer_tax_id', sa.String(length=40), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('finalized_at', UTCDateTime(), nullable=True),
    sa.Column('pdf_sha256', sa.String(length=64), nullable=True),
    sa.Column('realm_id', sa.Integer(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_invoices_account_id_accounts'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['billing_run_id'], ['billing_runs.id'], name=op.f('fk_invoices_billing_run_id_billing_runs'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['credited_invoice_id'], ['invoices.id'], name=op.f('fk_invoices_credited_invoice_id_invoices'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['realm_id'], ['realms.id'], name=op.f('fk_invoices_realm_id_realms'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invoices')),
    sa.UniqueConstraint('realm_id', 'account_id', 'period_key', name=op.f('uq_invoices_realm_id_account_id_period_key')),
    sa.UniqueConstraint('realm_id', 'number', name=op.f('uq_invoices_realm_id_number'))
    )
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_invoices_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_invoices_billing_run_id'), ['billing_run_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_invoices_realm_id'), ['realm_id'], unique=False)

    op.create_table('invoice_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('quantity', ExactDecimal(scale=6, precision=20), nullable=True),
    sa.Column('unit', sa.String(length=20), nullable=True),
    sa.Column('unit_price', ExactDecimal(scale=6, precision=20), nullable=True),
    sa.Column('amount', ExactDecimal(scale=4, precision=20), nullable=False),
    sa.Column('realm_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], name=op.f('fk_invoice_lines_invoice_id_invoices'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['realm_id'], ['realms.id'], name=op.f('fk_invoice_lines_realm_id_realms'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invoice_lines'))
    )
    with op.batch_alter_table('invoice_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_invoice_lines_invoice_id'), ['invoice_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_invoice_lines_realm_id'), ['realm_id'], unique=False)



def downgrade():
    with op.batch_alter_table('invoice_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_invoice_lines_realm_id'))
        batch_op.drop_index(batch_op.f('ix_invoice_lines_invoice_id'))

    op.drop_table('invoice_lines')
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_invoices_realm_id'))
        batch_op.drop_index(batch_op.f('ix_invoices_billing_run_id'))
        batch_op.drop_index(batch_op.f('ix_invoices_account_id'))

    op.drop_table('invoices')
    with op.batch_alter_table('invoice_counters', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_invoice_counters_realm_id'))

    op.drop_table('invoice_counters')
    with op.batch_alter_table('billing_runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_billing_runs_realm_id'))

    op.drop_table('billing_runs')
