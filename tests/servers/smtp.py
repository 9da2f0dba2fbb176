"""A real SMTP server (aiosmtpd) for the tests, on 127.0.0.1 and a free port.

``smtp_server`` is plain SMTP; ``smtps_server`` offers STARTTLS with a certificate
issued by a throwaway test CA (``.ca_file`` is the CA's PEM, so clients verify for real).
Both keep every received message as an ``email.message.EmailMessage`` with its envelope
(``msg.envelope_from``, ``msg.envelope_to``) in ``.messages``; ``.clear()`` empties it.
"""

from __future__ import annotations

import datetime as _dt
import email
import email.policy
import socket
import ssl
import threading
from email.message import EmailMessage

import pytest


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ReceivedMessage(EmailMessage):
    """An EmailMessage with its SMTP envelope."""

    mail_from: str = ""
    rcpt_tos: list[str] = []

    @property
    def envelope_from(self) -> str:
        return self.mail_from

    @property
    def envelope_to(self) -> list[str]:
        return self.rcpt_tos


class _Recorder:
    def __init__(self) -> None:
        self.messages: list[ReceivedMessage] = []
        self.lock = threading.Lock()
        self.auth: list[tuple[str, str]] = []

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(
            envelope.original_content or envelope.content, _class=ReceivedMessage, policy=email.policy.default
        )
        msg.mail_from = envelope.mail_from
        msg.rcpt_tos = list(envelope.rcpt_tos)
        with self.lock:
            self.messages.append(msg)
        return "250 Message accepted for delivery"


class SMTPServer:
    def __init__(self, controller, recorder: _Recorder, *, ca_file: str | None = None,
                 user: str | None = None, password: str | None = None) -> None:
        self._controller = controller
        self._recorder = recorder
        self.host = "127.0.0.1"
        self.port = controller.port
        self.ca_file = ca_file
        self.user = user
        self.password = password

    @property
    def messages(self) -> list[ReceivedMessage]:
        with self._recorder.lock:
            return list(self._recorder.messages)

    def clear(self) -> None:
        with self._recorder.lock:
            self._recorder.messages.clear()

    def stop(self) -> None:
        self._controller.stop()


def _start(handler, **kwargs):
    from aiosmtpd.controller import Controller

    port = _free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    return controller


@pytest.fixture(scope="session")
def smtp_server():
    recorder = _Recorder()
    controller = _start(recorder)
    server = SMTPServer(controller, recorder)
    try:
        yield server
    finally:
        server.stop()


def make_test_ca(directory) -> tuple[str, str, str]:
    """A CA and a server certificate for 127.0.0.1/localhost; returns (ca, cert, key) paths."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = _dt.datetime.now(_dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Realmbill Test CA")])
    ca_cert = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
        .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - _dt.timedelta(minutes=5)).not_valid_after(now + _dt.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                     content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False,
                                     encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - _dt.timedelta(minutes=5)).not_valid_after(now + _dt.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName([
            x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    ca_path, cert_path, key_path = (str(directory / n) for n in ("ca.pem", "server.pem", "server.key"))
    with open(ca_path, "wb") as fh:
        fh.write(ca_cert.public_bytes(serialization.Encoding.PEM))
    with open(cert_path, "wb") as fh:
        fh.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(key_path, "wb") as fh:
        fh.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                   serialization.NoEncryption()))
    return ca_path, cert_path, key_path


@pytest.fixture(scope="session")
def smtps_server(tmp_path_factory):
    """STARTTLS required, AUTH (user ``mailer``, password ``mail-secret``) after TLS only."""
    from aiosmtpd.smtp import AuthResult, LoginPassword

    ca, cert, key = make_test_ca(tmp_path_factory.mktemp("smtp-ca"))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    recorder = _Recorder()

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword) and auth_data.login == b"mailer"
              and auth_data.password == b"mail-secret")
        if ok:
            recorder.auth.append((mechanism, auth_data.login.decode()))
        return AuthResult(success=ok)

    controller = _start(recorder, tls_context=context, require_starttls=True,
                        authenticator=authenticator, auth_required=True)
    server = SMTPServer(controller, recorder, ca_file=ca, user="mailer", password="mail-secret")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def mail_to_smtp_server(app, smtp_server):
    """Point the app's MAIL_* settings at ``smtp_server`` (plain SMTP) for one test."""
    keys = ("MAIL_SERVER", "MAIL_PORT", "MAIL_SECURITY", "MAIL_USERNAME", "MAIL_PASSWORD", "MAIL_FROM")
    saved = {key: app.config.get(key) for key in keys}
    app.config.update(MAIL_SERVER=smtp_server.host, MAIL_PORT=smtp_server.port, MAIL_SECURITY="none",
                      MAIL_USERNAME=None, MAIL_PASSWORD=None, MAIL_FROM="Billing <billing@realmbill.test>")
    smtp_server.clear()
    try:
        yield smtp_server
    finally:
        app.config.update(saved)
        smtp_server.clear()
