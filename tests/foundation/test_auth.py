"""Sign-in for staff and subscribers: argon2, per-realm users, rate limits, safe redirects."""

from sqlalchemy import select

from app.models import Account
from tenants import realm_context


def test_passwords_are_argon2_hashes(db, realm_a, create_account):
    account = create_account(realm_a, "alice", password="alice-password")
    with realm_context(realm_a.id):
        stored = db.session.scalar(select(Account.password_hash).where(Account.id == account.id))
    assert stored.startswith("$argon2id$")
    assert "alice-password" not in stored


def test_staff_login_and_console(realm_a, realm_client):
    client = realm_client(realm_a)
    assert client.get("/console/").status_code == 302
    client.login_staff("owner@alpha.example")
    page = client.get("/console/")
    assert page.status_code == 200
    assert "Alpha Net" in page.get_data(as_text=True)


def test_wrong_password_is_refused(realm_a, realm_client):
    client = realm_client(realm_a)
    response = client.post("/console/login", {"email": "owner@alpha.example", "password": "nope-nope"})
    assert response.status_code == 401
    assert client.get("/console/").status_code == 302


def test_staff_of_one_realm_cannot_sign_in_to_another(realm_a, realm_b, realm_client):
    client = realm_client(realm_b)
    response = client.post("/console/login", {"email": "owner@alpha.example", "password": "owner-password"})
    assert response.status_code == 401


def test_session_cookie_replayed_on_another_realm_is_not_a_login(app, realm_a, realm_b, realm_client):
    client = realm_client(realm_a)
    client.login_staff("owner@alpha.example")
    cookie = client.client.get_cookie("session", domain="alpha.localhost")
    assert cookie is not None
    other = realm_client(realm_b)
    other.client.set_cookie("session", cookie.value, domain="bravo.localhost")
    # Same secret key, a valid signature: the user loader still looks only in realm B.
    assert other.get("/console/").status_code == 302


def test_subscriber_login_and_home(realm_a, create_account, realm_client):
    create_account(realm_a, "alice", password="alice-password", name="Alice A")
    client = realm_client(realm_a)
    client.login_subscriber("alice@alpha.example", "alice-password")
    page = client.get("/")
    assert page.status_code == 200
    assert "Alice A" in page.get_data(as_text=True)
    # A subscriber is not staff.
    assert client.get("/console/").status_code == 302


def test_login_is_rate_limited(app, realm_a, realm_b, realm_client):
    client = realm_client(realm_a)
    statuses = [
        client.post("/console/login", {"email": "owner@alpha.example", "password": "wrong-password"}).status_code
        for _ in range(12)
    ]
    assert statuses[:10] == [401] * 10
    assert statuses[10:] == [429, 429]
    # The limit is per realm host: another realm's sign-in still works.
    other = realm_client("bravo.localhost")
    assert other.post("/console/login", {"email": "x@y.example", "password": "wrong-password"}).status_code == 401


def test_open_redirects_are_refused(realm_a, realm_client):
    client = realm_client(realm_a)
    for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)"):
        response = client.post(f"/console/login?next={target}",
                               {"email": "owner@alpha.example", "password": "owner-password"})
        assert response.status_code == 303
        assert response.headers["Location"] == "/console/", target
    response = client.post("/console/login?next=/console/accounts",
                           {"email": "owner@alpha.example", "password": "owner-password"})
    assert response.headers["Location"] == "/console/accounts"


def test_logout_requires_post_with_csrf(realm_a, realm_client):
    client = realm_client(realm_a)
    client.login_staff("owner@alpha.example")
    assert client.post("/logout", csrf=False).status_code == 400
    assert client.get("/console/").status_code == 200
    assert client.post("/logout").status_code == 303
    assert client.get("/console/").status_code == 302
