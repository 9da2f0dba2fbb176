"""The RADIUS accounting listener's storage side: one unit of work per batch.

The listener (app/mediation/radius_acct_server.py) answers a NAS only after its batch
was committed here, so a crash loses nothing: the NAS retransmits and the retransmission
is idempotent.

``serve_workers`` runs several listener processes on one UDP port (SO_REUSEPORT): the
kernel sends each NAS address and port to one of them, so a session's packets stay in one
process and in order, and the processes parse, attribute and commit their batches in
parallel. Sessions shared across processes (a NAS failing over to another source port)
are still safe: the session rows are locked per batch (see ingest.py).
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import time
from collections.abc import Callable, Mapping

from flask import Flask

from app.mediation.records import Reject, UsageEvent
from tenants import realm_context

from ..uow import unit_of_work
from .attribution import Attributor
from .ingest import ingest

#: How long the listener reuses what it learned about realms, domains and accounts.
ATTRIBUTION_TTL_S = 30.0


def batch_store(app: Flask, realm_id: int) -> tuple[Callable, Callable]:
    """Handlers for AccountingServer: (handle_batch, on_reject), both committing.

    Batches within ``ATTRIBUTION_TTL_S`` of each other share one Attributor (a realm,
    domain or account added meanwhile is still found: unknown names are looked up; one
    renamed or removed is noticed at the next refresh).
    """
    cached: dict = {}

    def store(items: list[UsageEvent | Reject]) -> None:
        now = time.monotonic()
        with app.app_context(), realm_context(realm_id), unit_of_work():
            attributor = cached.get("attributor")
            if attributor is None or now - cached["at"] > ATTRIBUTION_TTL_S:
                attributor = Attributor(realm_id)
                cached.update(attributor=attributor, at=now)
            else:
                attributor.forget_unknown()  # an account created since is found at once
            try:
                ingest(items, attributor=attributor)
            except BaseException:
                cached.clear()  # a failed batch may have met a stale entry: start afresh
                raise

    return store, store


def serve_workers(app: Flask, realm_id: int, clients: Mapping[str, str | bytes], *, host: str,
                  port: int, batch_max: int, batch_wait_ms: float, workers: int,
                  echo: Callable[[str], None] = print) -> None:
    """Run ``workers`` listener processes on ``host:port`` until SIGINT or SIGTERM."""
    from app.extensions import db

    if port == 0:
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.bind((host, 0))
            port = probe.getsockname()[1]
    with app.app_context():
        db.engine.dispose()  # no database connection may cross the fork
    echo(f"RADIUS accounting on {host}:{port} for {len(clients)} NAS(es), {workers} workers")
    sys.stdout.flush()
    children: list[int] = []
    for number in range(1, workers + 1):
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the child process
            code = 0
            try:
                _worker(app, realm_id, clients, host, port, batch_max, batch_wait_ms, number, echo)
            except BaseException:
                code = 1
            finally:
                sys.stdout.flush()
                os._exit(code)
        children.append(pid)

    def forward(signum, _frame):
        for child in children:
            try:
                os.kill(child, signal.SIGTERM)
            except ProcessLookupError:
                pass

    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        for child in children:
            while True:
                try:
                    os.waitpid(child, 0)
                    break
                except InterruptedError:
                    continue
                except ChildProcessError:
                    break
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _worker(app, realm_id, clients, host, port, batch_max, batch_wait_ms, number, echo) -> None:
    from app.mediation.radius_acct_server import AccountingServer

    store, on_reject = batch_store(app, realm_id)
    server = AccountingServer(host, port, clients, store, batch_max=batch_max,
                              batch_wait_ms=batch_wait_ms, on_reject=on_reject, reuse_port=True)

    def stop(_signum, _frame):
        # Finish the batch in hand (it commits and is answered), then leave serve_forever.
        server.shutdown(timeout=0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    echo(f"worker {number} ready (pid {os.getpid()})")
    sys.stdout.flush()
    try:
        server.serve_forever()
    finally:
        server.server_close()
