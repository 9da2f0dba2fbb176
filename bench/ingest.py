"""CDR ingest throughput: records/s through the real import path, next to raw COPY.

    .venv/bin/python -m bench.ingest [--rows 1000000] [--accounts 10000] [--only postgresql|sqlite]

Writes ROWS generated CDR lines (45 % bare usernames, 45 % ``user@bench.example``, 10 %
IP-only records attributed through open RADIUS sessions; 5 % SMS records with unit and
quantity) to a temporary CSV file, then on a throw-away PostgreSQL database and a
temporary SQLite file (schema from the models, a realm with ACCOUNTS accounts):

1. ``ingest new``: ``import_usage_file(path, kind="cdr")`` in one unit of work, exactly
   what ``realmbill usage import`` runs (parse, attribute, write, rejects, quota pools);
2. ``ingest replay``: the same file again: every record a duplicate, nothing changes;
3. raw loads of the same data, measured in the same run:
   - PostgreSQL ``raw COPY csv``: the CSV file straight into a table of its columns
     (typed) with a unique index on record_id, ``COPY … FROM STDIN (FORMAT csv)``;
   - PostgreSQL ``raw COPY rows``: the rows ingest stored, copied out and COPYed into a
     table ``LIKE usage_records INCLUDING ALL`` (same columns, primary key, unique and other
     indexes: the least any loader of usage_records pays);
   - PostgreSQL ``raw COPY rows+FK``: the same into a table that also has the three
     foreign keys usage_records had until migration 0018 (realm, account, import: a per-row
     check each);
   - SQLite ``raw executemany``: the CSV rows (csv.reader) into a table with a unique
     index on record_id, one executemany per 50,000 rows, one transaction.

Stored totals are checked (row count and byte sums equal the file's, unchanged by the
replay). The target: idempotent ingest >= 60 % of raw.
"""

from __future__ import annotations

import argparse
import csv
import tempfile
from pathlib import Path

from ._common import (
    Figures,
    Timer,
    libpq_url,
    make_app,
    pg_database,
    seed_realm,
    session_ip,
    sqlite_database,
)

HEADER = "record_id,username,ip,start,duration_s,bytes_in,bytes_out,unit,quantity,destination\n"


def write_cdr(path: Path, rows: int, accounts: int, ip_sessions: int) -> tuple[int, int]:
    """The CDR file; returns (sum of bytes_in, sum of bytes_out)."""
    total_in = total_out = 0
    with open(path, "w", newline="", encoding="utf-8") as out:
        out.write(HEADER)
        lines = []
        for i in range(rows):
            k = i * 7919 % accounts
            start = f"2026-11-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:{i * 7 % 60:02d}Z"
            kind = i % 20
            if kind < 2:
                ip = session_ip(i % ip_sessions)
                user = ""
            else:
                ip = ""
                user = f"user{k}" if kind % 2 else f"user{k}@bench.example"
            if kind == 3:
                lines.append(f"sms-{i},{user},,{start},0,0,0,SMS,1,+4930123{i % 1000}\n")
            else:
                b_in, b_out = i * 13 % 10**9, i * 31 % 10**10
                total_in += b_in
                total_out += b_out
                lines.append(f"cdr-{i},{user},{ip},{start},{i % 3600},{b_in},{b_out},,,\n")
            if len(lines) >= 10_000:
                out.writelines(lines)
                lines = []
        out.writelines(lines)
    return total_in, total_out


def ingest_file(app, realm_id: int, path: Path):
    from app.services.uow import unit_of_work
    from app.services.usage.ingest import import_usage_file
    from tenants import realm_context

    with app.app_context(), realm_context(realm_id), unit_of_work():
        batch = import_usage_file(path, kind="cdr")
        return batch.accepted, batch.duplicates, batch.rejected


def stored_totals(app) -> tuple[int, int, int]:
    from sqlalchemy import func, select

    from app.extensions import db
    from app.models import UsageRecord
    from tenants import all_realms

    with app.app_context(), all_realms():
        count, b_in, b_out = db.session.execute(
            select(func.count(), func.sum(UsageRecord.bytes_in), func.sum(UsageRecord.bytes_out))
        ).one()
        db.session.rollback()
    return int(count), int(b_in or 0), int(b_out or 0)


