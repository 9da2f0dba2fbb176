"""Self-care dashboard latency at a fixed request rate (open loop), on the real app under gunicorn.

    .venv/bin/python -m bench.portal [--rate 100] [--seconds 30] [--accounts 100000]
                                     [--service-accounts 300] [--subscribers 200] [--usage 30]
                                     [--usage-rows 10000000] [--days 30] [--workers 2] [--threads 4]

Seeds a throw-away PostgreSQL database at scale (``seed_portal``): one realm with
SERVICE_ACCOUNTS subscribers through the services (plan, cost centres, subscriptions, USAGE
records per account in last month and this month through the API's ingest, last month
billed) and a cost-centre tree of 72 more centres, then by COPY the rest of ACCOUNTS
accounts with a subscription each and their usage rows over the last DAYS days until
usage_records holds USAGE_ROWS rows; then ``rebuild`` of the daily rollups the reports read.
It prints the time of each phase and the seed time in total, and checks that the
usage-by-cost-centre report answers on its page and that its total equals a SUM over
usage_records. Then it starts gunicorn (``gunicorn_app``), signs SUBSCRIBERS subscribers and
four staff sessions in, and sends RATE requests/s for SECONDS on a fixed schedule — 80 %
self-care dashboard, 10 % console home, 10 % the usage-by-cost-centre report — whether or
not earlier answers came back (open loop: latency is measured from the planned send time,
so a stalled server shows up as latency, not as a lower rate). Prints p50/p95/p99 per
page, the achieved rate and the errors (non-200 answers and exceptions).
Target (2 cores): dashboard p95 ≤ 50 ms at 100 requests/s.
"""

from __future__ import annotations

import argparse
import csv
import io
import queue
import re
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

from . import rawclient
from ._common import (
    STAFF_PASSWORD,
    SUBSCRIBER_PASSWORD,
    gunicorn_app,
    libpq_url,
    machine,
    make_app,
    pg_database,
    seed_portal,
)

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
MIX = [("dashboard", "/", 8), ("console home", "/console/", 1),
       ("usage by cost centre report", "/console/reports/usage_cost_centres", 1)]


def check_report(url: str, server_url: str, realm, session) -> str:
    """The report page answers with figures (read from the rollups), and its total equals a
    SUM over usage_records (MB, as the page rounds)."""
    import psycopg

    page = session.get(server_url + "/console/reports/usage_cost_centres.csv", timeout=120)
    if page.status_code != 200:
        raise RuntimeError(f"the report answered {page.status_code}")
    rows = list(csv.DictReader(io.StringIO(page.text)))
    with psycopg.connect(libpq_url(url)) as conn, conn.cursor() as cur:
        began = time.perf_counter()
        cur.execute("SELECT sum(bytes_in + bytes_out) FROM usage_records WHERE realm_id = %s", (realm.id,))
        total = cur.fetchone()[0] or 0
        scan = time.perf_counter() - began
    shown = sum((Decimal(r["Usage (MB)"]) for r in rows), Decimal(0))
    expected = Decimal(total) / Decimal(10) ** 6
    same = abs(shown - expected) <= Decimal("0.001") * len(rows)  # each row is rounded to 0.001 MB
    return (f"report: {len(rows)} top-level rows, {shown:,} MB; SUM over usage_records {expected:,.3f} MB "
            f"({scan:.1f} s to scan): {'equal' if same else 'DIFFERENT'} within rounding")


def time_reports(url: str, server_url: str, realm, session) -> str:
    """One request each (after the check above, so warm) of the other usage reports."""
    import psycopg

    with psycopg.connect(libpq_url(url)) as conn, conn.cursor() as cur:
        cur.execute("SELECT id FROM cost_centres WHERE realm_id = %s AND code = 'hq'", (realm.id,))
        head_office = cur.fetchone()[0]
    timings = []
    for name, path in (("top users", "/console/reports/top_users"),
                       ("usage by account CSV", "/console/reports/usage_accounts.csv"),
                       ("cost centre drill-down", f"/console/reports/usage_cost_centres?node={head_office}")):
        began = time.perf_counter()
        answer = session.get(server_url + path, timeout=300)
        seconds = time.perf_counter() - began
        lines = answer.text.count("\n") - 1 if path.endswith(".csv") else None
        timings.append(f"{name} {seconds * 1000:,.0f} ms" + (f" ({lines:,} rows)" if lines is not None else "")
                       + ("" if answer.status_code == 200 else f" HTTP {answer.status_code}"))
    return "other reports, one request each: " + ", ".join(timings)


