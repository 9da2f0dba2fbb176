"""Requests are routed to realms by host: subdomain, custom domain, or 404."""

import pytest

from tenants.resolve import normalise_host


@pytest.mark.parametrize("host,expected", [
    ("Alpha.LOCALHOST:5000", "alpha.localhost"),
    ("visp1.example.", "visp1.example"),
    ("[::1]:5000", "[::1]"),
])
def test_normalise_host(host, expected):
    assert normalise_host(host) == expected


def test_subdomain_routes_to_its_realm(realm_a, realm_client):
    page = realm_client("alpha.localhost").get("/login")
    assert page.status_code == 200
    assert "Alpha Net" in page.get_data(as_text=True)


def test_custom_domain_routes_to_its_realm(create_realm, provider_realm, realm_client):
    create_realm("custom", name="Custom ISP", domains=["portal.custom-isp.example"])
    page = realm_client("portal.custom-isp.example").get("/login")
    assert page.status_code == 200
    assert "Custom ISP" in page.get_data(as_text=True)


def test_loopback_routes_to_the_default_realm(provider_realm, realm_client):
    page = realm_client("127.0.0.1:5000").get("/login")
    assert "Provider" in page.get_data(as_text=True)


@pytest.mark.parametrize("host", ["nosuch.localhost", "evil.example", "a.b.localhost", "-x.localhost"])
def test_unknown_host_is_a_404_page(provider_realm, realm_client, host):
    response = realm_client(host).get("/login")
    assert response.status_code == 404
    assert "404" in response.get_data(as_text=True)
