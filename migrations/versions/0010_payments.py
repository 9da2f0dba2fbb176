"""gateways, payment methods, payments, allocations, top-ups

Revision ID: 0010_payments
Revises: 0009_provisioning
Create Date: 2026-12-07 09:45:00

"""
from alembic import op
import sqlalchemy as sa

from app.models.types import ExactDecimal
from app.models.types import UTCDateTime

# revision identifiers, used by Alembic.
revision = '0010_payments'
down_revision = '0009_provisioning'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('bank_statement_imports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('line_count', sa.Integer(), nullable=False),
    sa.Column('matched', sa.Integer(), nullable=False),
    sa.Column('unmatched', sa.Integer(), nullable=False),
    sa.Column('duplicates', sa.Integer(), nullable=False),
    sa.Column('ignored', sa.Integer(), nullable=False),
    sa.Column('created_by', sa.String(length=254), nullable=True),
    sa.Column('realm_id', sa.Integer(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['realm_id'], ['realms.id'], name=op.f('fk_bank_statement_imports_realm_id_realms'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bank_statement_imports'))
    )
    with op.batch_alter_table('bank_statement_imports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bank_statement_imports_realm_id'), ['realm_id'], unique=False)

    op.create_table('payment_gateways',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('settings_enc', sa.Text(), nullable=True),
    sa.Column('realm_id', sa.Integer(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['realm_id'], ['realms.id'], name=op.f('fk_payment_gateways_realm_id_realms'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_gateways')),
    sa.UniqueConstraint('realm_id', 'code', name=op.f('uq_payment_gateways_realm_id_code'))
    )
    with op.batch_alter_table('payment_gateways', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payment_gateways_realm_id'), ['realm_id'], unique=False)

    op.create_table('payment_settings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('retry_days', sa.String(length=60), nullable=False),
    sa.Column('auto_charge', sa.Boolean(), nullable=False),
    sa.Column('receipt_prefix', sa.String(length=20), nullable=False),
    sa.Column('realm_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['realm_id'], ['realms.id'], name=op.f('fk_payment_settings_realm_id_realms'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_settings')),
    sa.UniqueConstraint('realm_id', name=op.f('uq_payment_settings_realm_id'))
    )
    with op.batch_alter_table('payment_settings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payment_settings_realm_id'), ['realm_id'], unique=False)

    op.create_table('topup_products',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('unit', sa.String(length=20), nullable=True),
    sa.Column('quantity', ExactDecimal(scale=6, precision=20), nullable=True),
    sa.Column('price', ExactDecimal(scale=4, precision=20), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('realm_id', sa.Integer(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['realm_id'], ['realms.id'], name=op.f('fk_topup_products_realm_id_realms'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_topup_products')),
    sa.UniqueConstraint('realm_id', 'code', name=op.f('uq_topup_products_realm_id_code'))
    )
    with op.batch_alter_table('topup_products', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_topup_products_realm_id'), ['realm_id'], unique=False)

    op.create_table('webhook_deliveries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('gateway', sa.String(length=40), nullable=False),
    sa.Column('event_id', sa.String(length=255), nullable=False),
    sa.Column('event_type', sa.String(length=100), nullable=False),
    sa.Column('received_at', UTCDateTime(), nullable=False),
    sa.Column('realm_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['realm_id'], ['realms.id'], name=op.f('fk_webhook_deliveries_realm_id_realms'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_deliveries')),
    sa.UniqueConstraint('realm_id', 'gateway', 'event_id', name=op.f('uq_webhook_deliveries_realm_id_gateway_event_id'))
    )
    with op.batch_alter_table('webhook_deliveries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_webhook_deliveries_realm_id'), ['realm_id'], unique=False)

    op.create_table('payment_methods',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('gateway', sa.String(length=40), nullable=False),
    sa.Column('token', sa.String(length=255), nullable=False),
    sa.Column('customer_ref', sa.String(length=255), nullable=True),
    sa.Column('brand', sa.String(length=20), nullable=True),
    sa.Column('last4', sa.String(length=4), nullable=True),
    sa.Column('exp_month', sa.Integer(), nullable=True),
    sa.Column('exp_year', sa.Integer(), nullable=True),
    sa.Column('is_default', sa.Boolean(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('realm_id', sa.Integer(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_payment_methods_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['realm_id'], ['realms.id'], name=op.f('fk_payment_methods_realm_id_realms'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_methods'))
    )
    with op.batch_alter_table('payment_methods', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payment_methods_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_payment_methods_realm_id'), ['realm_id'], unique=False)

    op.create_table('charge_retries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('first_failed_at', UTCDateTime(), nullable=False),
    sa.Column('next_attempt_at', UTCDateTime(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('last_error', sa.String(length=255), nullable=True),
    sa.Column('realm_id', sa.Integer(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_charge_retries_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], name=op.f('fk_charge_retries_invoice_id_invoices'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['realm_id'], ['realms.id'], name=op.f('fk_charge_retries_realm_id_realms'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_charge_retries')),
    sa.UniqueConstraint('realm_id', 'invoice_id', name=op.f('uq_charge_retries_realm_id_invoice_id'))
    )
    with op.batch_alter_table('charge_retries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_charge_retries_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_charge_retries_next_attempt_at'), ['next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_charge_retries_realm_id'), ['realm_id'], unique=False)

    op.create_table('payments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('gateway', sa.String(length=40), nullable=False),
    sa.Column('method', sa.String(length=20), nullable=False),
    sa.Column('purpose', sa.String(length=20), nullable=False),
    sa.Column('payment_method_id', sa.Integer(), nullable=True),
    sa.Column('invoice_id', sa.Integer(), nullable=True),
    sa.Column('amount', ExactDecimal(scale=4, precision=20), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('idempotency_key', sa.String(length=200), nullable=False),
    sa.Column('external_id', sa.String(length=255), nullable=True),
    sa.Column('reference', sa.String(length=200), nullable=True),
    sa.Column('refunded_amount', ExactDecimal(scale=4, precision=20), nullable=False),
    sa.Column('failure_code', sa.String(length=60), nullable=True),
    sa.Column('failure_message', sa.String(length=255), nullable=True),
    sa.Column('retryable', sa.Boolean(), nullable=False),
    sa.Column('receipt_number', sa.String(length=40), nullable=True),
    sa.Column('received_at', UTCDateTime(), nullable=True),
    sa.Column('created_by', sa.String(length=254), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('realm_id', sa.Integer(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_payments_account_id_accounts'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], name=op.f('fk_payments_invoice_id_invoices'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['payment_method_id'], ['payment_methods.id'], name=op.f('fk_payments_payment_method_id_payment_methods'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['realm_id'], ['realms.id'], name=op.f('fk_payments_realm_id_realms'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payments')),
    sa.UniqueConstraint('realm_id', 'gateway', 'external_id', name=op.f('uq_payments_realm_id_gateway_external_id')),
    sa.UniqueConstraint('realm_id', 'idempotency_key', name=op.f('uq_payments_realm_id_idempotency_key'))
    )
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payments_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_payments_invoice_id'), ['invoice_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_payments_payment_method_id'), ['payment_method_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_payments_realm_id'), ['realm_id'], unique=False)

    op.create_table('bank_statement_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('import_id', sa.Integer(), nullable=False),
    sa.Column('line_no', sa.Integer(), nullable=False),
    sa.Column('bank_transaction_id', sa.String(length=100), nullable=False),
    sa.Column('booked_on', sa.Date(), nullable=False),
    sa.Column('amount', ExactDecimal(scale=4, precision=20), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('reference', sa.String(length=255), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=True),
    sa.Column('invoice_id', sa.Integer(), nullable=True),
    sa.Column('payment_id', sa.Integer(), nullable=True),
    sa.Column('realm_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_bank_statement_lines_account_id_accounts'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['import_id'], ['bank_statement_imports.id'], name=op.f('fk_bank_statement_lines_import_id_bank_statement_imports'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], name=op.f('fk_bank_statement_lines_invoice_id_invoices'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['payment_id'], ['payments.id'], name=op.f('fk_bank_statement_lines_payment_id_payments'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['realm_id'], ['realms.id'], name=op.f('fk_bank_statement_lines_realm_id_realms'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bank_statement_lines')),
    sa.UniqueConstraint('realm_id', 'bank_transaction_id', name=op.f('uq_bank_statement_lines_realm_id_bank_transaction_id'))
    )
    with op.batch_alter_table('bank_statement_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bank_statement_lines_import_id'), ['import_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_bank_statement_lines_realm_id'), ['realm_id'], unique=False)

    op.create_table('payment_allocations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('payment_id', sa.Integer(), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('amount', ExactDecimal(scale=4, precision=20), nullable=False),
    sa.Column('realm_id', sa.Integer(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], name=op.f('fk_payment_allocations_invoice_id_invoices'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['payment_id'], ['payments.id'], name=op.f('fk_payment_allocations_payment_id_payments'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['realm_id'], ['realms.id'], name=op.f('fk_payment_allocations_realm_id_realms'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_allocations'))
    )
    with op.batch_alter_table('payment_allocations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payment_allocations_invoice_id'), ['invoice_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_payment_allocations_payment_id'), ['payment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_payment_allocations_realm_id'), ['realm_id'], unique=False)

    op.create_table('refunds',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('payment_id', sa.Integer(), nullable=False),
    sa.Column('amount', ExactDecimal(scale=4, precision=20), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('idempotency_key', sa.String(length=200), nullable=False),
    sa.Column('external_id', sa.String(length=255), nullable=True),
    sa.Column('reason', sa.String(length=255), nullable=True),
    sa.Column('created_by', sa.String(length=254), nullable=True),
    sa.Column('realm_id', sa.Integer(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['payment_id'], ['payments.id'], name=op.f('fk_refunds_payment_id_payments'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['realm_id'], ['realms.id'], name=op.f('fk_refunds_realm_id_realms'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_refunds')),
    sa.UniqueConstraint('realm_id', 'idempotency_key', name=op.f('uq_refunds_realm_id_idempotency_key'))
    )
    with op.batch_alter_table('refunds', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_refunds_payment_id'), ['payment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_refunds_realm_id'), ['realm_id'], unique=False)

    op.create_table('topup_orders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('idempotency_key', sa.String(length=200), nullable=False),
    sa.Column('description', sa.String(length=255), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('unit', sa.String(length=20), nullable=True),
    sa.Column('quantity', ExactDecimal(scale=6, precision=20), nullable=True),
    sa.Column('amount', ExactDecimal(scale=4, precision=20), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('payment_id', sa.Integer(), nullable=True),
    sa.Column('applied_at', UTCDateTime(), nullable=True),
    sa.Column('realm_id', sa.Integer(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_topup_orders_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['payment_id'], ['payments.id'], name=op.f('fk_topup_orders_payment_id_payments'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['product_id'], ['topup_products.id'], name=op.f('fk_topup_orders_product_id_topup_products'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['realm_id'], ['realms.id'], name=op.f('fk_topup_orders_realm_id_realms'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_topup_orders')),
    sa.UniqueConstraint('realm_id', 'idempotency_key', name=op.f('uq_topup_orders_realm_id_idempotency_key'))
    )
    with op.batch_alter_table('topup_orders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_topup_orders_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_topup_orders_payment_id'), ['payment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_topup_orders_product_id'), ['product_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_topup_orders_realm_id'), ['realm_id'], unique=False)



def downgrade():
    with op.batch_alter_table('topup_orders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_topup_orders_realm_id'))
        batch_op.drop_index(batch_op.f('ix_topup_orders_product_id'))
        batch_op.drop_index(batch_op.f('ix_topup_orders_payment_id'))
        batch_op.drop_index(batch_op.f('ix_topup_orders_account_id'))

    op.drop_table('topup_orders')
    with op.batch_alter_table('refunds', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_refunds_realm_id'))
        batch_op.drop_index(batch_op.f('ix_refunds_payment_id'))

    op.drop_table('refunds')
    with op.batch_alter_table('payment_allocations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payment_allocations_realm_id'))
        batch_op.drop_index(batch_op.f('ix_payment_allocations_payment_id'))
        batch_op.drop_index(batch_op.f('ix_payment_allocations_invoice_id'))

    op.drop_table('payment_allocations')
    with op.batch_alter_table('bank_statement_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bank_statement_lines_realm_id'))
        batch_op.drop_index(batch_op.f('ix_bank_statement_lines_import_id'))

    op.drop_table('bank_statement_lines')
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payments_realm_id'))
        batch_op.drop_index(batch_op.f('ix_payments_payment_method_id'))
        batch_op.drop_index(batch_op.f('ix_payments_invoice_id'))
        batch_op.drop_index(batch_op.f('ix_payments_account_id'))

    op.drop_table('payments')
    with op.batch_alter_table('charge_retries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_charge_retries_realm_id'))
        batch_op.drop_index(batch_op.f('ix_charge_retries_next_attempt_at'))
        batch_op.drop_index(batch_op.f('ix_charge_retries_account_id'))

    op.drop_table('charge_retries')
    with op.batch_alter_table('payment_methods', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payment_methods_realm_id'))
        batch_op.drop_index(batch_op.f('ix_payment_methods_account_id'))

    op.drop_table('payment_methods')
    with op.batch_alter_table('webhook_deliveries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_webhook_deliveries_realm_id'))

    op.drop_table('webhook_deliveries')
    with op.batch_alter_table('topup_products', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_topup_products_realm_id'))

    op.drop_table('topup_products')
    with op.batch_alter_table('payment_settings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payment_settings_realm_id'))

    op.drop_table('payment_settings')
    with op.batch_alter_table('payment_gateways', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payment_gateways_realm_id'))

    op.drop_table('payment_gateways')
    with op.batch_alter_table('bank_statement_imports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bank_statement_imports_realm_id'))

    op.drop_table('bank_statement_imports')
