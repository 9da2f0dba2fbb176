"""Self-care dashboard latency at a fixed request rate (open loop), on the real app under gunicorn.

    .venv/bin/python -m bench.portal [--rate 100] [--seconds 30] [--accounts 200] [--subscribers 40]
                                     [--usage 30] [--usage-rows 0] [--workers 2] [--threads 4]

Seeds a throw-away PostgreSQL database through the services (``seed_load``: one realm,
ACCOUNTS subscribers with a plan, USAGE records per account in last month and this month,
last month billed), optionally USAGE_ROWS more usage rows of this month COPYed in (to
size the table like a real realm), starts gunicorn (``gunicorn_app``), signs SUBSCRIBERS
subscribers and one staff user in, then sends RATE requests/s for SECONDS on a fixed
schedule — 80 % self-care dashboard, 10 % console home, 10 % the usage-by-cost-centre
report — whether or not earlier answers came back (open loop: latency is measured from
the planned send time, so a stalled server shows up as latency, not as a lower rate).
Prints p50/p95/p99 per page, the achieved rate and the errors (non-200 answers and
exceptions). Target (2 cores): dashboard p95 ≤ 50 ms at 100 requests/s.
"""

from __future__ import annotations

import argparse
import queue
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from ._common import (
    STAFF_PASSWORD,
    SUBSCRIBER_PASSWORD,
    gunicorn_app,
    libpq_url,
    machine,
    make_app,
    pg_database,
    seed_load,
)

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
MIX = [("dashboard", "/", 8), ("console home", "/console/", 1),
       ("usage by cost centre report", "/console/reports/usage_cost_centres", 1)]


def copy_usage(url: str, realm, rows: int) -> None:
    """``rows`` usage records of this month for the realm's accounts, by COPY (as ingest stores them)."""
    import psycopg

    today = datetime.now(UTC)
    first = today.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    span = max(int((today - first).total_seconds()), 3600)
    columns = ("realm_id", "account_id", "source", "source_record_id", "status", "username", "event_time",
               "start", "duration_s", "bytes_in", "bytes_out")
    ids, names = realm.account_ids, realm.usernames
    with psycopg.connect(libpq_url(url)) as conn, conn.cursor() as cur:
        with cur.copy(f"COPY usage_records ({', '.join(columns)}) FROM STDIN") as copy:
            for n in range(rows):
                a = n % len(ids)
                moment = first + timedelta(seconds=(n * 7919) % span)
                copy.write_row((realm.id, ids[a], "cdr", f"bulk-{n}", "cdr", names[a], moment, moment,
                                60 + n % 600, 1000 * (n % 5000), 100 * (n % 700)))
        conn.commit()
        cur.execute("ANALYZE usage_records")
        conn.commit()


def sign_in(url: str, host: str, path: str, fields: dict):
    import requests

    session = requests.Session()
    session.headers["Host"] = host
    page = session.get(url + path, timeout=60)
    token = CSRF.search(page.text).group(1)
    answer = session.post(url + path, data={**fields, "csrf_token": token}, allow_redirects=False, timeout=60)
    if answer.status_code != 303:
        session.close()
        raise RuntimeError(f"sign-in at {path} answered {answer.status_code}")
    return session


def open_loop(url: str, pools: dict[str, queue.Queue], *, rate: float, seconds: float,
              concurrency: int = 64) -> tuple[dict[str, list[float]], dict[str, int], float, float, int]:
    """Send ``rate`` requests/s on a fixed schedule for ``seconds``; per page the latencies
    (s, from the planned send time), the errors, seconds sending, seconds until the last
    answer, and the number sent."""
    schedule = [name for name, _, weight in MIX for _ in range(weight)]
    paths = {name: path for name, path, _ in MIX}
    latencies: dict[str, list[float]] = {name: [] for name, _, _ in MIX}
    errors: dict[str, int] = {name: 0 for name, _, _ in MIX}
    lock = threading.Lock()

    def one(name: str, planned: float) -> None:
        kind = "staff" if name != "dashboard" else "subscriber"
        session = pools[kind].get()
        try:
            answer = session.get(url + paths[name], allow_redirects=False, timeout=30)
            ok = answer.status_code == 200
        except Exception:  # noqa: BLE001 - counted as an error, the run goes on
            ok = False
        finally:
            pools[kind].put(session)
        done = time.perf_counter()
        with lock:
            latencies[name].append(done - planned)
            if not ok:
                errors[name] += 1

    total = int(rate * seconds)
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        began = time.perf_counter()
        for n in range(total):
            planned = began + n / rate
            delay = planned - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            pool.submit(one, schedule[n % len(schedule)], planned)
        sending = time.perf_counter() - began
    wall = time.perf_counter() - began
    return latencies, errors, sending, wall, total


