"""CPU per self-care dashboard view, in-process: the figure to compare before and after a change.

    .venv/bin/python -m bench.dashboard_profile [--requests 300] [--accounts 20] [--usage 100]
                                                [--filler-accounts 2000] [--filler-rows 200000] [--profile 100]
                                                [--top 30] [--sql] [--callers PATTERN]
                                                [--save-html FILE]

Seeds a throw-away PostgreSQL database through the services (``seed_load``: one realm,
ACCOUNTS subscribers on a plan with an included quota, USAGE records per account in last
month and in this month, last month billed by the billing run, so every account has an
open invoice), then gives the first subscriber what a realistic dashboard shows: an own
quota pool, a pool on the head-office cost centre (so the cost-centre path is walked), a
realm pool, a top-up, usage that drew from the pools, and an open RADIUS session.
FILLER_ACCOUNTS bare accounts and FILLER_ROWS usage rows of this month for them are
COPYed in to size the tables and their indexes (100 rows per account and month is what
100,000 accounts with 10,000,000 rows means). The subscriber signs in through the real login form; then the
bench calls the WSGI app directly with the signed-in cookie (no HTTP, no client library)
and measures per GET ``/``:

- CPU ms of this process (``time.process_time``) and of the PostgreSQL backends of the
  database (psutil), i.e. the cost a gunicorn worker and the database pay per view;
- statements sent to the database;
- then a cProfile of PROFILE more views (top functions by cumulative and own time).

Every answer must be 200 and show the next-invoice tile.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import re
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from ._common import libpq_url, machine, make_app, pg_database, seed_load

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _backend_cpu(database: str) -> float:
    import psutil

    total = 0.0
    for process in psutil.process_iter(["cmdline"]):
        cmdline = " ".join(process.info.get("cmdline") or [])
        if cmdline.startswith("postgres:") and f" {database} " in f"{cmdline} ":
            try:
                times = process.cpu_times()
                total += times.user + times.system
            except psutil.Error:
                continue
    return total


def _extras(app, realm) -> None:
    """Pools, a top-up, pool-drawing usage and an open session for the profiled subscriber."""
    from sqlalchemy import select

    from app.extensions import db
    from app.models import Account, CostCentre, RadiusSession
    from app.services.api.usage_batch import ingest_api_batch
    from app.services.quotas import create_pool, top_up_pool
    from app.services.uow import unit_of_work
    from tenants import realm_context

    today = datetime.now(UTC).date()
    account_id, username = realm.account_ids[0], realm.usernames[0]
    with app.app_context(), realm_context(realm.id):
        with unit_of_work():
            root = db.session.scalar(select(CostCentre).where(CostCentre.code == "hq"))
            own = create_pool(name="Own", scope="account", account_id=account_id, unit="MB",
                              size=Decimal(5000), anchor=date(2026, 1, 1))
            create_pool(name="Head office", scope="cost_centre", cost_centre_id=root.id, unit="MB",
                        size=Decimal(100000), anchor=date(2026, 1, 1), carry_over="full")
            create_pool(name="Realm hours", scope="realm", unit="hour", size=Decimal(1000),
                        anchor=date(2026, 1, 1))
            db.session.flush()
            top_up_pool(own.id, quantity=Decimal(1000), on=today)
        first = today.replace(day=1)
        records = [{"id": f"extra-{k}", "username": username,
                    "event_time": (datetime.combine(first, datetime.min.time(), tzinfo=UTC)
                                   + timedelta(hours=k % max((today - first).days * 24, 1))).isoformat(),
                    "duration_s": 600, "bytes_in": 3_000_000, "bytes_out": 500_000} for k in range(10)]
        with unit_of_work():
            ingest_api_batch(records, name="profile extras")
        with unit_of_work():
            account = db.session.get(Account, account_id)
            db.session.add(RadiusSession(account_id=account.id, session_key="profile-open",
                                         nas="nas1", framed_ip="100.64.0.9",
                                         started_at=datetime.now(UTC) - timedelta(hours=1),
                                         last_event_at=datetime.now(UTC)))


def _filler(url: str, realm, accounts: int, rows: int) -> None:
    """``accounts`` more accounts of the realm (bare rows, by COPY) and ``rows`` usage rows
    of this month spread over them, so usage_records and its indexes have a realistic size
    while the profiled subscriber keeps a realistic history (~100 records a month)."""
    import psycopg

    now = datetime.now(UTC)
    first = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    span = max(int((now - first).total_seconds()), 3600)
    with psycopg.connect(libpq_url(url)) as conn, conn.cursor() as cur:
        with cur.copy("COPY accounts (realm_id, number, username, name, status, created_at) FROM STDIN") as copy:
            for n in range(accounts):
                copy.write_row((realm.id, f"F{n:07d}", f"filler{n}", f"Filler {n}", "active", now))
        cur.execute("SELECT id, username FROM accounts WHERE realm_id = %s AND username LIKE 'filler%%'",
                    (realm.id,))
        ids = cur.fetchall()
        columns = ("realm_id", "account_id", "source", "source_record_id", "status", "username", "event_time",
                   "start", "duration_s", "bytes_in", "bytes_out")
        with cur.copy(f"COPY usage_records ({', '.join(columns)}) FROM STDIN") as copy:
            for n in range(rows):
                account_id, username = ids[n % len(ids)]
                moment = first + timedelta(seconds=(n * 7919) % span)
                copy.write_row((realm.id, account_id, "cdr", f"filler-{n}", "cdr", username, moment, moment,
                                60 + n % 600, 1000 * (n % 5000), 100 * (n % 700)))
        conn.commit()
        cur.execute("ANALYZE")
        conn.commit()


def _signed_in_environ(app, host: str, username: str, password: str) -> dict:
    from werkzeug.test import EnvironBuilder

    client = app.test_client()
    base = f"https://{host}"
    page = client.get("/login", base_url=base)
    token = CSRF.search(page.get_data(as_text=True)).group(1)
    answer = client.post("/login", base_url=base, data={"username": username, "password": password,
                                                        "csrf_token": token},
                         headers={"Referer": f"{base}/login"})
    if answer.status_code != 303:
        raise RuntimeError(f"sign-in answered {answer.status_code}")
    cookies = "; ".join(f"{c.key}={c.value}" for c in client._cookies.values())
    # The test client's own address and User-Agent, as a browser keeps its own: with others
    # Flask-Login's session protection would mark the session not fresh and send a new cookie
    # on every view.
    return EnvironBuilder(path="/", base_url=base, environ_base=dict(client.environ_base),
                          headers={"Cookie": cookies, "Accept-Language": "en"}).get_environ()


def _view(app, environ: dict) -> tuple[str, bytes]:
    status = []

    def start_response(code, headers, exc_info=None):
        status.append(code)

    env = dict(environ)
    env["wsgi.input"] = io.BytesIO(b"")
    result = app(env, start_response)
    try:
        body = b"".join(result)
    finally:
        if hasattr(result, "close"):
            result.close()
    return status[0], body


def main(argv=None) -> None:
    from sqlalchemy import event

    from ._common import SUBSCRIBER_PASSWORD

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300, help="measured views")
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--accounts", type=int, default=20)
    parser.add_argument("--usage", type=int, default=100, help="usage records per account and month")
    parser.add_argument("--filler-accounts", type=int, default=2_000, help="bare accounts, by COPY")
    parser.add_argument("--filler-rows", type=int, default=200_000,
                        help="usage rows of this month for the filler accounts, by COPY")
    parser.add_argument("--profile", type=int, default=100, help="views under cProfile (0: none)")
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--save-html", help="write the last dashboard answer here")
    parser.add_argument("--sql", action="store_true", help="print the statements of one view")
    parser.add_argument("--callers", action="append", default=[],
                        help="also print who calls the profiled functions matching this (repeatable)")
    args = parser.parse_args(argv)
    with pg_database("realmbill_profile") as url:
        app = make_app(url)
        try:
            began = time.perf_counter()
            realm = seed_load(app, realms=1, accounts=args.accounts, usage=args.usage, prefix="prof")[0]
            _extras(app, realm)
            if args.filler_rows:
                _filler(url, realm, args.filler_accounts, args.filler_rows)
            print(f"seeded {args.accounts} accounts, {realm.usage_records:,} usage rows through the services "
                  f"+ {args.filler_rows:,} by COPY in {time.perf_counter() - began:.1f} s", flush=True)
            environ = _signed_in_environ(app, realm.host, realm.usernames[0], SUBSCRIBER_PASSWORD)
            with app.app_context():
                from app.extensions import db

                engine = db.engine
            statements = [0]

            def count(*_args):
                statements[0] += 1

            event.listen(engine, "before_cursor_execute", count)
            body = b""
            for _ in range(args.warmup):
                code, body = _view(app, environ)
                if not code.startswith("200") or b"stat-next-invoice" not in body:
                    raise RuntimeError(f"dashboard answered {code}")
            if args.sql:
                seen = []

                def show(_conn, _cursor, statement, parameters, _context, _many):
                    seen.append(" ".join(statement.split())[:400])

                event.listen(engine, "before_cursor_execute", show)
                _view(app, environ)
                event.remove(engine, "before_cursor_execute", show)
                print("\n".join(f"{n:3d} {text}" for n, text in enumerate(seen, 1)), flush=True)
            database = url.rsplit("/", 1)[1]
            statements[0] = 0
            pg_before, cpu_before, wall_before = _backend_cpu(database), time.process_time(), time.perf_counter()
            for _ in range(args.requests):
                code, body = _view(app, environ)
                if not code.startswith("200"):
                    raise RuntimeError(f"dashboard answered {code}")
            cpu, wall = time.process_time() - cpu_before, time.perf_counter() - wall_before
            pg = _backend_cpu(database) - pg_before
            per_view = statements[0] / args.requests
            if args.save_html:
                with open(args.save_html, "wb") as out:
                    out.write(body)
            profile_text = ""
            if args.profile:
                profiler = cProfile.Profile(time.process_time)  # CPU, not waiting on the database
                profiler.enable()
                for _ in range(args.profile):
                    _view(app, environ)
                profiler.disable()
                stream = io.StringIO()
                stats = pstats.Stats(profiler, stream=stream)
                stats.sort_stats("cumulative").print_stats(args.top)
                stats.sort_stats("tottime").print_stats(args.top)
                for pattern in args.callers:
                    stats.print_callers(pattern)
                profile_text = stream.getvalue()
            event.remove(engine, "before_cursor_execute", count)
        finally:
            with app.app_context():
                from app.extensions import db

                db.engine.dispose()
    if profile_text:
        print(profile_text)
    print(f"dashboard, {args.requests} views in-process ({machine()})")
    print(f"  CPU per view: app {cpu / args.requests * 1000:.2f} ms, PostgreSQL {pg / args.requests * 1000:.2f} ms, "
          f"total {(cpu + pg) / args.requests * 1000:.2f} ms; wall {wall / args.requests * 1000:.2f} ms")
    print(f"  statements per view: {per_view:.1f}; answer {len(body):,} bytes")


if __name__ == "__main__":
    main()
