"""usage_records for bulk loading (filled in by the ingest work)

Revision ID: 0018_usage_bulk
Revises: 0017_usage_rollups
Create Date: 2026-12-07 12:40:00

"""

# revision identifiers, used by Alembic.
revision = '0018_usage_bulk'
down_revision = '0017_usage_rollups'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
