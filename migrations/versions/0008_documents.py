"""invoice and receipt documents, mail

Revision ID: 0008_documents
Revises: 0007_billing_terms
Create Date: 2026-12-07 09:45:00

"""
from alembic import op
import sqlalchemy as sa

from app.models.types import ExactDecimal
from app.models.types import UTCDateTime

# revision identifiers, used by Alembic.
revision = '0008_documents'
down_revision = '0007_billing_terms'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
