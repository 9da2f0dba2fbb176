"""The RADIUS accounting listener end to end: Debian's radclient → our server → stored usage."""

import subprocess

import pytest
import sqlalchemy as sa
from sqlalchemy import func, select

from app.models import NasClient, UsageRecord
from app.services.nas import add_nas, nas_secrets
from tenants import all_realms, realm_context
from tests.servers.radius_listener import RADCLIENT

SECRET = "nas-shared-secret"


@pytest.fixture
def listener(radclient, serve_accounting, app, db, provider_realm, realm_a, create_account):
    create_account(realm_a, "alice")
    with realm_context(provider_realm.id):
        add_nas(name="bras-1", address="127.0.0.1", secret=SECRET)
        db.session.commit()
        clients = nas_secrets()
    return serve_accounting(provider_realm.id, clients)


def send(server, attributes):
    return subprocess.run(
        [RADCLIENT, "-x", "-r", "2", "-t", "2", f"127.0.0.1:{server.address[1]}", "acct", SECRET],
        input=attributes, capture_output=True, text=True, timeout=30,
    )


def session_packet(status, session_time, octets_out, gigawords=0):
    return (f'User-Name = "alice@alpha.example", Acct-Status-Type = {status}, '
            f'Acct-Session-Id = "s-42", NAS-IP-Address = 127.0.0.1, Framed-IP-Address = 10.1.2.3, '
            f"Acct-Session-Time = {session_time}, Acct-Input-Octets = 1000, "
            f"Acct-Output-Octets = {octets_out}, Acct-Output-Gigawords = {gigawords}\n")


def test_accounting_from_radclient_is_stored_once(db, listener, realm_a):
    for status, time, out, giga in [("Start", 0, 0, 0), ("Interim-Update", 60, 500, 1),
                                    ("Interim-Update", 60, 500, 1), ("Stop", 120, 700, 1)]:
        result = send(listener, session_packet(status, time, out, giga))
        assert result.returncode == 0, result.stdout + result.stderr
        assert "Accounting-Response" in result.stdout
    with realm_context(realm_a.id):
        stored = db.session.scalar(select(func.count()).select_from(UsageRecord))
        total_out = db.session.scalar(select(func.sum(UsageRecord.bytes_out)))
    assert stored == 3  # the repeated interim update is the same record
    assert total_out == 2**32 + 700


def test_unknown_user_is_answered_and_rejected(db, listener, provider_realm):
    from app.models import UsageReject

    packet = session_packet("Start", 0, 0).replace("alice@alpha.example", "ghost@alpha.example")
    assert send(listener, packet).returncode == 0
    with realm_context(provider_realm.id):
        assert db.session.scalar(select(UsageReject.code)) == "unknown_account"


def test_nas_secrets_are_encrypted_at_rest(db, listener, provider_realm):
    with all_realms():
        raw = db.session.execute(sa.text("SELECT secret_enc FROM nas_clients")).scalar_one()
    assert SECRET not in raw and raw.startswith("v1:")
    with realm_context(provider_realm.id):
        assert db.session.scalar(select(NasClient.address)) == "127.0.0.1"


def test_an_account_created_after_a_reject_is_found_by_the_next_batch(db, listener, realm_a,
                                                                     provider_realm, create_account):
    from app.models import UsageReject

    first = session_packet("Start", 0, 0).replace("alice@alpha.example", "late@alpha.example")
    assert send(listener, first).returncode == 0
    with realm_context(provider_realm.id):
        assert db.session.scalar(select(UsageReject.code)) == "unknown_account"
    create_account(realm_a, "late")
    second = session_packet("Interim-Update", 60, 500).replace("alice@alpha.example", "late@alpha.example")
    assert send(listener, second).returncode == 0
    with realm_context(realm_a.id):
        assert db.session.scalar(select(func.sum(UsageRecord.bytes_out))) == 500
