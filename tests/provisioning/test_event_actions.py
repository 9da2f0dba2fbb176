"""Event actions: shipped defaults, e-mail templates (sandboxed, per locale, preview),
signed webhooks to a real local HTTP server with retries, commands via the cli adapter."""

import hashlib
import hmac
import json
import shlex
import sys
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from app.models.base import utcnow
from app.models.document import MailMessage
from app.models.events import Event
from app.models.provisioning import ActionDelivery, EventAction
from app.services import event_actions
from app.services.errors import Invalid
from app.services.events import emit
from tenants import realm_context
from workers.provisioning import retry_due_job


class Receiver:
    def __init__(self, tls=None) -> None:
        self.requests: list[tuple[dict, bytes]] = []
        self.status = 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((dict(self.headers), body))
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        scheme = "http"
        if tls is not None:
            import ssl

            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(tls.cert_file, tls.key_file)
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
            scheme = "https"
        self.url = f"{scheme}://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def test_defaults_are_shipped_once_and_deleting_only_disables(db, realm_a):
    with realm_context(realm_a.id):
        actions = event_actions.list_actions()
        assert {a.default_key for a in actions} == {"welcome", "quota80", "quota100", "overdue_suspend"}
        event_actions.ensure_default_actions()
        welcome = next(a for a in actions if a.default_key == "welcome")
        event_actions.delete_action(welcome.id)
        assert len(event_actions.list_actions()) == 4
        assert not event_actions.get_action(welcome.id).enabled


def test_welcome_email_in_the_account_locale_and_preview(db, realm_a, create_account):
    create_account(realm_a, "uma", email="uma@example.org", locale="de")
    with realm_context(realm_a.id):
        [mail] = db.session.scalars(select(MailMessage).where(MailMessage.recipient == "uma@example.org"))
        assert mail.subject == "Willkommen bei Alpha Net"
        welcome = db.session.scalar(select(EventAction).where(EventAction.default_key == "welcome"))
        subject, body = event_actions.preview_action(welcome.id, locale="en")
        assert subject == "Welcome to Alpha Net" and "alice" in body


def test_templates_are_sandboxed_and_checked(db, realm_a):
    with realm_context(realm_a.id):
        with pytest.raises(Invalid) as bad:
            event_actions.save_action(event_type="account.created", kind="email", name="Broken",
                                      config={"subject": {"en": "{{ oops"}, "body": {"en": ""}})
        assert bad.value.errors == {"subject_en": ["invalid_template"]}
        action = event_actions.save_action(
            event_type="account.created", kind="email", name="Sneaky",
            config={"subject": {"en": "{{ account.__class__.__mro__ }}"}, "body": {"en": "x"}})
        with pytest.raises(Invalid):
            event_actions.preview_action(action.id, locale="en")
        db.session.rollback()


def _deliveries(db, realm):
    with realm_context(realm.id):
        db.session.expire_all()
        return list(db.session.scalars(select(ActionDelivery).order_by(ActionDelivery.id)))


