"""API keys, idempotency, audit log

Revision ID: 0014_api_audit
Revises: 0013_enforcement
Create Date: 2026-12-07 09:45:00

"""
from alembic import op
import sqlalchemy as sa

from app.models.types import ExactDecimal
from app.models.types import UTCDateTime

# revision identifiers, used by Alembic.
revision = '0014_api_audit'
down_revision = '0013_enforcement'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
