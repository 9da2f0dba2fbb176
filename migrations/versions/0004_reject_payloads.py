"""usage rejects keep payloads; imports keep CDR headers

Revision ID: 0004_reject_payloads
Revises: 0003_quotas
Create Date: 2026-11-25 07:27:16.609168

"""
from alembic import op
import sqlalchemy as sa



# revision identifiers, used by Alembic.
revision = '0004_reject_payloads'
down_revision = '0003_quotas'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('usage_imports', schema=None) as batch_op:
        batch_op.add_column(sa.Column('header', sa.Text(), nullable=True))

    with op.batch_alter_table('usage_rejects', schema=None) as batch_op:
        batch_op.add_column(sa.Column('payload', sa.Text(), nullable=True))



def downgrade():
    with op.batch_alter_table('usage_rejects', schema=None) as batch_op:
        batch_op.drop_column('payload')

    with op.batch_alter_table('usage_imports', schema=None) as batch_op:
        batch_op.drop_column('header')

