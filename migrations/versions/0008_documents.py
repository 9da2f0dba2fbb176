"""invoice and receipt documents, mail

Revision ID: 0008_documents
Revises: 0007_billing_terms
Create Date: 2026-12-07 09:45:00

"""
from alembic import op
import sqlalchemy as sa

from app.models.types import UTCDateTime

# revision identifiers, used by Alembic.
revision = '0008_documents'
down_revision = '0007_billing_terms'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('realm_document_settings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('show_usage_chart', sa.Boolean(), nullable=False),
    sa.Column('message_enabled', sa.Boolean(), nullable=False),
    sa.Column('message_text', sa.Text(), nullable=True),
    sa.Column('message_image', sa.LargeBinary(), nullable=True),
    sa.Column('message_image_mime', sa.String(length=40), nullable=True),
    sa.Column('message_valid_from', sa.Date(), nullable=True),
    sa.Column('message_valid_until', sa.Date(), nullable=True),
    sa.Column('einvoicing', sa.Boolean(), nullable=False),
    sa.Column('smtp_host', sa.String(length=253), nullable=True),
    sa.Column('smtp_port', sa.Integer(), nullable=True),
    sa.Column('smtp_security', sa.String(length=10), nullable=False),
    sa.Column('smtp_user', sa.String(length=200), nullable=True),
    sa.Column('smtp_password_enc', sa.Text(), nullable=True),
    sa.Column('mail_from', sa.String(length=254), nullable=True),
    sa.Column('realm_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['realm_id'], ['realms.id'], name=op.f('fk_realm_document_settings_realm_id_realms'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_realm_document_settings')),
    sa.UniqueConstraint('realm_id', name=op.f('uq_realm_document_settings_realm_id'))
    )
    with op.batch_alter_table('realm_document_settings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_realm_document_settings_realm_id'), ['realm_id'], unique=False)

    op.create_table('documents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('key', sa.String(length=100), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=True),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('mime', sa.String(length=60), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('printed_at', UTCDateTime(), nullable=True),
    sa.Column('realm_id', sa.Integer(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], name=op.f('fk_documents_invoice_id_invoices'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['realm_id'], ['realms.id'], name=op.f('fk_documents_realm_id_realms'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_documents')),
    sa.UniqueConstraint('realm_id', 'key', name=op.f('uq_documents_realm_id_key'))
    )
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_documents_invoice_id'), ['invoice_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_documents_realm_id'), ['realm_id'], unique=False)

    op.create_table('mail_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('realm_id', sa.Integer(), nullable=True),
    sa.Column('dedupe_key', sa.String(length=200), nullable=True),
    sa.Column('recipient', sa.String(length=254), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('message', sa.LargeBinary(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('sent_at', UTCDateTime(), nullable=True),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['realm_id'], ['realms.id'], name=op.f('fk_mail_messages_realm_id_realms'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mail_messages')),
    sa.UniqueConstraint('dedupe_key', name=op.f('uq_mail_messages_dedupe_key'))
    )
    with op.batch_alter_table('mail_messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_mail_messages_realm_id'), ['realm_id'], unique=False)


def downgrade():
    with op.batch_alter_table('mail_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_mail_messages_realm_id'))

    op.drop_table('mail_messages')
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_documents_realm_id'))
        batch_op.drop_index(batch_op.f('ix_documents_invoice_id'))

    op.drop_table('documents')
    with op.batch_alter_table('realm_document_settings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_realm_document_settings_realm_id'))

    op.drop_table('realm_document_settings')
