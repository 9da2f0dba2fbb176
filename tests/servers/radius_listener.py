"""Our RADIUS accounting listener, run as ``realmbill radius-acct`` runs it (batch_store on
an AccountingServer), on a free UDP port of 127.0.0.1, and Debian's radclient to talk to it."""

import os
import shutil
import threading

import pytest

from app.mediation.radius_acct_server import AccountingServer
from app.services.usage.radius_listener import batch_store

RADCLIENT = shutil.which("radclient")


@pytest.fixture
def radclient() -> str:
    if RADCLIENT is None:
        if os.environ.get("CI"):
            pytest.fail("radclient (freeradius-utils) is not installed")
        pytest.skip("radclient (freeradius-utils) is not installed")
    return RADCLIENT


@pytest.fixture
def serve_accounting(app, db):
    """``serve_accounting(realm_id, clients)`` starts a listener storing into that realm;
    every listener started is stopped when the test ends (before ``db`` rolls back)."""
    running = []

    def start(realm_id: int, clients) -> AccountingServer:
        store, on_reject = batch_store(app, realm_id)
        server = AccountingServer("127.0.0.1", 0, clients, store, on_reject=on_reject)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        running.append((server, thread))
        return server

    yield start
    for server, thread in running:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
