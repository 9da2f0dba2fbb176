"""Reliability suite, item 8: a bounded load run on loopback at the portal and the API.

The real app under gunicorn (2 gthread workers, no Redis: embedded job threads) on a free
127.0.0.1 port, on its own PostgreSQL database seeded through the services (two realms,
subscribers, usage, last month billed, an API key per realm); locust runs headless as a
child process for a fixed ~10 s with subscribers on the self-care pages, staff on the
console home and a report, and API clients reading and sending usage batches (each sent
twice). Afterwards: no 5xx, no failed request, and the invariants hold — gapless invoice
numbers per realm, one invoice per account and period, stored usage equal to what was sent.
"""

from __future__ import annotations

import pytest

from bench._common import gunicorn_app, make_app, pg_database, seed_load
from bench.load import invariant_problems, report, run_locust

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.servers]


@pytest.fixture
def loaded_app():
    """(seeding app, seeded realms, running server); everything stopped and dropped after."""
    with pg_database("realmbill_load") as url:
        app = make_app(url)
        try:
            with gunicorn_app(url, workers=2, threads=4, wait=False,
                              encryption_keys=app.config["ENCRYPTION_KEYS"]) as server:
                seeded = seed_load(app, realms=2, accounts=4, usage=3)
                server.wait_ready()
                yield app, seeded, server
        finally:
            with app.app_context():
                from app.extensions import db

                db.session.remove()
                db.engine.dispose()


def test_bounded_load_run_has_no_5xx_and_keeps_the_invariants(loaded_app):
    app, seeded, server = loaded_app
    assert invariant_problems(app, seeded, {}) == []  # the seeding itself is sound

    result = run_locust(server.url, seeded, users=8, seconds=10, wait=0.3, timeout=60)

    print(report(result))
    assert result["requests"] > 0
    assert result["errors_5xx"] == 0, server.log_tail()
    assert result["failures"] == 0, result["failure_samples"]
    # Every kind of user got through: pages, console and API (reads and usage writes).
    names = set(result["by_name"])
    assert {"GET portal: dashboard", "POST /login", "POST /console/login", "GET api: accounts"} <= names, names
    assert sum(s["records"] for s in result["sent"].values()) > 0, result["by_name"]
    assert invariant_problems(app, seeded, result["sent"]) == []
