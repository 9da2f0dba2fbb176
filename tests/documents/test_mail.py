"""Mail through the outbox and a real aiosmtpd server: plain, STARTTLS with a test CA and
AUTH, per-realm servers with encrypted passwords, dedupe keys and failures."""

from __future__ import annotations

import socket

import pytest
from sqlalchemy import select

from app.models.document import DocumentSettings, MailMessage
from app.services.errors import Invalid
from app.services.mail import send_mail, set_smtp_settings
from tenants import realm_context


def test_send_mail_delivers_after_commit_with_attachment(db, mail_to_smtp_server):
    send_mail(to="alice@example.org", subject="Hello", text="Plain body", html="<p>HTML body</p>",
              attachments=[("a.pdf", b"%PDF-1.4 test" * 2000, "application/pdf")])
    assert mail_to_smtp_server.messages == []  # nothing before the commit
    db.session.commit()
    [msg] = mail_to_smtp_server.messages
    assert msg["Subject"] == "Hello" and msg.rcpt_tos == ["alice@example.org"]
    assert msg.mail_from == "billing@realmbill.test"
    assert msg.get_body(("plain",)).get_content().strip() == "Plain body"
    assert "HTML body" in msg.get_body(("html",)).get_content()
    [part] = list(msg.iter_attachments())
    assert part.get_filename() == "a.pdf" and part.get_content() == b"%PDF-1.4 test" * 2000
    row = db.session.scalar(select(MailMessage))
    assert row.status == "sent" and row.sent_at is not None


def test_rollback_sends_nothing(db, mail_to_smtp_server):
    send_mail(to="bob@example.org", subject="Never", text="x")
    db.session.rollback()
    assert mail_to_smtp_server.messages == []


def test_dedupe_key_sends_once(db, mail_to_smtp_server):
    for _ in range(2):
        send_mail(to="carol@example.org", subject="Once", text="x", dedupe_key="once-1")
        db.session.commit()
    assert len(mail_to_smtp_server.messages) == 1
    from workers.mail import send_mail_job

    row = db.session.scalar(select(MailMessage))
    assert send_mail_job(row.id) == "sent"  # a retried job: already sent, not sent again
    assert len(mail_to_smtp_server.messages) == 1


def test_bad_recipient_is_refused_and_nothing_queued(db, mail_to_smtp_server):
    with pytest.raises(Invalid) as info:
        send_mail(to="not-an-address", subject="", text="x")
    assert info.value.errors == {"to": ["invalid"], "subject": ["required"]}
    assert db.session.scalar(select(MailMessage)) is None


def test_no_server_holds_the_message(db, app):
    saved = app.config["MAIL_SERVER"]
    app.config["MAIL_SERVER"] = None
    try:
        send_mail(to="dan@example.org", subject="Held", text="x")
        db.session.commit()
    finally:
        app.config["MAIL_SERVER"] = saved
    assert db.session.scalar(select(MailMessage.status)) == "held"


def test_unreachable_server_records_the_failure(db, app, mail_to_smtp_server):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead_port = sock.getsockname()[1]
    app.config["MAIL_PORT"] = dead_port
    from workers.mail import send_mail_job

    row = send_mail(to="erin@example.org", subject="Down", text="x")
    mail_id = row.id
    db.session.info.pop("realmbill_after_commit", None)  # deliver by hand below
    db.session.commit()
    from app.services.mail import MailDeliveryFailed

    with pytest.raises(MailDeliveryFailed):
        send_mail_job(mail_id)
    row = db.session.get(MailMessage, mail_id)
    db.session.refresh(row)
    assert row.status == "failed" and row.attempts == 1 and "Error" in row.last_error
    app.config["MAIL_PORT"] = mail_to_smtp_server.port
    assert send_mail_job(mail_id) == "sent"
    assert len(mail_to_smtp_server.messages) == 1


def test_realm_smtp_with_starttls_auth_and_encrypted_password(db, app, realm_a, smtps_server):
    saved = app.config.get("MAIL_CA_FILE")
    app.config["MAIL_CA_FILE"] = smtps_server.ca_file
    smtps_server.clear()
    try:
        with realm_context(realm_a.id):
            set_smtp_settings(host="localhost", port=smtps_server.port, security="starttls", user="mailer",
                              password="mail-secret", mail_from="Alpha Billing <billing@alpha.example>")
            db.session.commit()
            stored = db.session.scalar(select(DocumentSettings))
            assert "mail-secret" not in (stored.smtp_password_enc or "")
            send_mail(to="frank@example.org", subject="Over TLS", text="secured")
            db.session.commit()
    finally:
        app.config["MAIL_CA_FILE"] = saved
    [msg] = smtps_server.messages
    assert msg["Subject"] == "Over TLS" and msg.mail_from == "billing@alpha.example"


def test_realm_smtp_refuses_an_unverified_certificate(db, app, realm_a, smtps_server):
    from workers.mail import send_mail_job

    smtps_server.clear()
    with realm_context(realm_a.id):
        set_smtp_settings(host="localhost", port=smtps_server.port, security="starttls", user="mailer",
                          password="mail-secret", mail_from=None)
        mail_id = send_mail(to="gina@example.org", subject="Unverified", text="x").id
        db.session.info.pop("realmbill_after_commit", None)
        db.session.commit()
    from app.services.mail import MailDeliveryFailed

    with pytest.raises(MailDeliveryFailed, match="CERTIFICATE_VERIFY_FAILED"):
        send_mail_job(mail_id)  # the test CA is not trusted without MAIL_CA_FILE
    assert smtps_server.messages == []


def test_retry_sweep_sends_failed_and_queued_messages_once(db, app, mail_to_smtp_server):
    from workers.mail import retry_pending_mail_job
    from workers.scheduler import TASKS

    assert TASKS["mail-retry"].func is retry_pending_mail_job
    for n in range(2):
        send_mail(to=f"late{n}@example.org", subject=f"Late {n}", text="x")
    db.session.info.pop("realmbill_after_commit", None)  # the jobs were lost (e.g. a worker died)
    db.session.commit()
    assert retry_pending_mail_job() == 0  # too fresh: their own jobs may still be running
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import update

    db.session.execute(update(MailMessage).values(created_at=datetime.now(UTC) - timedelta(minutes=10)))
    db.session.commit()
    assert mail_to_smtp_server.messages == []
    assert retry_pending_mail_job() == 2
    assert retry_pending_mail_job() == 0
    assert sorted(m["Subject"] for m in mail_to_smtp_server.messages) == ["Late 0", "Late 1"]
