"""quota enforcement

Revision ID: 0013_enforcement
Revises: 0012_wholesale
Create Date: 2026-12-07 09:45:00

"""
from alembic import op
import sqlalchemy as sa

from app.models.types import ExactDecimal
from app.models.types import UTCDateTime

# revision identifiers, used by Alembic.
revision = '0013_enforcement'
down_revision = '0012_wholesale'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
