"""`realmbill radius-acct --workers 2`: two processes on one port, every packet stored once."""

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.models import RadiusSession, UsageRecord
from bench.radius_acct import SECRET, blast, workload
from tests.conftest import TEST_KEY


@pytest.fixture
def realm_with_nas(committed_pg_app):
    from app.extensions import db
    from app.services.accounts import create_account
    from app.services.nas import add_nas
    from app.services.realms import create_realm
    from tenants import realm_context

    with committed_pg_app.app_context():
        realm = create_realm(slug="bench", name="Bench", domains=["bench.example"])
        db.session.commit()
        with realm_context(realm.id):
            for i in range(6):
                create_account(username=f"user{i}", name=f"User {i}")
            add_nas(name="bras", address="127.0.0.1", secret=SECRET.decode())
            db.session.commit()
    return committed_pg_app


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_two_workers_share_the_port_and_store_every_packet_once(realm_with_nas, tmp_path):
    app = realm_with_nas
    port = _free_port()
    log = tmp_path / "listener.log"
    env = {**os.environ, "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
           "REALMBILL_ENCRYPTION_KEYS": TEST_KEY, "SECRET_KEY": "test-secret-key"}
    env.pop("REDIS_URL", None)
    command = [str(Path(sys.executable).with_name("realmbill")), "radius-acct", "--realm", "bench",
               "--port", str(port), "--workers", "2"]
    with open(log, "w") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + 30
        while len(re.findall(r"worker \d ready", log.read_text())) < 2:
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        phases, total_in, total_out = workload(6, 2)
        result = blast(port, phases, lanes=6, window=4, give_up=60)
        assert (result.sent, result.answered) == (24, 24)
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(20)
    assert process.returncode == 0, log.read_text()
    from app.extensions import db
    from tenants import all_realms

    with app.app_context(), all_realms():
        count, b_in, b_out = db.session.execute(
            select(func.count(), func.sum(UsageRecord.bytes_in), func.sum(UsageRecord.bytes_out))).one()
        stopped = db.session.scalar(select(func.count(RadiusSession.stopped_at)))
        db.session.rollback()
    assert (count, b_in, b_out, stopped) == (24, total_in, total_out, 6)
