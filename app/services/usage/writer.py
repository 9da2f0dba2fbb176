"""Bulk writes of usage records, idempotent by (source, source_record_id).

PostgreSQL: COPY into a session-local staging table, then one
``INSERT … SELECT … ON CONFLICT DO NOTHING RETURNING`` per batch, so duplicates (a file
replayed, a packet retransmitted, two importers at once) are skipped by the unique index.
SQLite: one query for the ids already stored, then one executemany of the new rows; the
database-wide write lock makes the check and the insert atomic.
Both return the rows actually inserted, for the quota pools.
"""

from __future__ import annotations

from sqlalchemy import insert, select

from app.extensions import db
from app.models import UsageRecord

COLUMNS = (
    "realm_id", "account_id", "import_id", "source", "source_record_id", "status",
    "session_key", "username", "ip", "nas", "event_time", "start", "duration_s",
    "bytes_in", "bytes_out", "quantity", "unit", "destination", "notes",
)
RETURNED = ("realm_id", "account_id", "event_time", "duration_s", "bytes_in", "bytes_out",
            "quantity", "unit")

_STAGING_DDL = """
CREATE TEMP TABLE IF NOT EXISTS usage_staging (
    realm_id integer, account_id integer, import_id integer, source varchar(10),
    source_record_id varchar(200), status varchar(20), session_key varchar(200),
    username varchar(200), ip varchar(45), nas varchar(100), event_time timestamptz,
    start timestamptz, duration_s bigint, bytes_in bigint, bytes_out bigint,
    quantity numeric(20, 6), unit varchar(20), destination varchar(100), notes text
) ON COMMIT DROP
"""


def insert_usage(rows: list[tuple]) -> list[dict]:
    """Insert ``rows`` (tuples in COLUMNS order); return the inserted ones as dicts."""
    if not rows:
        return []
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        return _insert_postgres(connection, rows)
    return _insert_generic(rows)


def _insert_postgres(connection, rows: list[tuple]) -> list[dict]:
    raw = connection.connection.driver_connection
    cols = ", ".join(COLUMNS)
    with raw.cursor() as cursor:
        cursor.execute(_STAGING_DDL)
        with cursor.copy(f"COPY usage_staging ({cols}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        # Column names are this module's constants; every value travels through COPY.
        cursor.execute(
            f"INSERT INTO usage_records ({cols}) SELECT {cols} FROM usage_staging "  # noqa: S608
            f"ON CONFLICT (source, source_record_id) DO NOTHING RETURNING {', '.join(RETURNED)}"
        )
        inserted = [dict(zip(RETURNED, r, strict=True)) for r in cursor.fetchall()]
        cursor.execute("TRUNCATE usage_staging")
    return inserted


def _insert_generic(rows: list[tuple]) -> list[dict]:
    table = UsageRecord.__table__
    by_source: dict[str, list[str]] = {}
    for row in rows:
        by_source.setdefault(row[3], []).append(row[4])
    existing: set[tuple[str, str]] = set()
    for source, ids in by_source.items():
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            found = db.session.execute(
                select(table.c.source_record_id).where(
                    table.c.source == source, table.c.source_record_id.in_(chunk)
                )
            ).scalars()
            existing.update((source, rid) for rid in found)
    fresh = [dict(zip(COLUMNS, row, strict=True)) for row in rows if (row[3], row[4]) not in existing]
    if fresh:
        db.session.execute(insert(table), fresh)
    return [{key: row[key] for key in RETURNED} for row in fresh]