def run_ingest(figures: Figures, label: str, app, realm_id: int, path: Path, rows: int,
               sums: tuple[int, int]) -> None:
    with Timer() as t:
        accepted, duplicates, rejected = ingest_file(app, realm_id, path)
    figures.add(f"{label} ingest new", rows, t.seconds,
                f"accepted {accepted:,}, duplicates {duplicates:,}, rejected {rejected:,}")
    expected = (rows, *sums)
    totals = stored_totals(app)
    if accepted != rows or totals != expected:
        raise SystemExit(f"{label}: stored {totals}, expected {expected} (accepted {accepted:,})")
    with Timer() as t:
        accepted, duplicates, rejected = ingest_file(app, realm_id, path)
    figures.add(f"{label} ingest replay", rows, t.seconds,
                f"accepted {accepted:,}, duplicates {duplicates:,}, rejected {rejected:,}")
    if accepted != 0 or duplicates != rows or stored_totals(app) != expected:
        raise SystemExit(f"{label}: the replay changed something (accepted {accepted:,})")


RAW_CSV_TABLE = """
CREATE TABLE raw_cdr (
    record_id varchar(200) NOT NULL, username varchar(200), ip varchar(45),
    start timestamptz NOT NULL, duration_s bigint, bytes_in bigint, bytes_out bigint,
    unit varchar(20), quantity numeric(20, 6), destination varchar(100)
)"""


RAW_FKS = (
    "FOREIGN KEY (realm_id) REFERENCES realms(id) ON DELETE CASCADE",
    "FOREIGN KEY (account_id) REFERENCES accounts(id) ON DELETE CASCADE",
    "FOREIGN KEY (import_id) REFERENCES usage_imports(id) ON DELETE SET NULL",
)


def raw_postgres(figures: Figures, url: str, path: Path, rows: int) -> None:
    import psycopg

    with psycopg.connect(libpq_url(url)) as conn:
        with conn.cursor() as cur:
            cur.execute(RAW_CSV_TABLE)
            cur.execute("CREATE UNIQUE INDEX raw_cdr_record_id ON raw_cdr (record_id)")
        conn.commit()
        with Timer() as t:
            with conn.cursor() as cur, open(path, "rb") as stream:
                with cur.copy("COPY raw_cdr FROM STDIN (FORMAT csv, HEADER true)") as copy:
                    while block := stream.read(1 << 20):
                        copy.write(block)
            conn.commit()
        figures.add("PostgreSQL raw COPY csv", rows, t.seconds, "CSV file -> table + unique index")

        columns = ("realm_id, account_id, import_id, source, source_record_id, status, session_key, "
                   "username, ip, nas, event_time, start, duration_s, bytes_in, bytes_out, quantity, "
                   "unit, destination, notes")
        data = bytearray()
        with conn.cursor() as cur:
            with cur.copy(f"COPY (SELECT {columns} FROM usage_records) TO STDOUT") as copy:  # noqa: S608
                for block in copy:
                    data += block
            cur.execute("CREATE TABLE raw_usage (LIKE usage_records INCLUDING ALL)")
        conn.commit()
        with Timer() as t:
            with conn.cursor() as cur:
                with cur.copy(f"COPY raw_usage ({columns}) FROM STDIN") as copy:
                    view = memoryview(data)
                    for start in range(0, len(view), 1 << 20):
                        copy.write(view[start:start + (1 << 20)])
            conn.commit()
        figures.add("PostgreSQL raw COPY rows", rows, t.seconds,
                    "stored rows -> LIKE usage_records INCLUDING ALL")

        with conn.cursor() as cur:
            cur.execute("CREATE TABLE raw_usage_fk (LIKE usage_records INCLUDING ALL)")
            # The three foreign keys usage_records had until migration 0018 (a per-row check each).
            for definition in RAW_FKS:
                cur.execute(f"ALTER TABLE raw_usage_fk ADD {definition}")
        conn.commit()
        with Timer() as t:
            with conn.cursor() as cur:
                with cur.copy(f"COPY raw_usage_fk ({columns}) FROM STDIN") as copy:
                    view = memoryview(data)
                    for start in range(0, len(view), 1 << 20):
                        copy.write(view[start:start + (1 << 20)])
            conn.commit()
        figures.add("PostgreSQL raw COPY rows+FK", rows, t.seconds,
                    "the same, with usage_records' foreign keys")


