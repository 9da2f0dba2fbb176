"""RADIUS accounting throughput: ``realmbill radius-acct`` next to FreeRADIUS 3 + rlm_sql.

    .venv/bin/python -m bench.radius_acct [--sessions 4000] [--interims 3] [--lanes 32]
                                          [--window 16] [--workers N] [--only realmbill|freeradius]

One throw-away PostgreSQL database holds both: Realmbill's schema (a realm with one
account per session, the NAS 127.0.0.1) and FreeRADIUS's stock ``radacct`` schema
(/etc/freeradius/3.0/mods-config/sql/main/postgresql/schema.sql). The same load
generator sends the same packets to each server in turn:

- SESSIONS accounting sessions, each a Start, INTERIMS Interim-Updates with growing
  cumulative counters (some above 4 GiB: Acct-*-Gigawords) and a Stop; sent in phases
  (all Starts, then each round of Interims, then all Stops) so a session's packets
  arrive in order, as they do from a NAS minutes apart;
- LANES UDP sockets (a session always uses the same one, like a NAS port), each with up
  to WINDOW packets outstanding (LANES x WINDOW in flight); a packet not answered
  within 5 s is retransmitted unchanged, as a NAS does.

Servers:

- ``realmbill radius-acct --workers N`` (the CLI, N processes on one SO_REUSEPORT
  port; default 2, the CPU count), answering each batch after its commit;
- ``freeradius -f`` with a copy of the stock configuration: one virtual server listening
  for accounting with ``preacct { preprocess, acct_unique, suffix }`` and
  ``accounting { sql, attr_filter.accounting_response }``: rlm_sql with the stock
  PostgreSQL queries, its default thread pool (5..32 threads) and connection pool.

Prints packets/s for each (from the first packet sent to the last answer), checks that
every packet was answered and the stored totals are exact: for Realmbill one usage record
per packet with byte sums equal to the sessions' final counters and every session
stopped; for FreeRADIUS one radacct row per session with those final counters and a
stop time. Target: Realmbill >= 2x FreeRADIUS + rlm_sql.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from collections import deque
from datetime import UTC, datetime
from pathlib import Path

from ._common import Figures, make_app, pg_database, seed_realm

SECRET = b"bench-secret-123"
STOCK_RADDB = Path("/etc/freeradius/3.0")
SCHEMA = STOCK_RADDB / "mods-config/sql/main/postgresql/schema.sql"
ZERO16 = bytes(16)
GIB4 = 1 << 32


# ------------------------------------------------------------------ packets
def _attr(kind: int, value: bytes) -> bytes:
    return bytes((kind, len(value) + 2)) + value


def _int(kind: int, value: int) -> bytes:
    return _attr(kind, struct.pack("!I", value))


def session_packets(session: int, interims: int, base: int) -> tuple[list[bytes], int, int]:
    """The attribute blocks of one session's packets, and its final (in, out) totals."""
    user = f"user{session}@bench.example".encode()
    sid = f"{session:08x}".encode()
    ip = socket.inet_aton(f"10.{session >> 16 & 255}.{session >> 8 & 255}.{session & 255}")
    common = (_attr(1, user) + _attr(44, sid) + _attr(4, socket.inet_aton("127.0.0.1"))
              + _attr(8, ip) + _int(5, session % 4096))
    step_in = 1_000_000 + session * 7919 % 5_000_000
    # Every 10th session moves more than 4 GiB per interval: its counters need gigawords.
    step_out = (GIB4 + 12345 + session) if session % 10 == 0 else 5_000_000 + session * 104729 % 20_000_000
    blocks = []
    for index in range(interims + 2):
        status = 1 if index == 0 else (2 if index == interims + 1 else 3)
        total_in, total_out, seconds = step_in * index, step_out * index, 300 * index
        blocks.append(common + _int(40, status) + _int(42, total_in % GIB4) + _int(43, total_out % GIB4)
                      + _int(52, total_in // GIB4) + _int(53, total_out // GIB4)
                      + _int(46, seconds) + _int(55, base + seconds))
    return blocks, step_in * (interims + 1), step_out * (interims + 1)


def workload(sessions: int, interims: int) -> tuple[list[list[tuple[int, bytes]]], int, int]:
    """Phases of (session, attributes) and the expected byte totals."""
    base = int(datetime.now(UTC).timestamp()) - 86_400
    phases: list[list[tuple[int, bytes]]] = [[] for _ in range(interims + 2)]
    total_in = total_out = 0
    for session in range(sessions):
        blocks, final_in, final_out = session_packets(session, interims, base)
        total_in += final_in
        total_out += final_out
        for index, block in enumerate(blocks):
            phases[index].append((session, block))
    return phases, total_in, total_out


# ------------------------------------------------------------------ load generator
class LoadResult:
    def __init__(self) -> None:
        self.sent = self.answered = self.retransmitted = 0
        self.seconds = 0.0


def blast(port: int, phases: list[list[tuple[int, bytes]]], lanes: int, window: int,
          timeout: float = 5.0, give_up: float = 120.0) -> LoadResult:
    """Send every packet to 127.0.0.1:port with up to ``window`` in flight per lane; wait
    for every answer (retransmitting after ``timeout``), phase after phase."""
    result = LoadResult()
    sockets = []
    try:
        for _ in range(lanes):
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
            sock.connect(("127.0.0.1", port))
            sock.setblocking(False)
            sockets.append(sock)
        poller = select.poll()
        by_fd = {}
        for lane, sock in enumerate(sockets):
            poller.register(sock, select.POLLIN)
            by_fd[sock.fileno()] = lane
        md5 = hashlib.md5
        began = time.perf_counter()
        deadline = began + give_up
        for phase in phases:
            todo = [deque() for _ in range(lanes)]
            for session, block in phase:
                todo[session % lanes].append(block)
            free = [deque(range(256)) for _ in range(lanes)]
            flying: list[dict[int, tuple[bytes, float]]] = [{} for _ in range(lanes)]
            left = len(phase)
            last_check = time.perf_counter()
            while left:
                for lane in range(lanes):
                    queue, ids, out, sock = todo[lane], free[lane], flying[lane], sockets[lane]
                    while queue and len(out) < window:
                        block = queue.popleft()
                        ident = ids.popleft()
                        header = struct.pack("!BBH", 4, ident, 20 + len(block))
                        packet = header + md5(header + ZERO16 + block + SECRET).digest() + block  # noqa: S324
                        out[ident] = (packet, time.perf_counter())
                        sock.send(packet)
                        result.sent += 1
                for fd, _event in poller.poll(50):
                    lane = by_fd[fd]
                    sock, out, ids = sockets[lane], flying[lane], free[lane]
                    while True:
                        try:
                            data = sock.recv(4096)
                        except (BlockingIOError, InterruptedError):
                            break
                        except ConnectionRefusedError:
                            break
                        if len(data) >= 20 and data[0] == 5 and data[1] in out:
                            del out[data[1]]
                            ids.append(data[1])
                            result.answered += 1
                            left -= 1
                now = time.perf_counter()
                if now - last_check > 1.0:
                    last_check = now
                    if now > deadline:
                        raise SystemExit(f"gave up: {left} packets of a phase unanswered after {give_up} s")
                    for lane in range(lanes):
                        for ident, (packet, sent) in list(flying[lane].items()):
                            if now - sent > timeout:
                                flying[lane][ident] = (packet, now)
                                sockets[lane].send(packet)
                                result.retransmitted += 1
        result.seconds = time.perf_counter() - began
    finally:
        for sock in sockets:
            sock.close()
    return result


# ------------------------------------------------------------------ servers
def _wait_for_line(process: subprocess.Popen, pattern: str, seconds: float, log: Path) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server exited ({process.returncode}):\n{log.read_text()[-3000:]}")
        if re.search(pattern, log.read_text(errors="replace")):
            return
        time.sleep(0.05)
    raise SystemExit(f"server not ready after {seconds} s:\n{log.read_text()[-3000:]}")


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _stop(process: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def run_realmbill(url: str, keys: str, port: int, workers: int, batch_max: int, tmp: Path):
    log = tmp / "realmbill.log"
    env = {**os.environ, "DATABASE_URL": url, "REALMBILL_ENCRYPTION_KEYS": keys,
           "SECRET_KEY": "bench-secret-key", "REDIS_URL": ""}
    env.pop("REDIS_URL")
    command = [str(Path(sys.executable).with_name("realmbill")), "radius-acct", "--realm", "bench",
               "--host", "127.0.0.1", "--port", str(port), "--batch-max", str(batch_max)]
    if workers > 1:
        command += ["--workers", str(workers)]
    with open(log, "w") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
    _wait_for_line(process, r"RADIUS accounting on", 30, log)
    if workers > 1:
        _wait_for_line(process, rf"(?s)(worker \d+ ready.*){{{workers}}}", 30, log)
    return process, log


def freeradius_config(tmp: Path, dbname: str, port: int) -> Path:
    raddb = tmp / "raddb"
    shutil.copytree(STOCK_RADDB, raddb, symlinks=True)
    conf = (raddb / "radiusd.conf").read_text()
    conf = re.sub(r"(?m)^logdir = .*$", f"logdir = {tmp}", conf)
    conf = re.sub(r"(?m)^run_dir = .*$", f"run_dir = {tmp}", conf)
    conf = re.sub(r"(?m)^(\s*)(user|group) = freerad$", r"\1#\2 = freerad", conf)
    conf = re.sub(r"(?m)^proxy_requests\s*= yes", "proxy_requests = no", conf)
    (raddb / "radiusd.conf").write_text(conf)
    (raddb / "clients.conf").write_text(
        f"client bench {{\n  ipaddr = 127.0.0.1\n  secret = {SECRET.decode()}\n  nas_type = other\n}}\n")
    for site in (raddb / "sites-enabled").iterdir():
        site.unlink()
    (raddb / "sites-enabled" / "bench").write_text(f"""
server bench {{
    listen {{
        type = acct
        ipaddr = 127.0.0.1
        port = {port}
    }}
    preacct {{
        preprocess
        acct_unique
        suffix
    }}
    accounting {{
        sql
        attr_filter.accounting_response
    }}
}}
""")
    sql = (raddb / "mods-available" / "sql").read_text()
    sql = sql.replace('dialect = "sqlite"', 'dialect = "postgresql"')
    sql = sql.replace('driver = "rlm_sql_null"', 'driver = "rlm_sql_${dialect}"')
    sql = sql.replace('#\tserver = "localhost"', '\tserver = "127.0.0.1"')
    sql = sql.replace("#\tport = 3306", "\tport = 5432")
    sql = sql.replace('#\tlogin = "radius"', '\tlogin = "postgres"')
    sql = sql.replace('#\tpassword = "radpass"', '\tpassword = ""')
    sql = sql.replace('radius_db = "radius"', f'radius_db = "{dbname}"')
    (raddb / "mods-available" / "sql").write_text(sql)
    # The bench server authenticates nobody: modules that need an authenticate section go.
    for module in ("eap", "mschap", "ntlm_auth", "chap", "pap", "digest"):
        (raddb / "mods-enabled" / module).unlink(missing_ok=True)
    link = raddb / "mods-enabled" / "sql"
    if not link.exists():
        link.symlink_to("../mods-available/sql")
    return raddb


def run_freeradius(raddb: Path, tmp: Path):
    log = tmp / "freeradius.log"
    with open(log, "w") as out:
        process = subprocess.Popen(["freeradius", "-f", "-l", "stdout", "-d", str(raddb)],
                                   stdout=out, stderr=subprocess.STDOUT)
    _wait_for_line(process, r"Ready to process requests", 30, log)
    return process, log


# ------------------------------------------------------------------ checks
def check_realmbill(libpq: str, packets: int, sessions: int, total_in: int, total_out: int) -> str:
    import psycopg

    with psycopg.connect(libpq) as conn:
        count, b_in, b_out = conn.execute(
            "SELECT count(*), coalesce(sum(bytes_in), 0), coalesce(sum(bytes_out), 0) "
            "FROM usage_records WHERE source = 'radius'").fetchone()
        stored, stopped = conn.execute(
            "SELECT count(*), count(stopped_at) FROM radius_sessions WHERE session_key NOT LIKE 'bench-ip-%'"
        ).fetchone()
    problems = []
    if count != packets:
        problems.append(f"{count:,} usage records for {packets:,} packets")
    if (b_in, b_out) != (total_in, total_out):
        problems.append(f"bytes in/out {b_in:,}/{b_out:,}, expected {total_in:,}/{total_out:,}")
    if (stored, stopped) != (sessions, sessions):
        problems.append(f"{stored:,} sessions stored, {stopped:,} stopped, expected {sessions:,}")
    return "; ".join(problems) or f"exact: {count:,} records, {stored:,} sessions stopped, byte sums match"


def check_freeradius(libpq: str, sessions: int, total_in: int, total_out: int) -> str:
    import psycopg

    with psycopg.connect(libpq) as conn:
        rows, b_in, b_out, stopped = conn.execute(
            "SELECT count(*), coalesce(sum(acctinputoctets), 0), coalesce(sum(acctoutputoctets), 0), "
            "count(acctstoptime) FROM radacct").fetchone()
    problems = []
    if rows != sessions:
        problems.append(f"{rows:,} radacct rows for {sessions:,} sessions")
    if (b_in, b_out) != (total_in, total_out):
        problems.append(f"octets in/out {b_in:,}/{b_out:,}, expected {total_in:,}/{total_out:,}")
    if stopped != sessions:
        problems.append(f"{stopped:,} of {sessions:,} sessions stopped")
    return "; ".join(problems) or f"exact: {rows:,} radacct rows, all stopped, octet sums match"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", type=int, default=4000)
    parser.add_argument("--interims", type=int, default=3)
    parser.add_argument("--lanes", type=int, default=32)
    parser.add_argument("--window", type=int, default=16)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--batch-max", type=int, default=500)
    parser.add_argument("--only", choices=("realmbill", "freeradius"))
    args = parser.parse_args()

    phases, total_in, total_out = workload(args.sessions, args.interims)
    packets = sum(len(p) for p in phases)
    figures = Figures(f"RADIUS accounting: {args.sessions:,} sessions, {packets:,} packets "
                      f"(Start/{args.interims} Interim/Stop), {args.lanes * args.window} in flight",
                      "packets/s")
    verdicts = []
    with tempfile.TemporaryDirectory(prefix="realmbill-bench-") as tmp_name, pg_database() as url:
        tmp = Path(tmp_name)
        from cryptography.fernet import Fernet

        keys = Fernet.generate_key().decode()
        os.environ["REALMBILL_ENCRYPTION_KEYS"] = keys
        app = make_app(url)
        realm_id = seed_realm(app, accounts=args.sessions)
        with app.app_context():
            from app.extensions import db
            from app.services.nas import add_nas
            from tenants import realm_context

            with realm_context(realm_id):
                add_nas(name="bench NAS", address="127.0.0.1", secret=SECRET.decode())
                db.session.commit()
            db.engine.dispose()
        libpq = url.replace("postgresql+psycopg://", "postgresql://", 1)
        import psycopg

        with psycopg.connect(libpq, autocommit=True) as conn:
            conn.execute(SCHEMA.read_text())

        if args.only in (None, "realmbill"):
            port = _free_udp_port()
            process, log = run_realmbill(url, keys, port, args.workers, args.batch_max, tmp)
            try:
                result = blast(port, phases, args.lanes, args.window)
            finally:
                _stop(process, signal.SIGINT)
            name = f"realmbill radius-acct ({args.workers} worker{'s' if args.workers > 1 else ''})"
            figures.add(name, packets, result.seconds,
                        f"answered {result.answered:,}, retransmitted {result.retransmitted:,}")
            verdicts.append((name, check_realmbill(libpq, packets, args.sessions, total_in, total_out)))
        if args.only in (None, "freeradius"):
            port = _free_udp_port()
            raddb = freeradius_config(tmp, url.rsplit("/", 1)[1], port)
            process, log = run_freeradius(raddb, tmp)
            try:
                result = blast(port, phases, args.lanes, args.window)
            finally:
                _stop(process)
            figures.add("FreeRADIUS 3 + rlm_sql (PostgreSQL)", packets, result.seconds,
                        f"answered {result.answered:,}, retransmitted {result.retransmitted:,}")
            verdicts.append(("FreeRADIUS", check_freeradius(libpq, args.sessions, total_in, total_out)))
    figures.print()
    print()
    for name, verdict in verdicts:
        print(f"{name}: {verdict}")
    if args.only is None:
        ratio = figures.rate(figures.rows[0][0]) / figures.rate(figures.rows[1][0])
        print(f"realmbill / FreeRADIUS: {ratio:.2f}x  (target >= 2x)")


if __name__ == "__main__":
    main()
