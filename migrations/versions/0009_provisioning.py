"""processing modules, operations, tasks, events

Revision ID: 0009_provisioning
Revises: 0008_documents
Create Date: 2026-12-07 09:45:00

"""
from alembic import op
import sqlalchemy as sa

from app.models.types import ExactDecimal
from app.models.types import UTCDateTime

# revision identifiers, used by Alembic.
revision = '0009_provisioning'
down_revision = '0008_documents'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