def raw_sqlite(figures: Figures, url: str, path: Path, rows: int) -> None:
    import sqlite3

    conn = sqlite3.connect(url.removeprefix("sqlite:///"))
    try:
        conn.execute("CREATE TABLE raw_cdr (record_id VARCHAR(200) NOT NULL, username VARCHAR(200), "
                     "ip VARCHAR(45), start VARCHAR(40) NOT NULL, duration_s BIGINT, bytes_in BIGINT, "
                     "bytes_out BIGINT, unit VARCHAR(20), quantity NUMERIC, destination VARCHAR(100))")
        conn.execute("CREATE UNIQUE INDEX raw_cdr_record_id ON raw_cdr (record_id)")
        conn.commit()
        with Timer() as t:
            with open(path, newline="", encoding="utf-8") as stream:
                reader = csv.reader(stream)
                next(reader)
                chunk = []
                for row in reader:
                    chunk.append(row)
                    if len(chunk) >= 50_000:
                        conn.executemany("INSERT INTO raw_cdr VALUES (?,?,?,?,?,?,?,?,?,?)", chunk)
                        chunk = []
                if chunk:
                    conn.executemany("INSERT INTO raw_cdr VALUES (?,?,?,?,?,?,?,?,?,?)", chunk)
            conn.commit()
        figures.add("SQLite raw executemany", rows, t.seconds, "CSV rows -> table + unique index")
    finally:
        conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--only", choices=("postgresql", "sqlite"))
    args = parser.parse_args()
    ip_sessions = max(1, min(1000, args.accounts))
    figures = Figures(f"Ingest of {args.rows:,} CDR rows", "records/s")
    with tempfile.TemporaryDirectory(prefix="realmbill-bench-") as tmp:
        path = Path(tmp) / "bench-cdr.csv"
        with Timer() as t:
            sums = write_cdr(path, args.rows, args.accounts, ip_sessions)
        print(f"wrote {path.stat().st_size / 1e6:,.0f} MB of CDR in {t.seconds:.1f} s", flush=True)
        ratios = []
        if args.only in (None, "postgresql"):
            with pg_database() as url:
                app = make_app(url)
                realm_id = seed_realm(app, accounts=args.accounts, ip_sessions=ip_sessions)
                run_ingest(figures, "PostgreSQL", app, realm_id, path, args.rows, sums)
                with app.app_context():
                    from app.extensions import db

                    db.engine.dispose()
                raw_postgres(figures, url, path, args.rows)
                for raw in ("PostgreSQL raw COPY csv", "PostgreSQL raw COPY rows",
                            "PostgreSQL raw COPY rows+FK"):
                    for kind in ("new", "replay"):
                        ratios.append((f"PostgreSQL ingest {kind} / {raw.split('raw ')[1]}",
                                       figures.rate(f"PostgreSQL ingest {kind}") / figures.rate(raw)))
        if args.only in (None, "sqlite"):
            with sqlite_database() as url:
                app = make_app(url)
                realm_id = seed_realm(app, accounts=args.accounts, ip_sessions=ip_sessions)
                run_ingest(figures, "SQLite", app, realm_id, path, args.rows, sums)
                with app.app_context():
                    from app.extensions import db

                    db.engine.dispose()
                raw_sqlite(figures, url, path, args.rows)
                for kind in ("new", "replay"):
                    ratios.append((f"SQLite ingest {kind} / raw executemany",
                                   figures.rate(f"SQLite ingest {kind}") / figures.rate("SQLite raw executemany")))
    figures.print()
    print()
    for name, ratio in ratios:
        print(f"{name}: {ratio:.0%}  (target >= 60%)")


if __name__ == "__main__":
    main()
