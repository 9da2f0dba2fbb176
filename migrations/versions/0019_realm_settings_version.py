"""realms.settings_version: a stamp that changes with the realm's billing terms and plans

Revision ID: 0019_realm_settings_version
Revises: 0018_usage_bulk
Create Date: 2026-12-07 15:00:00

The realm row is read on every request; with this stamp on it a page can keep the realm's
billing terms (tax settings, rates, discounts) and compiled plans between requests and
know, without another statement, that they are still the ones in force
(app/models/settings_stamp.py raises it on every change).
"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0019_realm_settings_version'
down_revision = '0018_usage_bulk'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('realms', schema=None) as batch_op:
        batch_op.add_column(sa.Column('settings_version', sa.Integer(), nullable=False, server_default='0'))


def downgrade():
    with op.batch_alter_table('realms', schema=None) as batch_op:
        batch_op.drop_column('settings_version')
