"""Outgoing mail: an outbox row first, SMTP delivery after the commit on the ``mail`` queue.

``send_mail`` builds the message (RFC 5322 bytes with its attachments), stores it in the
outbox (``mail_messages``) and, once the caller's transaction commits, enqueues
``workers.mail.send_mail_job``. Delivery uses the realm's own SMTP server when it has one
(password encrypted at rest, STARTTLS or implicit TLS with certificate verification) and
the app's ``MAIL_*`` settings otherwise. A ``dedupe_key`` makes sending idempotent: a
second ``send_mail`` with the same key returns the first message, and a delivered message
is never delivered again by a retried job.
"""

from __future__ import annotations

import email.policy
import hashlib
import smtplib
import ssl
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr

from flask import current_app
from sqlalchemy import select

from app.extensions import db
from app.models.document import SMTP_SECURITY, DocumentSettings, MailMessage
from app.security.secrets import secret_box
from tenants import current_realm_id, realm_context

from .errors import FieldErrors, NotFound
from .uow import after_commit


class MailDeliveryFailed(Exception):
    """The SMTP server refused or could not be reached; the job retries."""


@dataclass(frozen=True)
class SmtpSettings:
    host: str | None
    port: int
    security: str
    user: str | None
    password: str | None
    mail_from: str


def _realm_id_of(realm) -> int | None:
    if realm is None:
        return current_realm_id()
    return realm if isinstance(realm, int) else realm.id


def _password_context(realm_id: int) -> str:
    return f"realm:{realm_id}:smtp_password"


def _realm_settings(realm_id: int | None) -> DocumentSettings | None:
    if realm_id is None:
        return None
    with realm_context(realm_id):
        return db.session.scalar(select(DocumentSettings))


def smtp_settings(realm_id: int | None) -> SmtpSettings:
    """The SMTP server for ``realm_id``: the realm's own when it set a host, else the app's."""
    config = current_app.config
    own = _realm_settings(realm_id)
    mail_from = (own.mail_from if own is not None and own.mail_from else None) or config["MAIL_FROM"]
    if own is not None and own.smtp_host:
        password = None
        if own.smtp_password_enc:
            password = secret_box().decrypt(own.smtp_password_enc, context=_password_context(realm_id))
        return SmtpSettings(own.smtp_host, own.smtp_port or 587, own.smtp_security, own.smtp_user,
                            password, mail_from)
    return SmtpSettings(config.get("MAIL_SERVER"), int(config.get("MAIL_PORT") or 25),
                        config.get("MAIL_SECURITY") or "none", config.get("MAIL_USERNAME"),
                        config.get("MAIL_PASSWORD"), mail_from)


def set_smtp_settings(*, host: str | None, port: int | None, security: str, user: str | None,
                      password: str | None, mail_from: str | None, keep_password: bool = True) -> DocumentSettings:
    """Store the current realm's SMTP server (empty host = use the app's). ``password`` None
    with ``keep_password`` keeps the stored one; it is encrypted at rest."""
    from app.services.documents.settings import document_settings

    errors = FieldErrors()
    host = (host or "").strip() or None
    if security not in SMTP_SECURITY:
        errors.add("smtp_security", "invalid")
    if port is not None and not 1 <= port <= 65535:
        errors.add("smtp_port", "invalid")
    if mail_from and "@" not in parseaddr(mail_from)[1]:
        errors.add("mail_from", "invalid")
    errors.raise_if_any()
    settings = document_settings()
    settings.smtp_host, settings.smtp_port, settings.smtp_security = host, port, security
    settings.smtp_user = (user or "").strip() or None
    settings.mail_from = (mail_from or "").strip() or None
    if password:
        settings.smtp_password_enc = secret_box().encrypt(password, context=_password_context(settings.realm_id))
    elif not keep_password:
        settings.smtp_password_enc = None
    db.session.flush()
    return settings


def build_message(*, to: str, subject: str, text: str, html: str | None,
                  attachments: Iterable[tuple[str, bytes, str]], mail_from: str,
                  dedupe_key: str | None = None) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = mail_from
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = formatdate(localtime=False)
    domain = parseaddr(mail_from)[1].rpartition("@")[2] or "localhost"
    if dedupe_key:
        # The same message id on every attempt lets receivers drop a duplicate too.
        msg["Message-ID"] = f"<{hashlib.sha256(dedupe_key.encode()).hexdigest()[:32]}@{domain}>"
    else:
        msg["Message-ID"] = make_msgid(domain=domain)
    msg.set_content(text)
    if html:
        msg.add_alternative(html, subtype="html")
    for filename, content, mime in attachments:
        maintype, _, subtype = (mime or "application/octet-stream").partition("/")
        msg.add_attachment(content, maintype=maintype, subtype=subtype or "octet-stream", filename=filename)
    return msg


