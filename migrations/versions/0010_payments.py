"""gateways, payment methods, payments, allocations, top-ups

Revision ID: 0010_payments
Revises: 0009_provisioning
Create Date: 2026-12-07 09:45:00

"""
from alembic import op
import sqlalchemy as sa

from app.models.types import ExactDecimal
from app.models.types import UTCDateTime

# revision identifiers, used by Alembic.
revision = '0010_payments'
down_revision = '0009_provisioning'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
