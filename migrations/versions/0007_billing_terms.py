"""taxes, discounts, credit notes, plan versions, charges

Revision ID: 0007_billing_terms
Revises: 0006_invoices
Create Date: 2026-12-07 09:45:00

"""
from alembic import op
import sqlalchemy as sa

from app.models.types import ExactDecimal
from app.models.types import UTCDateTime

# revision identifiers, used by Alembic.
revision = '0007_billing_terms'
down_revision = '0006_invoices'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
