import pytest

from provisioning_adapters.base import AdapterError, ServiceSpec
from provisioning_adapters.ldap import LdapAdapter, lock_hash, ssha, ssha_matches, unlock_hash

pytestmark = pytest.mark.servers


def settings(slapd, **over):
    return {
        "url": slapd.url,
        "start_tls": True,
        "ca_file": slapd.ca_file,
        "bind_dn": slapd.admin_dn,
        "bind_password": slapd.admin_password,
        "base_dn": slapd.people_dn,
        **over,
    }


def spec(username="alice", **kw):
    base = dict(password="pw-Alice-1", realm="r1", plan_code="gold",
                details={"name": "Alice Example", "email": "alice@example.net", "phone": "+49 1"})
    base.update(kw)
    return ServiceSpec(username=username, **base)


def test_ssha_helpers():
    h = ssha("pw")
    assert h.startswith("{SSHA}") and ssha_matches(h, "pw") and not ssha_matches(h, "px")
    assert unlock_hash(lock_hash(h)) == h and lock_hash(lock_hash(h)) == lock_hash(h)
    assert not ssha_matches(lock_hash(h), "pw")


def test_lifecycle_against_slapd(slapd):
    adapter = LdapAdapter(settings(slapd))
    s = spec()
    assert "added" in adapter.apply("create", s)
    entry = slapd.entry("alice")
    assert entry["cn"] == [b"Alice Example"] and entry["sn"] == [b"Example"]
    assert entry["mail"] == [b"alice@example.net"]
    assert entry["userPassword"][0].startswith(b"{SSHA}")
    assert b"inetOrgPerson" in entry["objectClass"]
    assert slapd.can_bind("alice", "pw-Alice-1")

    # idempotent: running create again changes nothing
    assert "unchanged" in adapter.apply("create", s)
    assert slapd.entry("alice") == entry

    assert "suspended" in adapter.apply("suspend", s)
    assert not slapd.can_bind("alice", "pw-Alice-1")
    assert "unchanged" in adapter.apply("suspend", s)
    assert "updated" in adapter.apply("resume", s)
    assert slapd.can_bind("alice", "pw-Alice-1")

    s.details = {"name": "Alice Other"}  # email/phone gone -> attributes removed
    adapter.apply("update_details", s)
    entry = slapd.entry("alice")
    assert entry["sn"] == [b"Other"] and "mail" not in entry and "telephoneNumber" not in entry

    s.password = "new-Pw-2"
    adapter.apply("change_password", s)
    assert slapd.can_bind("alice", "new-Pw-2") and not slapd.can_bind("alice", "pw-Alice-1")

    assert "removed" in adapter.apply("delete", s)
    assert slapd.entry("alice") is None
    assert "nothing to do" in adapter.apply("delete", s)


def test_create_suspended_and_server_side_password(slapd):
    adapter = LdapAdapter(settings(slapd, password_mode="server",
                                   suspended_attribute_map="description: suspended {{ realm }}"))
    s = spec("bob", status="suspended")
    adapter.apply("create", s)
    assert slapd.entry("bob")["description"] == [b"suspended r1"]
    assert not slapd.can_bind("bob", "pw-Alice-1")
    adapter.apply("resume", s)
    assert "description" not in slapd.entry("bob")
    assert slapd.can_bind("bob", "pw-Alice-1")
    adapter.apply("delete", s)


def test_hostile_usernames_are_escaped(slapd):
    adapter = LdapAdapter(settings(slapd))
    assert adapter.dn_for("a,b=c+d") == f"uid=a\\,b\\=c\\+d,{slapd.people_dn}"
    assert adapter.search_filter("*)(uid=*") == "(uid=\\2a\\29\\28uid=\\2a)"
    # apply() refuses usernames outside the safe set before touching the server
    with pytest.raises(AdapterError, match="username"):
        adapter.apply("delete", spec("*)(uid=*"))
    # a wildcard-looking but valid username only ever matches itself
    adapter.apply("create", spec("carol"))
    adapter.apply("create", spec("carol+x", details={"name": "Carol X"}))
    assert slapd.entry("carol") is not None and slapd.entry("carol+x") is not None
    adapter.apply("delete", spec("carol+x"))
    assert slapd.entry("carol") is not None
    adapter.apply("delete", spec("carol"))


def test_attribute_values_from_hostile_details(slapd):
    adapter = LdapAdapter(settings(slapd))
    evil = "Mallory\ncn: admin)(objectClass=*"
    adapter.apply("create", spec("mallory", details={"name": evil}))
    assert slapd.entry("mallory")["cn"] == [evil.encode()]
    adapter.apply("delete", spec("mallory"))


def test_tls_modes_and_certificate_validation(slapd):
    assert "LDAPS" in LdapAdapter(settings(slapd, url=slapd.ldaps_url)).check()
    assert "StartTLS" in LdapAdapter(settings(slapd)).check()
    with open(slapd.ca_file) as fh:
        assert "StartTLS" in LdapAdapter(settings(slapd, ca_file="", ca_pem=fh.read())).check()
    for url in (slapd.url, slapd.ldaps_url):
        with pytest.raises(AdapterError) as err:
            LdapAdapter(settings(slapd, url=url, ca_file=slapd.other_ca_file)).check()
        assert not err.value.transient


def test_bad_credentials_and_unreachable(slapd):
    with pytest.raises(AdapterError, match="bind failed") as err:
        LdapAdapter(settings(slapd, bind_password="wrong")).check()
    assert "wrong" not in str(err.value)
    from tests.servers._proc import free_port

    with pytest.raises(AdapterError) as err:
        LdapAdapter(settings(slapd, url=f"ldap://127.0.0.1:{free_port()}", start_tls=False)).check()
    assert err.value.transient


def test_bad_settings():
    good = {"url": "ldap://127.0.0.1:389", "bind_dn": "cn=a,dc=b", "bind_password": "x",
            "base_dn": "dc=b"}
    LdapAdapter(good)
    for key, value, msg in [
        ("url", "http://x", "url"),
        ("base_dn", "not a dn", "base_dn"),
        ("bind_password", "", "required"),
        ("attribute_map", "userPassword: {{ password }}", "managed"),
        ("attribute_map", "cn {{ username }}", "expected"),
        ("password_mode", "md5", "password_mode"),
    ]:
        with pytest.raises(AdapterError, match=msg):
            LdapAdapter({**good, key: value})
