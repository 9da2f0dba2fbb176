"""foundation: realms, staff, accounts, cost centres, plans, subscriptions

Revision ID: 0001_foundation
Revises: 
Create Date: 2026-11-25 06:53:45.470937

"""
from alembic import op
import sqlalchemy as sa

from app.models.types import ExactDecimal
from app.models.types import UTCDateTime

# revision identifiers, used by Alembic.
revision = '0001_foundation'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('realms',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=63), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('owner_account_id', sa.Integer(), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('locale', sa.String(length=10), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('theme', sa.String(length=40), nullable=False),
    sa.Column('primary_colour', sa.String(length=7), nullable=False),
    sa.Column('secondary_colour', sa.String(length=7), nullable=False),
    sa.Column('watermark', sa.String(length=60), nullable=True),
    sa.Column('logo', sa.LargeBinary(), nullable=True),
    sa.Column('logo_mime', sa.String(length=40), nullable=True),
    sa.Column('invoice_prefix', sa.String(length=20), nullable=False),
    sa.Column('payment_terms_days', sa.Integer(), nullable=False),
    sa.Column('invoice_footer', sa.Text(), nullable=True),
    sa.Column('email_invoices', sa.Boolean(), nullable=False),
    sa.Column('seller_tax_id', sa.String(length=40), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['parent_id'], ['realms.id'], name=op.f('fk_realms_parent_id_realms')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_realms')),
    sa.UniqueConstraint('slug', name=op.f('uq_realms_slug'))
    )
    with op.batch_alter_table('realms', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_realms_parent_id'), ['parent_id'], unique=False)

    op.create_table('bundles',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('realm_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['realm_id'], ['realms.id'], name=op.f('fk_bundles_realm_id_realms'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bundles')),
    sa.UniqueConstraint('realm_id', 'code', name=op.f('uq_bundles_realm_id_code'))
    )
    with op.batch_alter_table('bundles', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bundles_realm_id'), ['realm_id'], unique=False)

    op.create_table('cost_centres',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('realm_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['parent_id'], ['cost_centres.id'], name=op.f('fk_cost_centres_parent_id_cost_centres'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['realm_id'], ['realms.id'], name=op.f('fk_cost_centres_realm_id_realms'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cost_centres')),
    sa.UniqueConstraint('realm_id', 'code', name=op.f('uq_cost_centres_realm_id_code'))
    )
    with op.batch_alter_table('cost_centres', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cost_centres_parent_id'), ['parent_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_cost_centres_realm_id'), ['realm_id'], unique=False)

    op.create_table('departments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('realm_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['realm_id'], ['realms.id'], name=op.f('fk_departments_realm_id_realms'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_departments')),
    sa.UniqueConstraint('realm_id', 'name', name=op.f('uq_departments_realm_id_name'))
    )
    with op.batch_alter_table('departments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_departments_realm_id'), ['realm_id'], unique=False)

    op.create_table('realm_domains',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('realm_id', sa.Integer(), nullable=False),
    sa.Column('domain', sa.String(length=253), nullable=False),
    sa.ForeignKeyConstraint(['realm_id'], ['realms.id'], name=op.f('fk_realm_domains_realm_id_realms'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_realm_domains')),
    sa.UniqueConstraint('domain', name=op.f('uq_realm_domains_domain'))
    )
    with op.batch_alter_table('realm_domains', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_realm_domains_realm_id'), ['realm_id'], unique=False)

    op.create_table('staff_users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('password_hash', sa.String(length=200), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('locale', sa.String(length=10), nullable=True),
    sa.Column('realm_id', sa.Integer(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['realm_id'], ['realms.id'], name=op.f('fk_staff_users_realm_id_realms'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_users')),
    sa.UniqueConstraint('realm_id', 'email', name=op.f('uq_staff_users_realm_id_email'))
    )
    with op.batch_alter_table('staff_users', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_staff_users_realm_id'), ['realm_id'], unique=False)

    op.create_table('accounts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=30), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('phone', sa.String(length=40), nullable=True),
    sa.Column('address', sa.Text(), nullable=True),
    sa.Column('tax_id', sa.String(length=40), nullable=True),
    sa.Column('locale', sa.String(length=10), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('password_hash', sa.String(length=200), nullable=True),
    sa.Column('service_password_enc', sa.Text(), nullable=True),
    sa.Column('cost_centre_id', sa.Integer(), nullable=True),
    sa.Column('realm_id', sa.Integer(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['cost_centre_id'], ['cost_centres.id'], name=op.f('fk_accounts_cost_centre_id_cost_centres'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['realm_id'], ['realms.id'], name=op.f('fk_accounts_realm_id_realms'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_accounts')),
    sa.UniqueConstraint('realm_id', 'number', name=op.f('uq_accounts_realm_id_number')),
    sa.UniqueConstraint('realm_id', 'username', name=op.f('uq_accounts_realm_id_username'))
    )
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_accounts_cost_centre_id'), ['cost_centre_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_accounts_realm_id'), ['realm_id'], unique=False)

    op.create_table('plans',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('bundle_id', sa.Integer(), nullable=True),
    sa.Column('realm_id', sa.Integer(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['bundle_id'], ['bundles.id'], name=op.f('fk_plans_bundle_id_bundles'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['realm_id'], ['realms.id'], name=op.f('fk_plans_realm_id_realms'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plans')),
    sa.UniqueConstraint('realm_id', 'code', name=op.f('uq_plans_realm_id_code'))
    )
    with op.batch_alter_table('plans', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_plans_realm_id'), ['realm_id'], unique=False)

    op.create_table('staff_departments',
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'], name=op.f('fk_staff_departments_department_id_departments'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['staff_id'], ['staff_users.id'], name=op.f('fk_staff_departments_staff_id_staff_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('staff_id', 'department_id', name=op.f('pk_staff_departments'))
    )
    op.create_table('plan_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('effective_from', sa.Date(), nullable=False),
    sa.Column('custom_units', sa.String(length=200), nullable=True),
    sa.Column('realm_id', sa.Integer(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['plan_id'], ['plans.id'], name=op.f('fk_plan_versions_plan_id_plans'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['realm_id'], ['realms.id'], name=op.f('fk_plan_versions_realm_id_realms'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plan_versions')),
    sa.UniqueConstraint('plan_id', 'number', name=op.f('uq_plan_versions_plan_id_number'))
    )
    with op.batch_alter_table('plan_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_plan_versions_plan_id'), ['plan_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_plan_versions_realm_id'), ['realm_id'], unique=False)

    op.create_table('charge_bands',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('unit', sa.String(length=20), nullable=False),
    sa.Column('max_usage', ExactDecimal(scale=6, precision=20), nullable=False),
    sa.Column('price', ExactDecimal(scale=6, precision=20), nullable=False),
    sa.Column('increment', ExactDecimal(scale=6, precision=20), nullable=True),
    sa.Column('round_per', sa.String(length=10), nullable=False),
    sa.Column('realm_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['realm_id'], ['realms.id'], name=op.f('fk_charge_bands_realm_id_realms'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['version_id'], ['plan_versions.id'], name=op.f('fk_charge_bands_version_id_plan_versions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_charge_bands'))
    )
    with op.batch_alter_table('charge_bands', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_charge_bands_realm_id'), ['realm_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_charge_bands_version_id'), ['version_id'], unique=False)

    op.create_table('plan_fees',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('period', sa.String(length=20), nullable=True),
    sa.Column('every_days', sa.Integer(), nullable=True),
    sa.Column('amount', ExactDecimal(scale=4, precision=20), nullable=False),
    sa.Column('realm_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['realm_id'], ['realms.id'], name=op.f('fk_plan_fees_realm_id_realms'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['version_id'], ['plan_versions.id'], name=op.f('fk_plan_fees_version_id_plan_versions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plan_fees'))
    )
    with op.batch_alter_table('plan_fees', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_plan_fees_realm_id'), ['realm_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_plan_fees_version_id'), ['version_id'], unique=False)

    op.create_table('plan_quotas',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('unit', sa.String(length=20), nullable=False),
    sa.Column('amount', ExactDecimal(scale=6, precision=20), nullable=False),
    sa.Column('realm_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['realm_id'], ['realms.id'], name=op.f('fk_plan_quotas_realm_id_realms'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['version_id'], ['plan_versions.id'], name=op.f('fk_plan_quotas_version_id_plan_versions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plan_quotas'))
    )
    with op.batch_alter_table('plan_quotas', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_plan_quotas_realm_id'), ['realm_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_plan_quotas_version_id'), ['version_id'], unique=False)

    op.create_table('subscriptions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('plan_version_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=True),
    sa.Column('anchor_day', sa.Integer(), nullable=False),
    sa.Column('realm_id', sa.Integer(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_subscriptions_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['plan_version_id'], ['plan_versions.id'], name=op.f('fk_subscriptions_plan_version_id_plan_versions'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['realm_id'], ['realms.id'], name=op.f('fk_subscriptions_realm_id_realms'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subscriptions'))
    )
    with op.batch_alter_table('subscriptions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_subscriptions_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_subscriptions_plan_version_id'), ['plan_version_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_subscriptions_realm_id'), ['realm_id'], unique=False)
    # realms <-> accounts refer to each other: the owner FK is added once both exist.
    with op.batch_alter_table('realms', schema=None) as batch_op:
        batch_op.create_foreign_key(batch_op.f('fk_realms_owner_account_id_accounts'), 'accounts', ['owner_account_id'], ['id'], ondelete='SET NULL')


def downgrade():
    with op.batch_alter_table('realms', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_realms_owner_account_id_accounts'), type_='foreignkey')
    with op.batch_alter_table('subscriptions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_subscriptions_realm_id'))
        batch_op.drop_index(batch_op.f('ix_subscriptions_plan_version_id'))
        batch_op.drop_index(batch_op.f('ix_subscriptions_account_id'))

    op.drop_table('subscriptions')
    with op.batch_alter_table('plan_quotas', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_plan_quotas_version_id'))
        batch_op.drop_index(batch_op.f('ix_plan_quotas_realm_id'))

    op.drop_table('plan_quotas')
    with op.batch_alter_table('plan_fees', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_plan_fees_version_id'))
        batch_op.drop_index(batch_op.f('ix_plan_fees_realm_id'))

    op.drop_table('plan_fees')
    with op.batch_alter_table('charge_bands', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_charge_bands_version_id'))
        batch_op.drop_index(batch_op.f('ix_charge_bands_realm_id'))

    op.drop_table('charge_bands')
    with op.batch_alter_table('plan_versions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_plan_versions_realm_id'))
        batch_op.drop_index(batch_op.f('ix_plan_versions_plan_id'))

    op.drop_table('plan_versions')
    op.drop_table('staff_departments')
    with op.batch_alter_table('plans', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_plans_realm_id'))

    op.drop_table('plans')
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_accounts_realm_id'))
        batch_op.drop_index(batch_op.f('ix_accounts_cost_centre_id'))

    op.drop_table('accounts')
    with op.batch_alter_table('staff_users', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_staff_users_realm_id'))

    op.drop_table('staff_users')
    with op.batch_alter_table('realm_domains', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_realm_domains_realm_id'))

    op.drop_table('realm_domains')
    with op.batch_alter_table('departments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_departments_realm_id'))

    op.drop_table('departments')
    with op.batch_alter_table('cost_centres', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cost_centres_realm_id'))
        batch_op.drop_index(batch_op.f('ix_cost_centres_parent_id'))

    op.drop_table('cost_centres')
    with op.batch_alter_table('bundles', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bundles_realm_id'))

    op.drop_table('bundles')
    with op.batch_alter_table('realms', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_realms_parent_id'))

    op.drop_table('realms')
