"""report runs and pinned reports

Revision ID: 0016_reports
Revises: 0015_audit
Create Date: 2026-12-07 10:50:00

"""
from alembic import op
import sqlalchemy as sa

from app.models.types import UTCDateTime

# revision identifiers, used by Alembic.
revision = '0016_reports'
down_revision = '0015_audit'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('report_pins',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('realm_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['realm_id'], ['realms.id'], name=op.f('fk_report_pins_realm_id_realms'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report_pins')),
    sa.UniqueConstraint('realm_id', 'code', name=op.f('uq_report_pins_realm_id_code'))
    )
    with op.batch_alter_table('report_pins', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_report_pins_realm_id'), ['realm_id'], unique=False)

    op.create_table('report_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('done', sa.Integer(), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('result', sa.JSON(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('finished_at', UTCDateTime(), nullable=True),
    sa.Column('realm_id', sa.Integer(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['realm_id'], ['realms.id'], name=op.f('fk_report_runs_realm_id_realms'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report_runs'))
    )
    with op.batch_alter_table('report_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_report_runs_realm_id'), ['realm_id'], unique=False)


def downgrade():
    with op.batch_alter_table('report_runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_report_runs_realm_id'))
    op.drop_table('report_runs')
    with op.batch_alter_table('report_pins', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_report_pins_realm_id'))
    op.drop_table('report_pins')