def test_signed_webhook_delivered_and_retried_with_backoff(db, realm_a, create_account, receiver):
    with realm_context(realm_a.id):
        action = event_actions.save_action(
            event_type="account.suspended", kind="webhook", name="CRM",
            config={"url": receiver.url}, webhook_secret="hook-secret-1")
        assert "hook-secret-1" not in (action.secret_enc or "")
        db.session.commit()
    account = create_account(realm_a, "vic")
    account_id = account.id
    receiver.status = 503
    from app.services.accounts import suspend_account

    with realm_context(realm_a.id):
        suspend_account(account_id, reason="overdue")
        db.session.commit()
    [delivery] = _deliveries(db, realm_a)
    assert delivery.status == "pending" and delivery.attempts == 1 and delivery.last_error == "HTTP 503"
    assert delivery.next_attempt_at > utcnow() + timedelta(seconds=20)
    receiver.status = 200
    retry_due_job()  # not due yet
    assert _deliveries(db, realm_a)[0].attempts == 1
    with realm_context(realm_a.id):
        delivery = db.session.get(ActionDelivery, delivery.id)
        delivery.next_attempt_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    retry_due_job()
    [delivery] = _deliveries(db, realm_a)
    assert delivery.status == "delivered" and delivery.attempts == 2 and delivery.response_status == 200
    assert len(receiver.requests) == 2
    headers, body = receiver.requests[-1]
    timestamp, signature = headers["X-Realmbill-Timestamp"], headers["X-Realmbill-Signature"]
    expected = hmac.new(b"hook-secret-1", timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    assert signature == f"sha256={expected}"
    payload = json.loads(body)
    assert payload["type"] == "account.suspended" and payload["data"]["reason"] == "overdue"
    assert payload["account_id"] == account_id
    # delivered: a re-run sends nothing
    with realm_context(realm_a.id):
        event_actions.deliver_webhook(delivery.id)
        db.session.commit()
    assert len(receiver.requests) == 2


def test_webhook_url_refused_without_tls_verification_bypass(db, realm_a):
    with realm_context(realm_a.id):
        with pytest.raises(Invalid) as bad:
            event_actions.save_action(event_type="account.created", kind="webhook", name="x",
                                      config={"url": "file:///etc/passwd"})
        assert bad.value.errors == {"url": ["invalid"], "webhook_secret": ["required"]}


def test_command_action_runs_through_the_cli_adapter(db, realm_a, create_account, tmp_path):
    out = tmp_path / "events.txt"
    script = "import sys; open(sys.argv[1], 'a').write(' '.join(sys.argv[2:]) + chr(10))"
    command = " ".join([shlex.quote(sys.executable), "-c", shlex.quote(script), shlex.quote(str(out)),
                        "{{ details.event }}", "{{ username }}", "{{ details.data_reason }}"])
    with realm_context(realm_a.id):
        event_actions.save_action(event_type="account.suspended", kind="command", name="Notify NOC",
                                  config={"command": command})
        db.session.commit()
    account = create_account(realm_a, "wes")
    from app.services.accounts import suspend_account

    with realm_context(realm_a.id):
        suspend_account(account.id, reason="x; rm -rf /")
        db.session.commit()
    assert out.read_text() == "account.suspended wes x; rm -rf /\n"


def test_overdue_invoice_suspends_by_default(db, realm_a, create_account):
    account = create_account(realm_a, "xena")
    with realm_context(realm_a.id):
        emit("invoice.overdue", account=account, data={"invoice_id": 1})
        db.session.commit()
        db.session.expire_all()
        from app.services.accounts import get_account

        assert get_account(account.id).status == "suspended"
        types = [e.type for e in db.session.scalars(select(Event).order_by(Event.id))]
        assert types[-2:] == ["invoice.overdue", "account.suspended"]


def test_https_webhook_verifies_the_certificate(db, app, realm_a, create_account, tmp_path, monkeypatch):
    from tests.servers.tls_ca import make_ca

    ca = make_ca(tmp_path)
    receiver = Receiver(tls=ca)
    try:
        with realm_context(realm_a.id):
            event_actions.save_action(event_type="account.created", kind="webhook", name="TLS hook",
                                      config={"url": receiver.url}, webhook_secret="s")
            db.session.commit()
        # the server's CA is not trusted: no delivery, the TLS error is logged
        monkeypatch.setitem(app.config, "WEBHOOK_CA_FILE", ca.other_ca_file)
        create_account(realm_a, "tim")
        [delivery] = _deliveries(db, realm_a)
        assert delivery.status == "pending" and "CERTIFICATE_VERIFY_FAILED" in delivery.last_error
        assert receiver.requests == []
        monkeypatch.setitem(app.config, "WEBHOOK_CA_FILE", ca.ca_file)
        with realm_context(realm_a.id):
            event_actions.deliver_webhook(delivery.id, now=utcnow() + timedelta(hours=1))
            db.session.commit()
        assert _deliveries(db, realm_a)[0].status == "delivered"
        assert len(receiver.requests) == 1
    finally:
        receiver.close()


def test_quota_warnings_at_80_and_100_percent(db, realm_a, create_account):
    account = create_account(realm_a, "quinn", email="quinn@example.org")
    with realm_context(realm_a.id):
        emit("quota.threshold", account=account.id, data={"percent": 50, "unit": "MB"})
        emit("quota.threshold", account=account.id, data={"percent": 80, "unit": "MB"})
        emit("quota.threshold", account=account.id, data={"percent": 100, "unit": "MB"})
        emit("quota.exhausted", account=account.id, data={"unit": "MB"})
        db.session.commit()
        subjects = [m.subject for m in db.session.scalars(
            select(MailMessage).where(MailMessage.recipient == "quinn@example.org").order_by(MailMessage.id))]
    assert subjects == ["Welcome to Alpha Net", "You have used 80 % of your quota", "Your quota is used up"]
