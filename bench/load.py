"""A bounded load run on loopback: the real app under gunicorn, locust headless against the
self-care pages, the realm console and the API, for a fixed number of users and seconds.

    .venv/bin/python -m bench.load [--realms 2] [--accounts 50] [--users 20] [--seconds 30]
                                   [--workers 2] [--threads 4] [--wait 0.2]

Seeds a throw-away PostgreSQL database through the real services (``seed_load``), starts
gunicorn on a free 127.0.0.1 port (``gunicorn_app``), runs ``locust --headless`` as a
subprocess with ``bench/locustfile.py``, prints requests/s, failures, 5xx answers and
p50/p95/p99 (overall and per page), then checks the invariants: gapless invoice numbers
per realm, one invoice per account and period, usage totals equal to what was sent.
``tests/security/test_load_run.py`` runs the same, small and short.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from ._common import (
    STAFF_PASSWORD,
    SUBSCRIBER_PASSWORD,
    gunicorn_app,
    machine,
    make_app,
    pg_database,
    seed_load,
)

ROOT = Path(__file__).resolve().parent.parent


def run_locust(url: str, seeded, *, users: int, seconds: int, wait: float = 0.2,
               spawn_rate: float | None = None, timeout: float | None = None) -> dict:
    """Run locust headless (a child process) for ``seconds`` with ``users`` users; the
    locustfile's summary (requests, failures, errors_5xx, rps, p50/p95/p99_ms, by_name,
    failure_samples, sent usage per realm slug)."""
    locust = Path(sys.executable).with_name("locust")
    with tempfile.TemporaryDirectory(prefix="realmbill-locust-") as tmp:
        targets, summary = Path(tmp) / "targets.json", Path(tmp) / "summary.json"
        targets.write_text(json.dumps([dataclasses.asdict(s) for s in seeded]))
        env = {**os.environ, "LOAD_TARGETS": str(targets), "LOAD_SUMMARY": str(summary),
               "LOAD_SUBSCRIBER_PASSWORD": SUBSCRIBER_PASSWORD, "LOAD_STAFF_PASSWORD": STAFF_PASSWORD,
               "LOAD_WAIT": str(wait)}
        command = [str(locust), "-f", str(ROOT / "bench" / "locustfile.py"), "--headless",
                   "--users", str(users), "--spawn-rate", str(spawn_rate or users), "--run-time", f"{seconds}s",
                   "--host", url, "--only-summary", "--stop-timeout", "5", "--loglevel", "WARNING",
                   "--exit-code-on-error", "0"]
        done = subprocess.run(command, env=env, cwd=tmp, capture_output=True, text=True,
                              timeout=timeout or seconds + 60, check=False)
        if not summary.exists():
            raise RuntimeError(f"locust exited with {done.returncode} and no summary:\n{done.stderr[-3000:]}")
        result = json.loads(summary.read_text())
        result["exit_code"] = done.returncode
        return result


def invariant_problems(app, seeded, sent: dict) -> list[str]:
    """What is wrong after a run (empty when every invariant holds): per realm, invoice
    numbers 1..N without gaps, at most one invoice per account and period (and one for
    every account in the billed month), stored usage = seeded + sent by the run."""
    from sqlalchemy import func, select

    from app.extensions import db
    from app.models import Invoice, UsageRecord
    from tenants import realm_context

    problems = []
    with app.app_context():
        for realm in seeded:
            with realm_context(realm.id):
                numbers = sorted(db.session.scalars(select(Invoice.sequence).where(
                    Invoice.sequence.is_not(None), Invoice.kind == "invoice")))
                if numbers != list(range(1, len(numbers) + 1)):
                    problems.append(f"{realm.slug}: invoice numbers not gapless: {numbers[:20]}")
                doubles = db.session.execute(
                    select(Invoice.account_id, Invoice.period_key, func.count())
                    .where(Invoice.kind == "invoice", Invoice.status != "void")
                    .group_by(Invoice.account_id, Invoice.period_key).having(func.count() > 1)).all()
                if doubles:
                    problems.append(f"{realm.slug}: more than one invoice per account and period: {doubles[:5]}")
                billed = set(db.session.scalars(select(Invoice.account_id).where(
                    Invoice.kind == "invoice", Invoice.period_key == f"{realm.billed_period}-01")))
                if billed != set(realm.account_ids):
                    problems.append(f"{realm.slug}: {len(billed)} of {len(realm.account_ids)} accounts billed "
                                    f"for {realm.billed_period}")
                count, octets = db.session.execute(select(
                    func.count(UsageRecord.id),
                    func.coalesce(func.sum(UsageRecord.bytes_in + UsageRecord.bytes_out), 0))).one()
                run = sent.get(realm.slug, {"records": 0, "bytes": 0})
                expected = (realm.usage_records + run["records"], realm.usage_bytes + run["bytes"])
                if (count, int(octets)) != expected:
                    problems.append(f"{realm.slug}: usage stored {(count, int(octets))} != sent {expected}")
        db.session.remove()
    return problems


def report(result: dict) -> str:
    lines = [f"load run ({machine()}): {result['requests']:,} requests, {result['rps']:.1f} req/s, "
             f"{result['failures']} failures, {result['errors_5xx']} 5xx, p50 {result['p50_ms']:.0f} ms, "
             f"p95 {result['p95_ms']:.0f} ms, p99 {result['p99_ms']:.0f} ms"]
    width = max((len(n) for n in result["by_name"]), default=10)
    for name, row in sorted(result["by_name"].items()):
        lines.append(f"  {name.ljust(width)}  {row['requests']:>7,}  failures {row['failures']:>4}  "
                     f"p95 {row['p95_ms']:>6.0f} ms")
    lines += [f"  failure: {sample}" for sample in result["failure_samples"]]
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--realms", type=int, default=2)
    parser.add_argument("--accounts", type=int, default=50, help="subscribers per realm")
    parser.add_argument("--usage", type=int, default=20, help="usage records per account and month")
    parser.add_argument("--users", type=int, default=20, help="locust users")
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--wait", type=float, default=0.2, help="mean think time of a user (s)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker")
    args = parser.parse_args(argv)
    with pg_database() as url:
        app = make_app(url)
        try:
            with gunicorn_app(url, workers=args.workers, threads=args.threads, wait=False,
                              encryption_keys=app.config["ENCRYPTION_KEYS"]) as server:
                seeded = seed_load(app, realms=args.realms, accounts=args.accounts, usage=args.usage)
                server.wait_ready()
                print(f"gunicorn {args.workers}×{args.threads} at {server.url}; {args.users} users for "
                      f"{args.seconds} s", flush=True)
                result = run_locust(server.url, seeded, users=args.users, seconds=args.seconds, wait=args.wait)
            print(report(result))
            problems = invariant_problems(app, seeded, result["sent"])
            print("invariants: " + ("all hold" if not problems else "; ".join(problems)))
        finally:
            with app.app_context():
                from app.extensions import db

                db.engine.dispose()


if __name__ == "__main__":
    main()
