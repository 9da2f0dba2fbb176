"""The whole loop on real protocols: radclient → our RADIUS accounting listener → pools →
CoA-Request to the NAS (simulator) that the provider registered for its VISP's subscribers."""

import subprocess
from datetime import date
from decimal import Decimal as D

import pytest

from app.models import Subscription
from app.services.nas import add_nas, nas_secrets
from app.services.quotas import create_pool
from tenants import realm_context
from tests.servers.radius_listener import RADCLIENT

from .helpers import enforcement_of, make_plan


@pytest.fixture
def listener(radclient, serve_accounting, app, db, provider_realm, realm_a, create_account, nas, monkeypatch):
    monkeypatch.setitem(app.config, "COA_TIMEOUT", 0.5)
    account_id = create_account(realm_a, "alice").id
    with realm_context(realm_a.id):
        plan = make_plan("shape")
        db.session.add(Subscription(account_id=account_id, plan_version_id=plan.latest_version.id,
                                    status="active", starts_on=date(2020, 1, 1), anchor_day=1))
        create_pool(name="1 GB", scope="account", account_id=account_id, unit="GB", size=D(1),
                    anchor=date(2020, 1, 1))
        db.session.commit()
    with realm_context(provider_realm.id):  # the provider's NAS carries the VISP's sessions
        add_nas(name="bras-1", address="127.0.0.1", secret=nas.secret, coa_port=nas.port)
        db.session.commit()
        clients = nas_secrets()
    return serve_accounting(provider_realm.id, clients)


def send(server, secret, status, session_time, octets_out):
    packet = (f'User-Name = "alice@alpha.example", Acct-Status-Type = {status}, '
              f'Acct-Session-Id = "s-77", NAS-IP-Address = 127.0.0.1, Framed-IP-Address = 10.1.2.3, '
              f"Acct-Session-Time = {session_time}, Acct-Input-Octets = 0, Acct-Output-Octets = {octets_out}\n")
    result = subprocess.run(
        [RADCLIENT, "-x", "-r", "2", "-t", "2", f"127.0.0.1:{server.address[1]}", "acct", secret],
        input=packet, capture_output=True, text=True, timeout=30,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_accounting_over_the_quota_brings_one_coa_and_the_stop_confirms(db, listener, nas, realm_a):
    send(listener, nas.secret, "Start", 0, 0)
    send(listener, nas.secret, "Interim-Update", 60, 600_000_000)
    assert nas.requests == []
    send(listener, nas.secret, "Interim-Update", 120, 1_200_000_000)
    send(listener, nas.secret, "Interim-Update", 180, 1_300_000_000)
    [coa] = nas.requests
    assert coa.kind == "coa" and coa.authenticator_ok and coa.message_authenticator_ok
    assert coa.get("Acct-Session-Id") == "s-77" and coa.get("User-Name") == "alice@alpha.example"
    assert coa.get("Framed-IP-Address") == "10.1.2.3"
    assert enforcement_of(db, realm_a).state == "sent"

    from app.services.enforcement import check_enforcements

    send(listener, nas.secret, "Stop", 240, 1_300_000_000)
    with realm_context(realm_a.id):
        check_enforcements()
        db.session.commit()
    assert enforcement_of(db, realm_a).state == "confirmed"
    assert len(nas.requests) == 1