def cpu_seconds(gunicorn_pid: int, database: str) -> tuple[float, float]:
    """CPU seconds (user + system) so far of the gunicorn master and its workers, and of
    the PostgreSQL backends serving ``database`` (figures the machine's other load does
    not inflate, unlike latency)."""
    import psutil

    def used(process) -> float:
        try:
            times = process.cpu_times()
            return times.user + times.system
        except psutil.Error:
            return 0.0

    master = psutil.Process(gunicorn_pid)
    app_cpu = used(master) + sum(used(child) for child in master.children(recursive=True))
    pg_cpu = 0.0
    for process in psutil.process_iter(["name", "cmdline"]):
        cmdline = " ".join(process.info.get("cmdline") or [])
        if cmdline.startswith("postgres:") and f" {database} " in f"{cmdline} ":
            pg_cpu += used(process)
    return app_cpu, pg_cpu


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=100.0, help="requests per second")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--accounts", type=int, default=200, help="subscribers seeded through the services")
    parser.add_argument("--subscribers", type=int, default=40, help="subscribers signed in and browsing")
    parser.add_argument("--usage", type=int, default=30, help="usage records per account and month (services)")
    parser.add_argument("--usage-rows", type=int, default=0, help="more usage rows this month, by COPY")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--concurrency", type=int, default=64, help="client threads")
    args = parser.parse_args(argv)
    with pg_database() as url:
        app = make_app(url)
        sessions = []
        try:
            with gunicorn_app(url, workers=args.workers, threads=args.threads, wait=False,
                              encryption_keys=app.config["ENCRYPTION_KEYS"]) as server:
                began = time.perf_counter()
                realm = seed_load(app, realms=1, accounts=args.accounts, usage=args.usage)[0]
                if args.usage_rows:
                    copy_usage(url, realm, args.usage_rows)
                print(f"seeded {args.accounts} accounts, {realm.usage_records + args.usage_rows:,} usage rows "
                      f"in {time.perf_counter() - began:.1f} s", flush=True)
                server.wait_ready()
                pools = {"subscriber": queue.Queue(), "staff": queue.Queue()}
                with ThreadPoolExecutor(max_workers=8) as signing:
                    subscribers = list(signing.map(
                        lambda name: sign_in(server.url, realm.host, "/login",
                                             {"username": name, "password": SUBSCRIBER_PASSWORD}),
                        realm.usernames[:args.subscribers]))
                    staff = list(signing.map(
                        lambda _: sign_in(server.url, realm.host, "/console/login",
                                          {"email": realm.staff_email, "password": STAFF_PASSWORD}), range(4)))
                sessions = subscribers + staff
                for session in subscribers:
                    pools["subscriber"].put(session)
                for session in staff:
                    pools["staff"].put(session)
                for session in subscribers[:8] + staff:  # warm both workers' caches
                    session.get(server.url + "/", allow_redirects=False, timeout=60)
                print(f"{len(subscribers)} subscribers and {len(staff)} staff signed in; "
                      f"{args.rate:g} req/s for {args.seconds:g} s (gunicorn {args.workers}×{args.threads})",
                      flush=True)
                database = url.rsplit("/", 1)[1]
                cpu_before = cpu_seconds(server.pid, database)
                latencies, errors, sending, wall, total = open_loop(server.url, pools, rate=args.rate,
                                                           seconds=args.seconds, concurrency=args.concurrency)
                cpu_after = cpu_seconds(server.pid, database)
        finally:
            for session in sessions:
                session.close()
            with app.app_context():
                from app.extensions import db

                db.engine.dispose()
    answered = sum(len(v) for v in latencies.values())
    print(f"\nportal at {args.rate:g} req/s open loop ({machine()})")
    print(f"  sent {total:,} in {sending:.1f} s = {total / sending:.1f} req/s offered; answered {answered:,} "
          f"by {wall:.1f} s = {answered / wall:.1f} req/s achieved; errors {sum(errors.values())}")
    app_cpu, pg_cpu = (after - before for after, before in zip(cpu_after, cpu_before, strict=True))
    print(f"  CPU per request: gunicorn {app_cpu / max(answered, 1) * 1000:.1f} ms, PostgreSQL "
          f"{pg_cpu / max(answered, 1) * 1000:.1f} ms (i.e. at most {answered / max(app_cpu + pg_cpu, 1e-9):.0f} "
          f"req/s per fully free core)")
    width = max(len(name) for name, _, _ in MIX)
    for name, _, _ in MIX:
        values = latencies[name]
        print(f"  {name.ljust(width)}  {len(values):>6,}  p50 {percentile(values, .5) * 1000:7.1f} ms  "
              f"p95 {percentile(values, .95) * 1000:7.1f} ms  p99 {percentile(values, .99) * 1000:7.1f} ms  "
              f"errors {errors[name]}")


if __name__ == "__main__":
    main()
