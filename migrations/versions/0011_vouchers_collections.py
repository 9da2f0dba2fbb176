"""vouchers and collections

Revision ID: 0011_vouchers_collections
Revises: 0010_payments
Create Date: 2026-12-07 09:45:00

"""
from alembic import op
import sqlalchemy as sa

from app.models.types import ExactDecimal
from app.models.types import UTCDateTime

# revision identifiers, used by Alembic.
revision = '0011_vouchers_collections'
down_revision = '0010_payments'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('collection_policies',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('grace_days', sa.Integer(), nullable=False),
    sa.Column('reminder_days', sa.String(length=100), nullable=False),
    sa.Column('final_warning_days', sa.Integer(), nullable=True),
    sa.Column('penalty_kind', sa.String(length=10), nullable=False),
    sa.Column('penalty_amount', ExactDecimal(scale=4, precision=20), nullable=False),
    sa.Column('penalty_days', sa.Integer(), nullable=True),
    sa.Column('suspend_days', sa.Integer(), nullable=True),
    sa.Column('bill_suspended', sa.Boolean(), nullable=False),
    sa.Column('updated_at', UTCDateTime(), nullable=True),
    sa.Column('realm_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['realm_id'], ['realms.id'], name=op.f('fk_collection_policies_realm_id_realms'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_collection_policies')),
    sa.UniqueConstraint('realm_id', name=op.f('uq_collection_policies_realm_id'))
    )
    op.create_index(op.f('ix_collection_policies_realm_id'), 'collection_policies', ['realm_id'], unique=False)
    op.create_table('voucher_batches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('prefix', sa.String(length=12), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('amount', ExactDecimal(scale=6, precision=20), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=True),
    sa.Column('unit', sa.String(length=20), nullable=True),
    sa.Column('product_code', sa.String(length=60), nullable=True),
    sa.Column('product_name', sa.String(length=200), nullable=True),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('pin_digits', sa.Integer(), nullable=False),
    sa.Column('first_number', sa.Integer(), nullable=False),
    sa.Column('expires_at', UTCDateTime(), nullable=True),
    sa.Column('created_by', sa.String(length=254), nullable=True),
    sa.Column('pins_enc', sa.Text(), nullable=True),
    sa.Column('exported_at', UTCDateTime(), nullable=True),
    sa.Column('export_format', sa.String(length=10), nullable=True),
    sa.Column('realm_id', sa.Integer(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['realm_id'], ['realms.id'], name=op.f('fk_voucher_batches_realm_id_realms'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_voucher_batches'))
    )
    op.create_index(op.f('ix_voucher_batches_realm_id'), 'voucher_batches', ['realm_id'], unique=False)
    op.create_table('vouchers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('serial', sa.String(length=40), nullable=False),
    sa.Column('pin_hash', sa.String(length=64), nullable=False),
    sa.Column('key_id', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('amount', ExactDecimal(scale=6, precision=20), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=True),
    sa.Column('unit', sa.String(length=20), nullable=True),
    sa.Column('product_code', sa.String(length=60), nullable=True),
    sa.Column('product_name', sa.String(length=200), nullable=True),
    sa.Column('expires_at', UTCDateTime(), nullable=True),
    sa.Column('activated_at', UTCDateTime(), nullable=True),
    sa.Column('voided_at', UTCDateTime(), nullable=True),
    sa.Column('redeemed_at', UTCDateTime(), nullable=True),
    sa.Column('redeemed_by_account_id', sa.Integer(), nullable=True),
    sa.Column('realm_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['batch_id'], ['voucher_batches.id'], name=op.f('fk_vouchers_batch_id_voucher_batches'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['realm_id'], ['realms.id'], name=op.f('fk_vouchers_realm_id_realms'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['redeemed_by_account_id'], ['accounts.id'], name=op.f('fk_vouchers_redeemed_by_account_id_accounts'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_vouchers')),
    sa.UniqueConstraint('realm_id', 'pin_hash', name=op.f('uq_vouchers_realm_id_pin_hash')),
    sa.UniqueConstraint('realm_id', 'serial', name=op.f('uq_vouchers_realm_id_serial'))
    )
    op.create_index('ix_vouchers_batch_number', 'vouchers', ['batch_id', 'number'], unique=False)
    op.create_index(op.f('ix_vouchers_realm_id'), 'vouchers', ['realm_id'], unique=False)
    op.create_index(op.f('ix_vouchers_redeemed_by_account_id'), 'vouchers', ['redeemed_by_account_id'], unique=False)
    op.create_table('access_grants',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('voucher_id', sa.Integer(), nullable=True),
    sa.Column('product_code', sa.String(length=60), nullable=False),
    sa.Column('product_name', sa.String(length=200), nullable=True),
    sa.Column('realm_id', sa.Integer(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_access_grants_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['realm_id'], ['realms.id'], name=op.f('fk_access_grants_realm_id_realms'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['voucher_id'], ['vouchers.id'], name=op.f('fk_access_grants_voucher_id_vouchers'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_access_grants')),
    sa.UniqueConstraint('voucher_id', name=op.f('uq_access_grants_voucher_id'))
    )
    op.create_index(op.f('ix_access_grants_account_id'), 'access_grants', ['account_id'], unique=False)
    op.create_index(op.f('ix_access_grants_realm_id'), 'access_grants', ['realm_id'], unique=False)
    op.create_table('dunning_steps',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('step', sa.String(length=20), nullable=False),
    sa.Column('days_overdue', sa.Integer(), nullable=False),
    sa.Column('resolved_at', UTCDateTime(), nullable=True),
    sa.Column('realm_id', sa.Integer(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_dunning_steps_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], name=op.f('fk_dunning_steps_invoice_id_invoices'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['realm_id'], ['realms.id'], name=op.f('fk_dunning_steps_realm_id_realms'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dunning_steps')),
    sa.UniqueConstraint('invoice_id', 'step', name=op.f('uq_dunning_steps_invoice_id_step'))
    )
    op.create_index(op.f('ix_dunning_steps_account_id'), 'dunning_steps', ['account_id'], unique=False)
    op.create_index(op.f('ix_dunning_steps_realm_id'), 'dunning_steps', ['realm_id'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_dunning_steps_realm_id'), table_name='dunning_steps')
    op.drop_index(op.f('ix_dunning_steps_account_id'), table_name='dunning_steps')
    op.drop_table('dunning_steps')
    op.drop_index(op.f('ix_access_grants_realm_id'), table_name='access_grants')
    op.drop_index(op.f('ix_access_grants_account_id'), table_name='access_grants')
    op.drop_table('access_grants')
    op.drop_index(op.f('ix_vouchers_redeemed_by_account_id'), table_name='vouchers')
    op.drop_index(op.f('ix_vouchers_realm_id'), table_name='vouchers')
    op.drop_index('ix_vouchers_batch_number', table_name='vouchers')
    op.drop_table('vouchers')
    op.drop_index(op.f('ix_voucher_batches_realm_id'), table_name='voucher_batches')
    op.drop_table('voucher_batches')
    op.drop_index(op.f('ix_collection_policies_realm_id'), table_name='collection_policies')
    op.drop_table('collection_policies')
