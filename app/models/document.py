"""Documents (invoice and receipt PDFs, stored once), per-realm document settings, and
the mail outbox.

A finalized invoice's PDF is rendered once and stored with its SHA-256; later requests
return the stored bytes, so the document a customer received never changes. Mail goes
through an outbox row first (committed before sending), keyed by an optional dedupe key,
so a retried job neither loses a message nor sends it twice.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    Date,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from tenants.scoping import RealmScoped

from .base import Timestamped
from .types import UTCDateTime

DOCUMENT_KINDS = ("invoice", "receipt")
SMTP_SECURITY = ("starttls", "ssl", "none")
MAIL_STATUSES = ("queued", "sent", "failed", "held")


class DocumentSettings(RealmScoped, db.Model):
    """A realm's invoice design, e-invoicing and outgoing mail settings (one row per realm).

    Automatic delivery by e-mail is the realm's ``email_invoices`` switch.
    """

    __tablename__ = "realm_document_settings"
    __table_args__ = (UniqueConstraint("realm_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    show_usage_chart: Mapped[bool] = mapped_column(Boolean, default=False)
    message_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    message_text: Mapped[str | None] = mapped_column(Text)
    message_image: Mapped[bytes | None] = mapped_column(LargeBinary)
    message_image_mime: Mapped[str | None] = mapped_column(String(40))
    message_valid_from: Mapped[date | None] = mapped_column(Date)
    message_valid_until: Mapped[date | None] = mapped_column(Date)
    einvoicing: Mapped[bool] = mapped_column(Boolean, default=False)
    smtp_host: Mapped[str | None] = mapped_column(String(253))
    smtp_port: Mapped[int | None] = mapped_column(Integer)
    smtp_security: Mapped[str] = mapped_column(String(10), default="starttls")
    smtp_user: Mapped[str | None] = mapped_column(String(200))
    smtp_password_enc: Mapped[str | None] = mapped_column(Text)
    mail_from: Mapped[str | None] = mapped_column(String(254))


class Document(RealmScoped, Timestamped, db.Model):
    """A rendered document, stored once under its ``key`` (e.g. ``invoice-42``)."""

    __tablename__ = "documents"
    __table_args__ = (UniqueConstraint("realm_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    key: Mapped[str] = mapped_column(String(100))
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoices.id", ondelete="RESTRICT"), index=True)
    filename: Mapped[str] = mapped_column(String(200))
    mime: Mapped[str] = mapped_column(String(60))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    # Print and post: when staff marked the paper copy as printed.
    printed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class MailMessage(Timestamped, db.Model):
    """The outbox: one message as sent (RFC 5322 bytes), with its delivery state."""

    __tablename__ = "mail_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    realm_id: Mapped[int | None] = mapped_column(ForeignKey("realms.id", ondelete="CASCADE"), index=True)
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    message: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(20), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
