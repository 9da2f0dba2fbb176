"""Templates build links through ``page_url_for``: each relative link once per process, the
same as Flask's ``url_for`` whatever the arguments, the mount point (script root) and the
realm; external and blueprint-relative links are never kept."""

from flask import url_for

from app.web.template_helpers import page_url_for

CASES = [("selfcare.home", {}), ("static", {"filename": "app.css"}),
         ("branding.theme_static", {"theme": "midnight", "filename": "theme.css"}),
         ("branding.theme_static", {"theme": "default", "filename": "theme.css"}),
         ("selfcare.invoices", {}), ("auth.login", {"next": "/invoices?x=1"})]


def test_links_equal_url_for_under_any_mount_point(app):
    for root in ("", "/billing", "", "/portal/eu"):
        with app.test_request_context("/", base_url=f"https://alpha.example.test{root}"):
            for endpoint, values in CASES * 2:  # the second time from what was kept
                assert page_url_for(endpoint, **values) == url_for(endpoint, **values)
            assert page_url_for("static", filename="app.css").startswith(f"{root}/static/")


def test_external_and_relative_endpoints_are_built_each_time(app):
    with app.test_request_context("/", base_url="https://alpha.example.test"):
        assert page_url_for("selfcare.home", _external=True) == "https://alpha.example.test/"
    with app.test_request_context("/", base_url="https://bravo.example.test"):
        assert page_url_for("selfcare.home", _external=True) == "https://bravo.example.test/"
        assert page_url_for("selfcare.home", _anchor="pools") == "/#pools"
