"""taxes, discounts, credit notes, plan versions, charges

Revision ID: 0007_billing_terms
Revises: 0006_invoices
Create Date: 2026-12-07 09:45:00

"""
from alembic import op
import sqlalchemy as sa

from app.models.types import ExactDecimal
from app.models.types import UTCDateTime

# revision identifiers, used by Alembic.
revision = '0007_billing_terms'
down_revision = '0006_invoices'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('tax_rates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('rate', ExactDecimal(scale=4, precision=20), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('valid_until', sa.Date(), nullable=True),
    sa.Column('realm_id', sa.Integer(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['realm_id'], ['realms.id'], name=op.f('fk_tax_rates_realm_id_realms'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tax_rates'))
    )

    with op.batch_alter_table('tax_rates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tax_rates_realm_id'), ['realm_id'], unique=False)

    op.create_table('tax_settings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('country', sa.String(length=2), nullable=True),
    sa.Column('prices_include_tax', sa.Boolean(), nullable=False),
    sa.Column('tax_rounding', sa.String(length=10), nullable=False),
    sa.Column('rounding_mode', sa.String(length=20), nullable=False),
    sa.Column('reverse_charge_note', sa.Text(), nullable=True),
    sa.Column('realm_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['realm_id'], ['realms.id'], name=op.f('fk_tax_settings_realm_id_realms'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tax_settings')),
    sa.UniqueConstraint('realm_id', name=op.f('uq_tax_settings_realm_id'))
    )

    with op.batch_alter_table('tax_settings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tax_settings_realm_id'), ['realm_id'], unique=False)

    op.create_table('buyer_tax_profiles',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('country', sa.String(length=2), nullable=True),
    sa.Column('reverse_charge', sa.Boolean(), nullable=False),
    sa.Column('realm_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_buyer_tax_profiles_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['realm_id'], ['realms.id'], name=op.f('fk_buyer_tax_profiles_realm_id_realms'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_buyer_tax_profiles')),
    sa.UniqueConstraint('realm_id', 'account_id', name=op.f('uq_buyer_tax_profiles_realm_id_account_id'))
    )

    with op.batch_alter_table('buyer_tax_profiles', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_buyer_tax_profiles_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_buyer_tax_profiles_realm_id'), ['realm_id'], unique=False)

    op.create_table('discounts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('value', ExactDecimal(scale=4, precision=20), nullable=False),
    sa.Column('scope', sa.String(length=10), nullable=False),
    sa.Column('line_kind', sa.String(length=20), nullable=True),
    sa.Column('account_id', sa.Integer(), nullable=True),
    sa.Column('plan_id', sa.Integer(), nullable=True),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('valid_until', sa.Date(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('realm_id', sa.Integer(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_discounts_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['plan_id'], ['plans.id'], name=op.f('fk_discounts_plan_id_plans'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['realm_id'], ['realms.id'], name=op.f('fk_discounts_realm_id_realms'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_discounts'))
    )

    with op.batch_alter_table('discounts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_discounts_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_discounts_plan_id'), ['plan_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_discounts_realm_id'), ['realm_id'], unique=False)

    op.create_table('charges',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('quantity', ExactDecimal(scale=6, precision=20), nullable=False),
    sa.Column('unit', sa.String(length=20), nullable=True),
    sa.Column('unit_price', ExactDecimal(scale=6, precision=20), nullable=True),
    sa.Column('amount', ExactDecimal(scale=4, precision=20), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('charge_on', sa.Date(), nullable=False),
    sa.Column('source_key', sa.String(length=120), nullable=True),
    sa.Column('invoice_id', sa.Integer(), nullable=True),
    sa.Column('realm_id', sa.Integer(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_charges_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], name=op.f('fk_charges_invoice_id_invoices'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['realm_id'], ['realms.id'], name=op.f('fk_charges_realm_id_realms'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_charges')),
    sa.UniqueConstraint('realm_id', 'source_key', name=op.f('uq_charges_realm_id_source_key'))
    )

    with op.batch_alter_table('charges', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_charges_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_charges_invoice_id'), ['invoice_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_charges_realm_id'), ['realm_id'], unique=False)

    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('tax_rate', ExactDecimal(scale=4, precision=20), nullable=True))
        batch_op.add_column(sa.Column('prices_include_tax', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('reverse_charge', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('voided_at', UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('void_reason', sa.Text(), nullable=True))

    with op.batch_alter_table('subscriptions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=20), nullable=False, server_default='recurring'))
        batch_op.add_column(sa.Column('anchor_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('fees_from', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('previous_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_subscriptions_previous_id_subscriptions'), 'subscriptions', ['previous_id'], ['id'], ondelete='SET NULL')



def downgrade():
    with op.batch_alter_table('subscriptions', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_subscriptions_previous_id_subscriptions'), type_='foreignkey')
        batch_op.drop_column('previous_id')
        batch_op.drop_column('fees_from')
        batch_op.drop_column('anchor_on')
        batch_op.drop_column('kind')

    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.drop_column('void_reason')
        batch_op.drop_column('voided_at')
        batch_op.drop_column('reverse_charge')
        batch_op.drop_column('prices_include_tax')
        batch_op.drop_column('tax_rate')

    with op.batch_alter_table('charges', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_charges_realm_id'))
        batch_op.drop_index(batch_op.f('ix_charges_invoice_id'))
        batch_op.drop_index(batch_op.f('ix_charges_account_id'))

    op.drop_table('charges')

    with op.batch_alter_table('discounts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_discounts_realm_id'))
        batch_op.drop_index(batch_op.f('ix_discounts_plan_id'))
        batch_op.drop_index(batch_op.f('ix_discounts_account_id'))

    op.drop_table('discounts')

    with op.batch_alter_table('buyer_tax_profiles', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_buyer_tax_profiles_realm_id'))
        batch_op.drop_index(batch_op.f('ix_buyer_tax_profiles_account_id'))

    op.drop_table('buyer_tax_profiles')

    with op.batch_alter_table('tax_settings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tax_settings_realm_id'))

    op.drop_table('tax_settings')

    with op.batch_alter_table('tax_rates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tax_rates_realm_id'))

    op.drop_table('tax_rates')
