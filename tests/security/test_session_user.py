"""The signed-in user comes with the realm, in one statement, and only from that realm.

A request resolves its realm from the Host header and, when the session names a user, loads
that user in the same statement, joined on the realm: a session carried to another realm's
host (a copied cookie) signs nobody in there, for subscribers and staff alike.
"""

from __future__ import annotations

import pytest
from sqlalchemy import event

from app.extensions import db as _db


def _session_cookie(client) -> str:
    cookie = client.client.get_cookie("session", domain=client.host)
    assert cookie is not None, "not signed in"
    return cookie.value


def _carry_session(client, cookie: str) -> None:
    client.client.set_cookie("session", cookie, domain=client.host)


@pytest.fixture
def statements(app):
    seen: list[str] = []

    def record(_conn, _cursor, statement, *_args):
        seen.append(" ".join(statement.split()))

    with app.app_context():
        engine = _db.engine
    event.listen(engine, "before_cursor_execute", record)
    yield seen
    event.remove(engine, "before_cursor_execute", record)


def test_subscriber_is_loaded_with_the_realm(db, realm_a, create_account, realm_client, statements):
    create_account(realm_a, "alice", password="alice-password")
    client = realm_client(realm_a)
    client.login_subscriber("alice", "alice-password")
    statements.clear()
    page = client.get("/password")
    assert page.status_code == 200
    assert "Alice" in page.get_data(as_text=True)  # the signed-in name in the header
    realm_reads = [s for s in statements if "FROM realms" in s]
    assert len(realm_reads) == 1
    assert "accounts.username" in realm_reads[0]  # the user's columns came with the realm
    assert not [s for s in statements if s.startswith("SELECT") and "FROM accounts" in s]


def test_staff_is_loaded_with_the_realm(db, realm_a, realm_client, statements):
    client = realm_client(realm_a)
    client.login_staff(f"owner@{realm_a.slug}.example")
    statements.clear()
    assert client.get("/console/").status_code == 200
    realm_reads = [s for s in statements if "FROM realms" in s]
    assert len(realm_reads) == 1 and "staff_users.email" in realm_reads[0]
    assert not [s for s in statements if s.startswith("SELECT") and "FROM staff_users" in s]


def test_subscriber_session_signs_nobody_in_at_another_realm(db, realm_a, realm_b, create_account,
                                                             realm_client):
    create_account(realm_a, "alice", password="alice-password")
    create_account(realm_b, "bob", password="bob-password")
    home = realm_client(realm_a)
    home.login_subscriber("alice", "alice-password")
    assert home.get("/").status_code == 200
    elsewhere = realm_client(realm_b)
    _carry_session(elsewhere, _session_cookie(home))
    answer = elsewhere.get("/")
    assert answer.status_code in (302, 303) and "/login" in answer.headers["Location"]
    assert "Alice" not in elsewhere.get("/password", follow_redirects=True).get_data(as_text=True)


def test_staff_session_signs_nobody_in_at_another_realm(db, realm_a, realm_b, realm_client):
    home = realm_client(realm_a)
    home.login_staff(f"owner@{realm_a.slug}.example")
    assert home.get("/console/").status_code == 200
    elsewhere = realm_client(realm_b)
    _carry_session(elsewhere, _session_cookie(home))
    answer = elsewhere.get("/console/")
    assert answer.status_code in (302, 303) and "/console/login" in answer.headers["Location"]


def test_a_session_of_an_unknown_user_is_anonymous(db, realm_a, create_account, realm_client):
    account = create_account(realm_a, "alice", password="alice-password")
    client = realm_client(realm_a)
    client.login_subscriber("alice", "alice-password")
    with client.client.session_transaction(base_url=client.base) as session:
        session["_user_id"] = f"account:{account.id + 1000}"
    answer = client.get("/")
    assert answer.status_code in (302, 303) and "/login" in answer.headers["Location"]


def test_subscriber_on_a_custom_domain_is_loaded_with_the_realm(db, create_realm, provider_realm,
                                                                 create_account, realm_client, statements):
    realm = create_realm("custom", name="Custom ISP", domains=["portal.custom-isp.example"])
    create_account(realm, "carol", password="carol-password")
    client = realm_client("portal.custom-isp.example")
    client.login_subscriber("carol", "carol-password")
    statements.clear()
    page = client.get("/password")
    assert page.status_code == 200 and "Carol" in page.get_data(as_text=True)
    realm_reads = [s for s in statements if "FROM realms" in s]
    assert len(realm_reads) == 1 and "realm_domains.domain" in realm_reads[0]
    assert "accounts.username" in realm_reads[0]
