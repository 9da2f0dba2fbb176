"""meters

Revision ID: 0005_meters
Revises: 0004_reject_payloads
Create Date: 2026-11-25 07:29:08.648605

"""
from alembic import op
import sqlalchemy as sa

from app.models.types import ExactDecimal
from app.models.types import UTCDateTime

# revision identifiers, used by Alembic.
revision = '0005_meters'
down_revision = '0004_reject_payloads'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('meters',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('serial', sa.String(length=64), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('unit', sa.String(length=20), nullable=False),
    sa.Column('modulus', ExactDecimal(scale=6, precision=20), nullable=True),
    sa.Column('last_value', ExactDecimal(scale=6, precision=20), nullable=True),
    sa.Column('last_read_at', UTCDateTime(), nullable=True),
    sa.Column('realm_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_meters_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['realm_id'], ['realms.id'], name=op.f('fk_meters_realm_id_realms'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_meters')),
    sa.UniqueConstraint('realm_id', 'serial', name=op.f('uq_meters_realm_id_serial'))
    )
    with op.batch_alter_table('meters', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_meters_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_meters_realm_id'), ['realm_id'], unique=False)



def downgrade():
    with op.batch_alter_table('meters', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_meters_realm_id'))
        batch_op.drop_index(batch_op.f('ix_meters_account_id'))

    op.drop_table('meters')
