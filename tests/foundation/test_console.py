"""Realm console pages: accounts and branding, through plain and HTMX requests."""

import pytest
from sqlalchemy import func, select

from app.models import Account
from tenants import realm_context


@pytest.fixture
def console(realm_a, realm_client):
    client = realm_client(realm_a)
    client.login_staff("owner@alpha.example")
    return client


def _count_accounts(db, realm):
    with realm_context(realm.id):
        return db.session.scalar(select(func.count()).select_from(Account))


def test_create_account_through_the_form(db, realm_a, console):
    response = console.post("/console/accounts/new", {
        "username": "Carol", "name": "Carol C", "email": "carol@example.com",
        "password": "carol-password", "status": "active",
    })
    assert response.status_code == 303
    assert response.headers["Location"] == "/console/accounts"
    page = console.get("/console/accounts").get_data(as_text=True)
    assert "carol" in page and "Carol C" in page


def test_invalid_account_rerenders_the_fragment_and_writes_nothing(db, realm_a, console):
    response = console.post("/console/accounts/new", {
        "username": "bad name!", "name": "", "email": "not-an-email", "status": "active",
    }, htmx=True)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith("<form")  # the fragment, not a whole page
    assert "This field is required." in html
    assert "This value is not valid." in html
    assert _count_accounts(db, realm_a) == 0


def test_htmx_success_answers_with_hx_location(db, realm_a, console):
    response = console.post("/console/accounts/new", {"username": "dan", "name": "Dan", "status": "active"}, htmx=True)
    assert response.status_code == 204
    assert response.headers["HX-Location"] == "/console/accounts"


def test_active_search_returns_rows_and_varies(db, realm_a, create_account, console):
    create_account(realm_a, "zed", name="Zed Zulu")
    create_account(realm_a, "amy", name="Amy Apple")
    response = console.get("/console/accounts?q=zul", headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert "HX-Request" in response.headers["Vary"]
    assert html.lstrip().startswith("<tr>")
    assert "Zed Zulu" in html and "Amy Apple" not in html
    # Boosted navigation sends HX-Request too but wants the whole page.
    boosted = console.get("/console/accounts", headers={"HX-Request": "true", "HX-Boosted": "true"})
    assert "<html" in boosted.get_data(as_text=True)


def test_editing_another_realms_account_is_a_404(db, realm_a, realm_b, create_account, console):
    other = create_account(realm_b, "bob")
    assert console.get(f"/console/accounts/{other.id}").status_code == 404
    response = console.post(f"/console/accounts/{other.id}", {"name": "Hijacked", "status": "closed"})
    assert response.status_code == 404
    with realm_context(realm_b.id):
        assert db.session.get(Account, other.id).name == "Bob"


def test_branding_update_and_css(db, realm_a, console):
    response = console.post("/console/branding", {
        "theme": "midnight", "primary_colour": "#aa3300", "secondary_colour": "#eeeeee",
        "watermark": "COPY",
    })
    assert response.status_code == 303
    css = console.get("/branding.css").get_data(as_text=True)
    assert "--primary:#aa3300" in css
    assert 'data-theme="midnight"' in console.get("/console/").get_data(as_text=True)


def test_branding_rejects_bad_colours_and_fake_images(db, realm_a, console):
    import io

    response = console.post("/console/branding", {
        "theme": "default", "primary_colour": "red;}body{display:none", "secondary_colour": "#eeeeee",
        "logo": (io.BytesIO(b"<svg onload=alert(1)>"), "logo.png", "image/png"),
    }, content_type="multipart/form-data")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Use a colour like #1f5fbf." in html
    assert "Upload a PNG or JPEG image." in html


def test_branding_preview_fragment(db, realm_a, console):
    response = console.post("/console/branding/preview", {
        "primary_colour": "#123456", "secondary_colour": "#abcdef", "watermark": "DRAFT",
    }, htmx=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "primary=%23123456" in html and "DRAFT" in html