def queue_mail(*, to: str, subject: str, text: str, html: str | None = None,
               attachments: Iterable[tuple[str, bytes, str]] = (), realm=None,
               dedupe_key: str | None = None) -> MailMessage:
    """Store a message in the outbox (flush only) without enqueueing its delivery."""
    errors = FieldErrors()
    if "@" not in parseaddr(to or "")[1]:
        errors.add("to", "invalid")
    if not (subject or "").strip():
        errors.add("subject", "required")
    errors.raise_if_any()
    if dedupe_key:
        existing = db.session.scalar(select(MailMessage).where(MailMessage.dedupe_key == dedupe_key))
        if existing is not None:
            return existing
    realm_id = _realm_id_of(realm)
    settings = smtp_settings(realm_id)
    msg = build_message(to=to, subject=subject, text=text, html=html, attachments=list(attachments),
                        mail_from=settings.mail_from, dedupe_key=dedupe_key)
    row = MailMessage(realm_id=realm_id, dedupe_key=dedupe_key, recipient=to, subject=subject[:300],
                      message=msg.as_bytes(policy=email.policy.SMTP), status="queued", attempts=0)
    db.session.add(row)
    db.session.flush()
    return row


def send_mail(*, to: str, subject: str, text: str, html: str | None = None,
              attachments: Iterable[tuple[str, bytes, str]] = (), realm=None,
              dedupe_key: str | None = None) -> MailMessage:
    """Queue a message; it is delivered on the ``mail`` queue after the current commit."""
    row = queue_mail(to=to, subject=subject, text=text, html=html, attachments=attachments,
                     realm=realm, dedupe_key=dedupe_key)
    if row.status == "sent":
        return row
    mail_id = row.id

    def enqueue_delivery() -> None:
        from workers.mail import send_mail_job
        from workers.queues import enqueue

        enqueue(send_mail_job, mail_id, queue="mail", job_id=f"mail-{mail_id}")

    after_commit(enqueue_delivery)
    return row


def _tls_context() -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=current_app.config.get("MAIL_CA_FILE"))
    context.check_hostname = True
    context.verify_mode = ssl.CERT_REQUIRED
    return context


def _transmit(settings: SmtpSettings, raw: bytes, recipient: str) -> None:
    timeout = float(current_app.config.get("MAIL_TIMEOUT") or 30)
    envelope_from = parseaddr(settings.mail_from)[1]
    if settings.security == "ssl":
        client = smtplib.SMTP_SSL(settings.host, settings.port, timeout=timeout, context=_tls_context())
    else:
        client = smtplib.SMTP(settings.host, settings.port, timeout=timeout)
    with client:
        client.ehlo()
        if settings.security == "starttls":
            client.starttls(context=_tls_context())
            client.ehlo()
        if settings.user:
            client.login(settings.user, settings.password or "")
        client.sendmail(envelope_from, [recipient], raw)


def deliver_mail(mail_id: int) -> str:
    """Send one outbox message unless it was sent already; returns its status.

    ``held``: no SMTP server is configured (nothing to retry). Raises MailDeliveryFailed
    when the server fails, after which ``record_mail_failure`` keeps the error.
    """
    query = select(MailMessage).where(MailMessage.id == mail_id)
    if db.session.connection().dialect.name == "postgresql":
        query = query.with_for_update()
    row = db.session.scalar(query)
    if row is None:
        raise NotFound("mail")
    if row.status == "sent":
        return row.status
    settings = smtp_settings(row.realm_id)
    if not settings.host:
        row.status = "held"
        db.session.flush()
        return row.status
    try:
        _transmit(settings, row.message, row.recipient)
    except (OSError, smtplib.SMTPException, ssl.SSLError) as exc:
        raise MailDeliveryFailed(f"{type(exc).__name__}: {exc}"[:500]) from exc
    row.status, row.sent_at, row.last_error = "sent", datetime.now(UTC), None
    row.attempts += 1
    db.session.flush()
    return row.status


def record_mail_failure(mail_id: int, error: str) -> None:
    row = db.session.get(MailMessage, mail_id)
    if row is not None and row.status != "sent":
        row.status, row.last_error = "failed", error[:500]
        row.attempts += 1
        db.session.flush()


def pending_mail_ids(*, limit: int = 500, settle_minutes: int = 5) -> list[int]:
    """Messages still to deliver, oldest first (the retry sweep): failed ones, and queued
    ones older than ``settle_minutes`` (their own job is not merely still running)."""
    settled = datetime.now(UTC) - timedelta(minutes=settle_minutes)
    return list(db.session.scalars(
        select(MailMessage.id).where(
            MailMessage.attempts < 10,
            (MailMessage.status == "failed") | ((MailMessage.status == "queued") & (MailMessage.created_at < settled)))
        .order_by(MailMessage.id).limit(limit)))
