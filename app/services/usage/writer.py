"""Bulk writes of usage records, idempotent by (source, source_record_id).

PostgreSQL: COPY into a session-local staging table, then one
``INSERT … SELECT … ON CONFLICT DO NOTHING [RETURNING]`` per batch, so duplicates (a file
replayed, a packet retransmitted, two importers at once) are skipped by the unique index.
With ``optimistic=True`` a batch whose first and last records are not stored yet is first
COPYed straight into ``usage_records`` inside a savepoint: a fresh file then loads at raw
COPY speed. A unique violation (some record was stored after all, or by a concurrent
importer) rolls back to the savepoint and the batch takes the staging path, so the result
is the same either way.
SQLite: one query for the ids already stored, then one executemany of the new rows; the
database-wide write lock makes the check and the insert atomic.
``insert_usage`` returns the rows actually inserted (for the quota pools),
``insert_usage_count`` only their number (the database sends nothing back).
"""

from __future__ import annotations

from datetime import UTC, datetime

import psycopg
from sqlalchemy import select

from app.extensions import db
from app.models import UsageRecord
from app.models.types import UTCDateTime

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


def insert_usage(rows: list[tuple], *, optimistic: bool = False) -> list[dict]:
    """Insert ``rows`` (tuples in COLUMNS order); return the inserted ones as dicts."""
    if not rows:
        return []
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        return _insert_postgres(connection, rows, returning=True, optimistic=optimistic)
    return _insert_generic(rows, returning=True)


def insert_usage_count(rows: list[tuple], *, optimistic: bool = False) -> int:
    """Insert ``rows`` like insert_usage, returning only how many were new."""
    if not rows:
        return 0
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        return _insert_postgres(connection, rows, returning=False, optimistic=optimistic)
    return _insert_generic(rows, returning=False)


def _insert_postgres(connection, rows: list[tuple], returning: bool, optimistic: bool = False):
    raw = connection.connection.driver_connection
    cols = ", ".join(COLUMNS)
    with raw.cursor() as cursor:
        if optimistic and _all_new(cursor, rows) and _copy_direct(cursor, rows, cols):
            if returning:
                return [{key: row[index] for key, index in _RETURNED_INDEX} for row in rows]
            return len(rows)
        cursor.execute(_STAGING_DDL)
        with cursor.copy(f"COPY usage_staging ({cols}) FROM STDIN") as copy:
            write_row = copy.write_row
            for row in rows:
                write_row(row)
        # Column names are this module's constants; every value travels through COPY.
        statement = (f"INSERT INTO usage_records ({cols}) SELECT {cols} FROM usage_staging "  # noqa: S608
                     "ON CONFLICT (source, source_record_id) DO NOTHING")
        if returning:
            cursor.execute(f"{statement} RETURNING {', '.join(RETURNED)}")
            result = [dict(zip(RETURNED, r, strict=True)) for r in cursor.fetchall()]
        else:
            cursor.execute(statement)
            result = cursor.rowcount
        cursor.execute("TRUNCATE usage_staging")
    return result


def _all_new(cursor, rows: list[tuple]) -> bool:
    """Whether the batch's first and last records are not stored yet (a cheap guess that
    the whole batch is new: a replayed file has its first records stored already)."""
    probes = {(rows[0][3], rows[0][4]), (rows[-1][3], rows[-1][4])}
    for source, record_id in probes:
        cursor.execute("SELECT 1 FROM usage_records WHERE source = %s AND source_record_id = %s",
                       (source, record_id))
        if cursor.fetchone() is not None:
            return False
    return True


def _copy_direct(cursor, rows: list[tuple], cols: str) -> bool:
    """COPY the batch straight into usage_records; False (and nothing written) on a duplicate."""
    cursor.execute("SAVEPOINT usage_direct_copy")
    try:
        with cursor.copy(f"COPY usage_records ({cols}) FROM STDIN") as copy:
            write_row = copy.write_row
            for row in rows:
                write_row(row)
    except psycopg.errors.UniqueViolation:
        cursor.execute("ROLLBACK TO SAVEPOINT usage_direct_copy")
        return False
    cursor.execute("RELEASE SAVEPOINT usage_direct_copy")
    return True


def _insert_generic(rows: list[tuple], returning: bool):
    """SQLite: the ids already stored (one query per 500), then one executemany of the rest."""
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
    fresh = [row for row in rows if (row[3], row[4]) not in existing] if existing else rows
    if fresh:
        _execute_many(fresh)
    if not returning:
        return len(fresh)
    return [{key: row[index] for key, index in _RETURNED_INDEX} for row in fresh]


_RETURNED_INDEX = tuple((key, COLUMNS.index(key)) for key in RETURNED)


def _execute_many(rows: list[tuple]) -> None:
    """One executemany of positional rows, values converted by the columns' types once each."""
    connection = db.session.connection()
    dialect = connection.dialect
    table = UsageRecord.__table__
    processors = []
    for index, name in enumerate(COLUMNS):
        column_type = table.c[name].type
        if dialect.name == "sqlite" and isinstance(column_type, UTCDateTime):
            processors.append((index, _sqlite_utc_text))
            continue
        processor = column_type._cached_bind_processor(dialect)
        if processor is not None:
            processors.append((index, processor))
    values = []
    for row in rows:
        if processors:
            row = list(row)
            for index, processor in processors:
                value = row[index]
                if value is not None:
                    row[index] = processor(value)
            row = tuple(row)
        values.append(row)
    marks = ", ".join("?" for _ in COLUMNS)
    # Column names are this module's constants; every value is a bound parameter.
    statement = f"INSERT INTO usage_records ({', '.join(COLUMNS)}) VALUES ({marks})"  # noqa: S608
    connection.exec_driver_sql(statement, values)


def _sqlite_utc_text(value: datetime) -> str:
    """What UTCDateTime stores on SQLite (naive UTC in SQLAlchemy's text format
    ``YYYY-MM-DD HH:MM:SS.ffffff``), without its per-value strftime-style formatting."""
    if value.tzinfo is None:
        raise ValueError("naive datetime: give a time zone (UTC)")
    if value.utcoffset():
        value = value.astimezone(UTC)
    return value.replace(tzinfo=None).isoformat(" ", "microseconds")
