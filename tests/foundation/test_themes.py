"""Themes: per-theme overlays, so one theme's compiled templates never leak into another."""


def test_alternating_realms_get_their_own_theme(realm_a, realm_b, realm_client):
    a, b = realm_client(realm_a), realm_client(realm_b)
    for _ in range(3):
        page_a = a.get("/login").get_data(as_text=True)
        page_b = b.get("/login").get_data(as_text=True)
        assert 'data-theme="default"' in page_a and 'data-theme="midnight"' not in page_a
        assert 'data-theme="midnight"' in page_b and 'data-theme="default"' not in page_b
        assert "/themes/midnight/theme.css" in page_b


def test_theme_static_files_and_path_traversal(realm_a, realm_client):
    client = realm_client(realm_a)
    assert client.get("/themes/midnight/theme.css").status_code == 200
    assert client.get("/themes/midnight/../../app/config.py").status_code == 404
    assert client.get("/themes/nosuch/theme.css").status_code == 404


def test_console_templates_cannot_be_overridden_by_a_theme(app, realm_b):
    from jinja2 import TemplateNotFound

    from app.web.rendering import THEMES_DIR, _ThemeLoader

    loader = _ThemeLoader(THEMES_DIR / "midnight")
    try:
        loader.get_source(app.jinja_env, "console/home.html")
    except TemplateNotFound:
        pass
    else:
        raise AssertionError("a theme must not provide console templates")
