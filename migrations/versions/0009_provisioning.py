"""processing modules, operations, tasks, events

Revision ID: 0009_provisioning
Revises: 0008_documents
Create Date: 2026-12-07 09:45:00

"""
import sqlalchemy as sa
from alembic import op

from app.models.types import UTCDateTime

# revision identifiers, used by Alembic.
revision = '0009_provisioning'
down_revision = '0008_documents'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('type', sa.String(length=40), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=True),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('processed_at', UTCDateTime(), nullable=True),
    sa.Column('realm_id', sa.Integer(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_events_account_id_accounts'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['realm_id'], ['realms.id'], name=op.f('fk_events_realm_id_realms'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_events'))
    )
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_events_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_events_realm_id'), ['realm_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_events_type'), ['type'], unique=False)

    op.create_table('processing_modules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('adapter', sa.String(length=40), nullable=True),
    sa.Column('data_centre', sa.String(length=100), nullable=True),
    sa.Column('department_id', sa.Integer(), nullable=True),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('settings', sa.JSON(), nullable=False),
    sa.Column('secrets_enc', sa.Text(), nullable=True),
    sa.Column('retry_interval_seconds', sa.Integer(), nullable=False),
    sa.Column('max_attempts', sa.Integer(), nullable=False),
    sa.Column('last_check_at', UTCDateTime(), nullable=True),
    sa.Column('last_check_ok', sa.Boolean(), nullable=True),
    sa.Column('last_check_message', sa.Text(), nullable=True),
    sa.Column('realm_id', sa.Integer(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'], name=op.f('fk_processing_modules_department_id_departments'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['realm_id'], ['realms.id'], name=op.f('fk_processing_modules_realm_id_realms'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_processing_modules')),
    sa.UniqueConstraint('realm_id', 'name', name=op.f('uq_processing_modules_realm_id_name'))
    )
    with op.batch_alter_table('processing_modules', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_processing_modules_department_id'), ['department_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_processing_modules_realm_id'), ['realm_id'], unique=False)

    op.create_table('services',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('subscription_id', sa.Integer(), nullable=True),
    sa.Column('plan_id', sa.Integer(), nullable=True),
    sa.Column('module_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('activated_at', UTCDateTime(), nullable=True),
    sa.Column('ended_at', UTCDateTime(), nullable=True),
    sa.Column('realm_id', sa.Integer(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_services_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['module_id'], ['processing_modules.id'], name=op.f('fk_services_module_id_processing_modules'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['plan_id'], ['plans.id'], name=op.f('fk_services_plan_id_plans'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['realm_id'], ['realms.id'], name=op.f('fk_services_realm_id_realms'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['subscription_id'], ['subscriptions.id'], name=op.f('fk_services_subscription_id_subscriptions'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_services'))
    )
    with op.batch_alter_table('services', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_services_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_services_module_id'), ['module_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_services_plan_id'), ['plan_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_services_realm_id'), ['realm_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_services_subscription_id'), ['subscription_id'], unique=False)

    op.create_table('provisioning_operations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('service_id', sa.Integer(), nullable=False),
    sa.Column('module_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', UTCDateTime(), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('result', sa.Text(), nullable=True),
    sa.Column('finished_at', UTCDateTime(), nullable=True),
    sa.Column('realm_id', sa.Integer(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['module_id'], ['processing_modules.id'], name=op.f('fk_provisioning_operations_module_id_processing_modules'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['realm_id'], ['realms.id'], name=op.f('fk_provisioning_operations_realm_id_realms'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['service_id'], ['services.id'], name=op.f('fk_provisioning_operations_service_id_services'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_provisioning_operations'))
    )
    with op.batch_alter_table('provisioning_operations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_provisioning_operations_module_id'), ['module_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_provisioning_operations_realm_id'), ['realm_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_provisioning_operations_service_id'), ['service_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_provisioning_operations_status'), ['status'], unique=False)

    op.create_table('provisioning_attempts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('operation_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('started_at', UTCDateTime(), nullable=False),
    sa.Column('finished_at', UTCDateTime(), nullable=True),
    sa.Column('ok', sa.Boolean(), nullable=False),
    sa.Column('message', sa.Text(), nullable=True),
    sa.Column('realm_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['operation_id'], ['provisioning_operations.id'], name=op.f('fk_provisioning_attempts_operation_id_provisioning_operations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['realm_id'], ['realms.id'], name=op.f('fk_provisioning_attempts_realm_id_realms'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_provisioning_attempts')),
    sa.UniqueConstraint('operation_id', 'number', name=op.f('uq_provisioning_attempts_operation_id_number'))
    )
    with op.batch_alter_table('provisioning_attempts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_provisioning_attempts_operation_id'), ['operation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_provisioning_attempts_realm_id'), ['realm_id'], unique=False)

    op.create_table('provisioning_tasks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('operation_id', sa.Integer(), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=True),
    sa.Column('assignee_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('closed_at', UTCDateTime(), nullable=True),
    sa.Column('realm_id', sa.Integer(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['assignee_id'], ['staff_users.id'], name=op.f('fk_provisioning_tasks_assignee_id_staff_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'], name=op.f('fk_provisioning_tasks_department_id_departments'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['operation_id'], ['provisioning_operations.id'], name=op.f('fk_provisioning_tasks_operation_id_provisioning_operations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['realm_id'], ['realms.id'], name=op.f('fk_provisioning_tasks_realm_id_realms'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_provisioning_tasks')),
    sa.UniqueConstraint('operation_id', name=op.f('uq_provisioning_tasks_operation_id'))
    )
    with op.batch_alter_table('provisioning_tasks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_provisioning_tasks_assignee_id'), ['assignee_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_provisioning_tasks_department_id'), ['department_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_provisioning_tasks_realm_id'), ['realm_id'], unique=False)

    op.create_table('event_actions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_type', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('config', sa.JSON(), nullable=False),
    sa.Column('secret_enc', sa.Text(), nullable=True),
    sa.Column('default_key', sa.String(length=40), nullable=True),
    sa.Column('realm_id', sa.Integer(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['realm_id'], ['realms.id'], name=op.f('fk_event_actions_realm_id_realms'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_event_actions')),
    sa.UniqueConstraint('realm_id', 'default_key', name=op.f('uq_event_actions_realm_id_default_key'))
    )
    with op.batch_alter_table('event_actions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_event_actions_event_type'), ['event_type'], unique=False)
        batch_op.create_index(batch_op.f('ix_event_actions_realm_id'), ['realm_id'], unique=False)

    op.create_table('action_deliveries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('action_id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('response_status', sa.Integer(), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('next_attempt_at', UTCDateTime(), nullable=True),
    sa.Column('delivered_at', UTCDateTime(), nullable=True),
    sa.Column('realm_id', sa.Integer(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['action_id'], ['event_actions.id'], name=op.f('fk_action_deliveries_action_id_event_actions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_action_deliveries_event_id_events'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['realm_id'], ['realms.id'], name=op.f('fk_action_deliveries_realm_id_realms'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_action_deliveries')),
    sa.UniqueConstraint('action_id', 'event_id', name=op.f('uq_action_deliveries_action_id_event_id'))
    )
    with op.batch_alter_table('action_deliveries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_action_deliveries_action_id'), ['action_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_action_deliveries_event_id'), ['event_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_action_deliveries_realm_id'), ['realm_id'], unique=False)

    op.create_table('subscriber_auth',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('method', sa.String(length=10), nullable=False),
    sa.Column('settings', sa.JSON(), nullable=False),
    sa.Column('secret_enc', sa.Text(), nullable=True),
    sa.Column('realm_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['realm_id'], ['realms.id'], name=op.f('fk_subscriber_auth_realm_id_realms'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subscriber_auth')),
    sa.UniqueConstraint('realm_id', name=op.f('uq_subscriber_auth_realm_id'))
    )
    with op.batch_alter_table('subscriber_auth', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_subscriber_auth_realm_id'), ['realm_id'], unique=False)

    with op.batch_alter_table('plans', schema=None) as batch_op:
        batch_op.add_column(sa.Column('processing_module_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('account_template', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('resources', sa.JSON(), nullable=True))
        batch_op.create_index(batch_op.f('ix_plans_processing_module_id'), ['processing_module_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_plans_processing_module_id_processing_modules'), 'processing_modules', ['processing_module_id'], ['id'], ondelete='SET NULL')


def downgrade():
    with op.batch_alter_table('plans', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_plans_processing_module_id_processing_modules'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_plans_processing_module_id'))
        batch_op.drop_column('resources')
        batch_op.drop_column('account_template')
        batch_op.drop_column('processing_module_id')

    with op.batch_alter_table('subscriber_auth', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_subscriber_auth_realm_id'))

    op.drop_table('subscriber_auth')
    with op.batch_alter_table('action_deliveries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_action_deliveries_realm_id'))
        batch_op.drop_index(batch_op.f('ix_action_deliveries_event_id'))
        batch_op.drop_index(batch_op.f('ix_action_deliveries_action_id'))

    op.drop_table('action_deliveries')
    with op.batch_alter_table('event_actions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_event_actions_realm_id'))
        batch_op.drop_index(batch_op.f('ix_event_actions_event_type'))

    op.drop_table('event_actions')
    with op.batch_alter_table('provisioning_tasks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_provisioning_tasks_realm_id'))
        batch_op.drop_index(batch_op.f('ix_provisioning_tasks_department_id'))
        batch_op.drop_index(batch_op.f('ix_provisioning_tasks_assignee_id'))

    op.drop_table('provisioning_tasks')
    with op.batch_alter_table('provisioning_attempts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_provisioning_attempts_realm_id'))
        batch_op.drop_index(batch_op.f('ix_provisioning_attempts_operation_id'))

    op.drop_table('provisioning_attempts')
    with op.batch_alter_table('provisioning_operations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_provisioning_operations_status'))
        batch_op.drop_index(batch_op.f('ix_provisioning_operations_service_id'))
        batch_op.drop_index(batch_op.f('ix_provisioning_operations_realm_id'))
        batch_op.drop_index(batch_op.f('ix_provisioning_operations_module_id'))

    op.drop_table('provisioning_operations')
    with op.batch_alter_table('services', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_services_subscription_id'))
        batch_op.drop_index(batch_op.f('ix_services_realm_id'))
        batch_op.drop_index(batch_op.f('ix_services_plan_id'))
        batch_op.drop_index(batch_op.f('ix_services_module_id'))
        batch_op.drop_index(batch_op.f('ix_services_account_id'))

    op.drop_table('services')
    with op.batch_alter_table('processing_modules', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_processing_modules_realm_id'))
        batch_op.drop_index(batch_op.f('ix_processing_modules_department_id'))

    op.drop_table('processing_modules')
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_events_type'))
        batch_op.drop_index(batch_op.f('ix_events_realm_id'))
        batch_op.drop_index(batch_op.f('ix_events_account_id'))

    op.drop_table('events')
