"""A live server for browser tests: the real app on its own SQLite file, in a thread,
driven by Debian's Chromium through Playwright (never a downloaded browser)."""

from __future__ import annotations

import os
import shutil
import threading

import pytest
from werkzeug.serving import make_server

CHROMIUM = next((p for p in ("/usr/lib/chromium/chromium", "/usr/bin/chromium") if os.path.exists(p)), None)


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for the whole session."""
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("Debian's chromium is not installed")
        pytest.skip("Debian's chromium is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"],
        )
        yield instance
        instance.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    from flask_migrate import upgrade

    from app import create_app
    from app.services.uow import unit_of_work
    from tests.conftest import make_config

    path = tmp_path_factory.mktemp("live") / "live.sqlite"
    app = create_app(make_config(f"sqlite:///{path}", SESSION_COOKIE_SECURE=False,
                                 PREFERRED_URL_SCHEME="http"))
    with app.app_context():
        upgrade()
        from app.services.realms import create_realm

        with unit_of_work():
            create_realm(slug="provider", name="Provider",
                         owner={"email": "owner@provider.example", "password": "owner-password"})
            create_realm(slug="alpha", name="Alpha Net", parent_slug="provider",
                         owner={"email": "owner@alpha.example", "password": "owner-password"})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"localhost:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)
    with app.app_context():
        from app.extensions import db

        db.engine.dispose()
    shutil.rmtree(path.parent, ignore_errors=True)