def sign_in(url: str, host: str, path: str, fields: dict):
    import requests
    from requests.adapters import HTTPAdapter
    from urllib3.util.retry import Retry

    session = requests.Session()
    session.headers["Host"] = host
    # As a browser does: a GET on a kept-alive connection that the server closed at the
    # same moment (gunicorn drops idle connections after 2 s) is sent again once on a new
    # connection instead of failing; the latency still counts from the planned send time.
    retry = Retry(total=1, connect=1, read=1, status=0, allowed_methods={"GET"}, raise_on_status=False)
    session.mount("http://", HTTPAdapter(max_retries=retry, pool_maxsize=4))
    page = session.get(url + path, timeout=60)
    token = CSRF.search(page.text).group(1)
    answer = session.post(url + path, data={**fields, "csrf_token": token}, allow_redirects=False, timeout=60)
    if answer.status_code != 303:
        session.close()
        raise RuntimeError(f"sign-in at {path} answered {answer.status_code}")
    return session


def open_loop(url: str, pools: dict[str, queue.Queue], *, rate: float, seconds: float,
              concurrency: int = 64) -> tuple[dict[str, list[float]], dict[str, int], float, float, int, list[str]]:
    """Send ``rate`` requests/s on a fixed schedule for ``seconds``; per page the latencies
    (s, from the planned send time), the errors, seconds sending, seconds until the last
    answer, the number sent, and what the first errors were."""
    schedule = [name for name, _, weight in MIX for _ in range(weight)]
    paths = {name: path for name, path, _ in MIX}
    latencies: dict[str, list[float]] = {name: [] for name, _, _ in MIX}
    errors: dict[str, int] = {name: 0 for name, _, _ in MIX}
    samples: list[str] = []
    lock = threading.Lock()

    def one(name: str, planned: float) -> None:
        kind = "staff" if name != "dashboard" else "subscriber"
        session = pools[kind].get()
        try:
            answer = session.get(url + paths[name], allow_redirects=False, timeout=30)
            ok, reason = answer.status_code == 200, f"{name}: HTTP {answer.status_code}"
        except Exception as exc:  # noqa: BLE001 - counted as an error, the run goes on
            ok, reason = False, f"{name}: {type(exc).__name__} ({str(exc)[-80:]})"
        finally:
            pools[kind].put(session)
        done = time.perf_counter()
        with lock:
            latencies[name].append(done - planned)
            if not ok:
                errors[name] += 1
                if len(samples) < 5:
                    samples.append(reason)

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
    return latencies, errors, sending, wall, total, samples


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
    parser.add_argument("--rate", default="100",
                        help="requests per second; several (e.g. 20,50,100) run one after another on one seed")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--accounts", type=int, default=100_000, help="accounts in the realm in total")
    parser.add_argument("--service-accounts", type=int, default=300,
                        help="of which seeded through the services (they can sign in)")
    parser.add_argument("--subscribers", type=int, default=200, help="subscribers signed in and browsing")
    parser.add_argument("--usage", type=int, default=30,
                        help="usage records per service account and month (through the API's ingest)")
    parser.add_argument("--usage-rows", type=int, default=10_000_000, help="usage rows in total (the rest by COPY)")
    parser.add_argument("--days", type=int, default=30, help="days the COPYed usage rows spread over")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--worker-class", default="gthread", choices=("gthread", "sync"),
                        help="gunicorn's worker class (sync: one request at a time per process, --threads 1)")
    parser.add_argument("--keep-alive", type=float, default=2.0, help="gunicorn's --keep-alive seconds")
    parser.add_argument("--concurrency", type=int, default=64, help="client threads (--client requests)")
    parser.add_argument("--client", choices=("raw", "requests"), default="raw",
                        help="load generator: raw asyncio HTTP/1.1 (light, bench/rawclient.py) or requests in threads")
    args = parser.parse_args(argv)
    with pg_database() as url:
        app = make_app(url)
        sessions = []
        try:
            with gunicorn_app(url, workers=args.workers, threads=args.threads, wait=False,
                              worker_class=args.worker_class, keep_alive=args.keep_alive,
                              encryption_keys=app.config["ENCRYPTION_KEYS"]) as server:
                began = time.perf_counter()
                realm, _ = seed_portal(app, url, accounts=args.accounts, service_accounts=args.service_accounts,
                                       usage=args.usage, usage_rows=args.usage_rows, days=args.days)
                print(f"seeded {max(args.accounts, args.service_accounts):,} accounts, {realm.usage_records:,} "
                      f"usage rows in {time.perf_counter() - began:.1f} s", flush=True)
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
                print(check_report(url, server.url, realm, staff[0]), flush=True)
                print(time_reports(url, server.url, realm, staff[0]), flush=True)
                for session in subscribers:
                    pools["subscriber"].put(session)
                for session in staff:
                    pools["staff"].put(session)
                for session in subscribers[:8] + staff:  # warm both workers' caches
                    session.get(server.url + "/", allow_redirects=False, timeout=60)
                rates = [float(rate) for rate in args.rate.split(",")]
                print(f"{len(subscribers)} subscribers and {len(staff)} staff signed in; "
                      f"{args.rate} req/s for {args.seconds:g} s (gunicorn {args.worker_class} "
                      f"{args.workers}×{args.threads}, keep-alive {args.keep_alive:g} s)",
                      flush=True)
                database = url.rsplit("/", 1)[1]
                raw_sessions = {
                    "subscriber": [rawclient.Session(realm.host, s.cookies.get_dict(), s.headers["User-Agent"])
                                   for s in subscribers],
                    "staff": [rawclient.Session(realm.host, s.cookies.get_dict(), s.headers["User-Agent"])
                              for s in staff]}
                for rate in rates:
                    cpu_before = cpu_seconds(server.pid, database)
                    client_before = time.process_time()
                    if args.client == "raw":
                        run = rawclient.open_loop(server.url, raw_sessions, MIX, rate=rate, seconds=args.seconds)
                    else:
                        run = open_loop(server.url, pools, rate=rate, seconds=args.seconds,
                                        concurrency=args.concurrency)
                    report(rate, run, cpu_before, cpu_seconds(server.pid, database),
                           client=(args.client, time.process_time() - client_before))
        finally:
            for session in sessions:
                session.close()
            with app.app_context():
                from app.extensions import db

                db.engine.dispose()


