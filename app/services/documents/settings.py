"""The current realm's document settings (one row, created with defaults on first use)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from app.extensions import db
from app.models import Realm
from app.models.document import DocumentSettings
from tenants import require_realm_id

from ..errors import FieldErrors

IMAGE_TYPES = ("image/png", "image/jpeg")
MAX_IMAGE_BYTES = 1024 * 1024


def document_settings() -> DocumentSettings:
    settings = db.session.scalar(select(DocumentSettings))
    if settings is None:
        settings = DocumentSettings(realm_id=require_realm_id(), show_usage_chart=False, message_enabled=False,
                                    einvoicing=False, smtp_security="starttls")
        db.session.add(settings)
        db.session.flush()
    return settings


def peek_document_settings() -> DocumentSettings:
    """The settings without writing (a transient row with defaults when none is stored)."""
    settings = db.session.scalar(select(DocumentSettings))
    if settings is None:
        settings = DocumentSettings(realm_id=require_realm_id(), show_usage_chart=False, message_enabled=False,
                                    einvoicing=False, smtp_security="starttls")
    return settings


def update_invoice_design(*, show_usage_chart: bool, message_enabled: bool, message_text: str | None,
                          message_valid_from: date | None, message_valid_until: date | None,
                          einvoicing: bool, automatic_delivery: bool,
                          message_image: tuple[bytes, str] | None = None,
                          remove_image: bool = False) -> DocumentSettings:
    """Save the realm's invoice design switches (checked first, then written)."""
    errors = FieldErrors()
    if message_valid_from and message_valid_until and message_valid_until < message_valid_from:
        errors.add("message_valid_until", "before_start")
    if message_text and len(message_text) > 2000:
        errors.add("message_text", "too_long")
    if message_enabled and not (message_text or "").strip() and message_image is None:
        errors.add("message_text", "required")
    if message_image is not None:
        content, mime = message_image
        if mime not in IMAGE_TYPES:
            errors.add("message_image", "png_or_jpeg")
        elif len(content) > MAX_IMAGE_BYTES:
            errors.add("message_image", "too_large")
    errors.raise_if_any()
    settings = document_settings()
    settings.show_usage_chart = show_usage_chart
    settings.message_enabled = message_enabled
    settings.message_text = (message_text or "").strip() or None
    settings.message_valid_from, settings.message_valid_until = message_valid_from, message_valid_until
    settings.einvoicing = einvoicing
    if message_image is not None:
        settings.message_image, settings.message_image_mime = message_image
    elif remove_image:
        settings.message_image = settings.message_image_mime = None
    realm = db.session.get(Realm, settings.realm_id)
    realm.email_invoices = automatic_delivery
    db.session.flush()
    return settings


def message_active(settings: DocumentSettings, on: date) -> bool:
    if not settings.message_enabled:
        return False
    if settings.message_valid_from and on < settings.message_valid_from:
        return False
    return not (settings.message_valid_until and on > settings.message_valid_until)
