"""Provider console: realms list and create; only the provider's staff may use it."""

from sqlalchemy import select

from app.models import Realm, StaffUser
from tenants import realm_context


def test_provider_creates_a_visp_realm(db, provider_realm, realm_client):
    client = realm_client("localhost")
    client.login_staff("owner@provider.example")
    response = client.post("/provider/realms/new", {
        "slug": "visp9", "name": "VISP Nine", "parent": "provider", "currency": "EUR",
        "locale": "de", "timezone": "Europe/Berlin", "theme": "midnight",
        "domains": "portal.visp9.example", "owner_email": "boss@visp9.example",
        "owner_password": "boss-password",
    })
    assert response.status_code == 303, response.get_data(as_text=True)
    realm = db.session.scalar(select(Realm).where(Realm.slug == "visp9"))
    assert realm.parent_id == provider_realm.id and realm.currency == "EUR"
    with realm_context(realm.id):
        assert db.session.scalar(select(StaffUser.email)) == "boss@visp9.example"
    # The new realm works on its subdomain and its custom domain.
    visp = realm_client("portal.visp9.example")
    visp.login_staff("boss@visp9.example", "boss-password")
    assert visp.get("/console/").status_code == 200


def test_invalid_realm_form_writes_nothing(db, provider_realm, realm_client):
    client = realm_client("localhost")
    client.login_staff("owner@provider.example")
    response = client.post("/provider/realms/new", {
        "slug": "Bad Slug", "name": "", "currency": "XXX", "locale": "en", "timezone": "Mars/Base",
        "owner_email": "x", "owner_password": "short",
    }, htmx=True)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert html.count('class="error"') >= 5
    assert db.session.scalar(select(Realm).where(Realm.name == "")) is None


def test_visp_staff_cannot_use_the_provider_console(realm_a, realm_client):
    client = realm_client(realm_a)
    client.login_staff("owner@alpha.example")
    assert client.get("/provider/").status_code == 403