def report(rate: float, run, cpu_before, cpu_after, client=("requests", 0.0)) -> None:
    latencies, errors, sending, wall, total, samples = run
    answered = sum(len(v) for v in latencies.values())
    print(f"\nportal at {rate:g} req/s open loop ({machine()})")
    print(f"  sent {total:,} in {sending:.1f} s = {total / sending:.1f} req/s offered; answered {answered:,} "
          f"by {wall:.1f} s = {answered / wall:.1f} req/s achieved; errors {sum(errors.values())}")
    app_cpu, pg_cpu = (after - before for after, before in zip(cpu_after, cpu_before, strict=True))
    print(f"  CPU per request: gunicorn {app_cpu / max(answered, 1) * 1000:.1f} ms, PostgreSQL "
          f"{pg_cpu / max(answered, 1) * 1000:.1f} ms (i.e. at most {answered / max(app_cpu + pg_cpu, 1e-9):.0f} "
          f"req/s per fully free core); load generator ({client[0]}) "
          f"{client[1] / max(answered, 1) * 1000:.1f} ms")
    width = max(len(name) for name, _, _ in MIX)
    for name, _, _ in MIX:
        values = latencies[name]
        print(f"  {name.ljust(width)}  {len(values):>6,}  p50 {percentile(values, .5) * 1000:7.1f} ms  "
              f"p95 {percentile(values, .95) * 1000:7.1f} ms  p99 {percentile(values, .99) * 1000:7.1f} ms  "
              f"errors {errors[name]}")
    if samples:
        print(f"  first errors: {', '.join(samples)}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
