"""Subscribers sign in against the realm's RADIUS server or LDAP directory (real servers)."""

import pytest

from app.services.errors import Invalid
from app.services.subscriber_auth import authenticate, save_auth_settings
from provisioning_adapters.base import ServiceSpec
from provisioning_adapters.ldap import LdapAdapter
from tenants import realm_context

pytestmark = pytest.mark.servers


@pytest.fixture
def radius_user(freeradius):
    path = freeradius.users_file
    with open(path) as fh:
        before = fh.read()
    with open(path, "a") as fh:
        fh.write('\nrita Cleartext-Password := "radius-pw-1"\n')
    freeradius.reload()
    yield "rita"
    with open(path, "w") as fh:
        fh.write(before)
    freeradius.reload()


def test_radius_authentication(db, realm_a, create_account, freeradius, radius_user):
    create_account(realm_a, "rita", password="local-password")
    create_account(realm_a, "sam", password="local-password")
    with realm_context(realm_a.id):
        with pytest.raises(Invalid) as missing:
            save_auth_settings(method="radius", settings={"host": "127.0.0.1", "port": freeradius.auth_port})
        assert missing.value.errors == {"radius_secret": ["required"]}
        row = save_auth_settings(method="radius", radius_secret=freeradius.secret,
                                 settings={"host": "127.0.0.1", "port": freeradius.auth_port, "timeout": 2})
        assert freeradius.secret not in (row.secret_enc or "") and "secret" not in row.settings
        db.session.commit()
        assert authenticate("rita", "radius-pw-1").username == "rita"
        assert authenticate("rita@alpha.example", "radius-pw-1").username == "rita"
        assert authenticate("rita", "local-password") is None  # the local password no longer counts
        assert authenticate("rita", "wrong") is None
        assert authenticate("sam", "radius-pw-1") is None  # not in the RADIUS users file
        # a blank secret keeps the stored one
        save_auth_settings(method="radius", settings={"host": "127.0.0.1", "port": freeradius.auth_port})
        assert authenticate("rita", "radius-pw-1") is not None
        # wrong shared secret: the server does not answer properly → refused, not crashed
        save_auth_settings(method="radius", radius_secret="not-the-secret",
                           settings={"host": "127.0.0.1", "port": freeradius.auth_port, "timeout": 0.5})
        assert authenticate("rita", "radius-pw-1") is None


def test_ldap_authentication_and_selfcare_login(db, realm_a, create_account, slapd, realm_client):
    create_account(realm_a, "tess", password="local-password")
    LdapAdapter({"url": slapd.url, "start_tls": True, "ca_file": slapd.ca_file, "bind_dn": slapd.admin_dn,
                 "bind_password": slapd.admin_password, "base_dn": slapd.people_dn}).apply(
        "create", ServiceSpec(username="tess", password="ldap-pw-1", details={"name": "Tess T"}))
    with realm_context(realm_a.id):
        with pytest.raises(Invalid) as plain:
            save_auth_settings(method="ldap", settings={"url": slapd.url, "user_dn_template": "uid={username}"})
        assert plain.value.errors == {"start_tls": ["required"]}
        save_auth_settings(method="ldap", settings={
            "url": slapd.url, "start_tls": True, "ca_file": slapd.ca_file,
            "user_dn_template": "uid={username}," + slapd.people_dn})
        db.session.commit()
        assert authenticate("tess", "ldap-pw-1").username == "tess"
        assert authenticate("tess", "local-password") is None
        assert authenticate("tess", "") is None
        assert authenticate("tess)(uid=*", "ldap-pw-1") is None
    client = realm_client(realm_a)
    assert client.post("/login", {"username": "tess", "password": "local-password"}).status_code == 401
    client.login_subscriber("tess", "ldap-pw-1")
    # LDAPS with a CA the server's certificate is not from: refused
    with realm_context(realm_a.id):
        save_auth_settings(method="ldap", settings={
            "url": slapd.ldaps_url, "ca_file": slapd.other_ca_file,
            "user_dn_template": "uid={username}," + slapd.people_dn})
        assert authenticate("tess", "ldap-pw-1") is None
        db.session.rollback()
