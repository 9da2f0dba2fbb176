"""vouchers and collections

Revision ID: 0011_vouchers_collections
Revises: 0010_payments
Create Date: 2026-12-07 09:45:00

"""
from alembic import op
import sqlalchemy as sa

from app.models.types import ExactDecimal
from app.models.types import UTCDateTime

# revision identifiers, used by Alembic.
revision = '0011_vouchers_collections'
down_revision = '0010_payments'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
