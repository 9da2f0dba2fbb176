"""Strict headers, cookie flags, CSRF on every state change, inert user text."""

import pytest


def test_security_headers(realm_a, realm_client):
    response = realm_client(realm_a).get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "max-age=" in response.headers["Strict-Transport-Security"]
    assert response.headers["X-Frame-Options"] == "DENY"


def test_session_cookie_flags(realm_a, realm_client):
    client = realm_client(realm_a)
    response = client.post("/console/login", {"email": "owner@alpha.example", "password": "owner-password"})
    cookie = response.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Domain=" not in cookie  # host-only: one realm's cookie never goes to another


@pytest.mark.parametrize("path", [
    "/console/accounts/new", "/console/branding", "/console/branding/preview",
    "/console/plans/new", "/logout",
])
def test_state_changes_need_a_csrf_token(realm_a, realm_client, path):
    client = realm_client(realm_a)
    client.login_staff("owner@alpha.example")
    assert client.post(path, {"name": "x"}, csrf=False).status_code == 400


def test_htmx_requests_send_the_token_in_a_header(realm_a, realm_client):
    client = realm_client(realm_a)
    client.login_staff("owner@alpha.example")
    response = client.post("/console/branding/preview", {"primary_colour": "#000000"}, htmx=True)
    assert response.status_code == 200


def test_user_text_renders_inert(realm_a, create_account, realm_client):
    create_account(realm_a, "mallory", name='<script>alert(1)</script><b hx-get="/x">M</b>')
    client = realm_client(realm_a)
    client.login_staff("owner@alpha.example")
    html = client.get("/console/accounts").get_data(as_text=True)
    assert "<script>alert(1)" not in html
    assert "&lt;script&gt;" in html
    assert 'hx-get="/x"' not in html
