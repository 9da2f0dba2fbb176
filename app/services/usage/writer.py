"""Bulk writes of usage records, idempotent by (source, source_record_id), with rollup deltas.

Every write of usage records goes through :class:`UsageWriter` (files, the RADIUS
listener and the API, all through ingest.py; one writer per ingest call, i.e. per
transaction). Per batch:

1. The batch's accounts: PostgreSQL locks them ``FOR KEY SHARE`` once (usage_records has
   no foreign keys, migration 0018: this is the lock an FK check would take per row, so an
   account cannot be deleted under a batch; its AFTER DELETE trigger removes the usage
   rows of a deleted account once we commit); SQLite checks they exist (its write lock
   keeps them). Accounts seen earlier in the transaction are not looked at again; a batch
   for an account deleted meanwhile raises AccountGone.
2. Which records are new:
   - *optimistic* (while a file comes out all new): when the batch's first and last records
     are not stored yet, the whole batch goes in inside a savepoint;
   - otherwise, or when that hits the unique index: the stored ids of the batch are
     looked up (PostgreSQL ``source_record_id = ANY(array)`` against the unique index,
     SQLite ``json_each``) and only the new rows go in, again in a savepoint;
   - a unique violation there (PostgreSQL: a concurrent importer stored some of them
     meanwhile) rolls back to the savepoint and the batch takes a staging table +
     ``INSERT … ON CONFLICT DO NOTHING RETURNING`` the keys actually stored.
   The result is the same on every path: exactly the rows not stored before are stored.
3. Rollup deltas (``usage_rollup_deltas``), only for the rows stored, in the same
   transaction: one row per (realm, account, UTC day of event_time, unit or '') per
   writer, i.e. per import file, added up in Python (:meth:`UsageWriter.add_deltas`) or,
   for staged CDR rows, in SQL from the staging table into a temp stage, and appended by
   :meth:`UsageWriter.finish`.

Two row forms: :meth:`UsageWriter.write` takes tuples in COLUMNS order (PostgreSQL COPY
lines by :func:`copy_line`, SQLite one executemany); :meth:`UsageWriter.write_cdr` takes
CDR rows already in staging form (made by ingest's read-ahead thread): COPY into a temp
staging table (SQLite: executemany into one) and one ``INSERT … SELECT`` into
usage_records that computes the event time.
"""

from __future__ import annotations

import json
from contextlib import suppress
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal

import psycopg
from sqlalchemy.exc import DBAPIError

from app.extensions import db
from app.models import UsageRecord

COLUMNS = (
    "realm_id", "account_id", "import_id", "source", "source_record_id", "status",
    "session_key", "username", "ip", "nas", "event_time", "start", "duration_s",
    "bytes_in", "bytes_out", "quantity", "unit", "destination", "notes",
)
RETURNED = ("realm_id", "account_id", "event_time", "duration_s", "bytes_in", "bytes_out",
            "quantity", "unit")
_COLS = ", ".join(COLUMNS)
_RETURNED_INDEX = tuple((key, COLUMNS.index(key)) for key in RETURNED)
_DELTA_COLUMNS = ("realm_id", "account_id", "day", "unit", "records", "duration_s", "bytes_in",
                  "bytes_out", "quantity")
_MICRO = Decimal("0.000001")
#: Flush the rollup deltas early when one writer has gathered this many keys.
MAX_DELTA_KEYS = 500_000
#: SQLite's page cache during a bulk CDR load, in KiB.
SQLITE_BULK_CACHE_KIB = 131072

_STAGING_DDL = """
CREATE TEMP TABLE IF NOT EXISTS usage_staging (
    realm_id integer, account_id integer, import_id integer, source varchar(10),
    source_record_id varchar(200), status varchar(20), session_key varchar(200),
    username varchar(200), ip varchar(45), nas varchar(100), event_time timestamptz,
    start timestamptz, duration_s bigint, bytes_in bigint, bytes_out bigint,
    quantity numeric(20, 6), unit varchar(20), destination varchar(100), notes text
) ON COMMIT DROP
"""


class AccountGone(RuntimeError):
    """An account a batch was attributed to no longer exists (deleted meanwhile)."""


class UsageWriter:
    """Writes batches of usage rows in one transaction and keeps their rollup deltas."""

    def __init__(self) -> None:
        self.connection = db.session.connection()
        self.postgres = self.connection.dialect.name == "postgresql"
        # (realm id, account id, day, unit) -> [records, duration_s, bytes_in, bytes_out, quantity]
        self.deltas: dict[tuple[int, int, date, str], list] = {}
        self.locked: set[int] = set()
        self._staging = False  # the CDR staging and delta stage tables exist
        self._cache_size = None  # SQLite: the page cache size before a bulk load

    # ------------------------------------------------------------------ writing
    def write(self, rows: list[tuple], *, lines: list[str] | None = None, optimistic: bool = False,
              returning: bool = False) -> list[tuple] | int:
        """Store the new ones of ``rows``; return them (``returning``) or their number.

        ``lines``: the rows as COPY text lines (PostgreSQL), same order, or None.
        """
        if not rows:
            return [] if returning else 0
        stored = self._write_postgres(rows, lines, optimistic) if self.postgres \
            else self._write_sqlite(rows, optimistic)
        self.add_deltas(stored)
        if len(self.deltas) > MAX_DELTA_KEYS:
            self.flush_deltas()
        return stored if returning else len(stored)

    def finish(self) -> None:
        """Append the gathered rollup deltas (call before the transaction commits)."""
        self.flush_deltas()
        if self._staging and self.postgres:
            with self._cursor() as cursor:
                cursor.execute(_DELTA_STAGE_FLUSH)
                cursor.execute("TRUNCATE usage_delta_stage")
        elif self._staging:
            self.connection.exec_driver_sql(_SQLITE_DELTA_STAGE_FLUSH)
            self.connection.exec_driver_sql("DELETE FROM temp.usage_delta_stage")

    def release(self) -> None:
        """Give back what a bulk load took (SQLite's larger page cache); call in any case."""
        if self._cache_size is not None:
            size, self._cache_size = int(self._cache_size), None
            with suppress(DBAPIError):  # a broken connection is not reused anyway
                self.connection.exec_driver_sql(f"PRAGMA cache_size={size}")

    def _cursor(self):
        return self.connection.connection.driver_connection.cursor()

    def _write_postgres(self, rows: list[tuple], lines: list[str] | None, optimistic: bool) -> list[tuple]:
        with self._cursor() as cursor:
            self._lock_accounts(cursor, rows)
            if optimistic and _all_new(cursor, rows) and _copy_in_savepoint(cursor, rows, lines):
                return rows
            stored = _stored_keys_postgres(cursor, rows)
            if stored:
                keep = [i for i, row in enumerate(rows) if (row[3], row[4]) not in stored]
                rows = [rows[i] for i in keep]
                lines = [lines[i] for i in keep] if lines is not None else None
            if not rows or _copy_in_savepoint(cursor, rows, lines):
                return rows
            return _insert_on_conflict(cursor, rows)

    def _lock_accounts(self, cursor, rows: list[tuple]) -> None:
        self._lock_ids(cursor, {row[1] for row in rows})

    def _write_sqlite(self, rows: list[tuple], optimistic: bool) -> list[tuple]:
        # The transaction holds SQLite's write lock (BEGIN IMMEDIATE): nobody else inserts.
        from sqlalchemy.exc import IntegrityError

        connection = self.connection
        self._check_ids_sqlite({row[1] for row in rows})
        values = _sqlite_values(connection, rows)
        if optimistic and _all_new_sqlite(connection, rows):
            nested = connection.begin_nested()
            try:
                connection.exec_driver_sql(_SQLITE_INSERT, values)
            except IntegrityError:
                nested.rollback()
            else:
                nested.commit()
                return rows
        stored = _stored_keys_sqlite(connection, rows)
        if stored:
            keep = [i for i, row in enumerate(rows) if (row[3], row[4]) not in stored]
            rows = [rows[i] for i in keep]
            values = [values[i] for i in keep]
        if rows:
            connection.exec_driver_sql(_SQLITE_INSERT, values)
        return rows

    # ------------------------------------------------------------------ staged CDR rows
    def write_cdr(self, rids: list[str], staged: list, accounts: set[int], import_id: int | None,
                  *, optimistic: bool = False) -> int:
        """CDR rows (source ``cdr``) in CDR_STAGING_COLUMNS order, ``rids`` their record ids:
        into a temp staging table, then one INSERT … SELECT into usage_records (the event
        time, start + duration_s, computed there) and the rollup deltas added up from the
        staging table in SQL. Returns how many were new.

        PostgreSQL: ``staged`` are COPY text lines (nothing to escape); SQLite: tuples with
        ``start`` as UTCDateTime's text of a whole-second time and ``quantity`` in micro-units.
        """
        if not staged:
            return 0
        if not self.postgres:
            return self._write_cdr_sqlite(rids, staged, import_id, optimistic)
        lines = staged
        with self._cursor() as cursor:
            self._lock_ids(cursor, accounts)
            if not self._staging:
                cursor.execute(_CDR_STAGING_DDL)
                cursor.execute(_DELTA_STAGE_DDL)
                self._staging = True
            if optimistic and _all_new(cursor, [(None, None, None, "cdr", rids[0]),
                                                (None, None, None, "cdr", rids[-1])]):
                _fill_staging(cursor, lines)
                if _insert_staged(cursor, import_id):
                    return len(lines)
            stored = _stored_cdr_ids(cursor, rids)
            if stored:
                lines = [line for rid, line in zip(rids, lines, strict=True) if rid not in stored]
            if not lines:
                return 0
            _fill_staging(cursor, lines)
            if _insert_staged(cursor, import_id):
                return len(lines)
            # A concurrent importer stored some of them meanwhile: the ones really stored.
            cursor.execute(_CDR_ON_CONFLICT, {"import_id": import_id})
            return cursor.fetchone()[0]

    def _write_cdr_sqlite(self, rids: list[str], rows: list[tuple], import_id: int | None,
                          optimistic: bool) -> int:
        from sqlalchemy.exc import IntegrityError

        connection = self.connection
        self._check_ids_sqlite({row[1] for row in rows})
        if not self._staging:
            # A bulk load's index pages (the account index is written in random order) stay
            # in SQLite's page cache (2 MB by default) while this writer lives; see release().
            self._cache_size = connection.exec_driver_sql("PRAGMA cache_size").scalar()
            connection.exec_driver_sql(f"PRAGMA cache_size=-{SQLITE_BULK_CACHE_KIB}")
            connection.exec_driver_sql(_SQLITE_CDR_STAGING_DDL)
            connection.exec_driver_sql(_SQLITE_DELTA_STAGE_DDL)
            self._staging = True
        params = (import_id,)
        if optimistic and _all_new_sqlite(connection, [(None, None, None, "cdr", rids[0]),
                                                       (None, None, None, "cdr", rids[-1])]):
            connection.exec_driver_sql("DELETE FROM temp.usage_cdr_staging")
            connection.exec_driver_sql(_SQLITE_CDR_STAGE, rows)
            nested = connection.begin_nested()
            try:
                stored = connection.exec_driver_sql(_SQLITE_CDR_INSERT, params).rowcount
            except IntegrityError:
                nested.rollback()
            else:
                nested.commit()
                connection.exec_driver_sql(_SQLITE_CDR_DELTAS)
                return stored
        # The transaction holds the write lock: nobody stores these ids meanwhile.
        stored_ids = set(_stored_ids_sqlite(connection, "cdr", rids))
        if stored_ids:
            rows = [row for row, rid in zip(rows, rids, strict=True) if rid not in stored_ids]
        if not rows:
            return 0
        connection.exec_driver_sql("DELETE FROM temp.usage_cdr_staging")
        connection.exec_driver_sql(_SQLITE_CDR_STAGE, rows)
        stored = connection.exec_driver_sql(_SQLITE_CDR_INSERT, params).rowcount
        connection.exec_driver_sql(_SQLITE_CDR_DELTAS)
        return stored

    def _check_ids_sqlite(self, accounts: set[int]) -> None:
        """SQLite: the accounts exist (the transaction's write lock keeps them until commit)."""
        wanted = accounts - self.locked
        if not wanted:
            return
        ids = sorted(wanted)
        found: set[int] = set()
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            found.update(row[0] for row in self.connection.exec_driver_sql(
                f"SELECT id FROM accounts WHERE id IN ({', '.join('?' for _ in chunk)})",  # noqa: S608
                tuple(chunk)))
        if len(found) != len(ids):
            raise AccountGone(f"accounts {sorted(wanted - found)[:10]} no longer exist")
        self.locked.update(found)

    def _lock_ids(self, cursor, accounts: set[int]) -> None:
        wanted = accounts - self.locked
        if not wanted:
            return
        ids = sorted(wanted)
        cursor.execute("SELECT id FROM accounts WHERE id = ANY(%s) ORDER BY id FOR KEY SHARE", (ids,))
        found = {row[0] for row in cursor.fetchall()}
        if len(found) != len(ids):
            missing = sorted(wanted - found)
            raise AccountGone(f"accounts {missing[:10]} no longer exist")
        self.locked.update(found)

    # ------------------------------------------------------------------ deltas
    def add_deltas(self, rows: list[tuple]) -> None:
        """Add stored rows (COLUMNS order) to the rollup deltas."""
        sums = self.deltas
        round_quantity = self.postgres
        for row in rows:
            moment = row[10]
            day = moment.date() if moment.tzinfo is UTC else moment.astimezone(UTC).date()
            quantity = row[15]
            if quantity is not None and round_quantity and quantity.as_tuple().exponent < -6:
                quantity = quantity.quantize(_MICRO, ROUND_HALF_UP)  # what numeric(20, 6) stores
            key = (row[0], row[1], day, row[16] or "")
            acc = sums.get(key)
            if acc is None:
                sums[key] = [1, row[12], row[13], row[14], quantity]
            else:
                acc[0] += 1
                acc[1] += row[12]
                acc[2] += row[13]
                acc[3] += row[14]
                if quantity is not None:
                    acc[4] = quantity if acc[4] is None else acc[4] + quantity

    def flush_deltas(self) -> None:
        if not self.deltas:
            return
        items = list(self.deltas.items())
        self.deltas = {}
        if self.postgres:
            with self._cursor() as cursor, cursor.copy(
                f"COPY usage_rollup_deltas ({', '.join(_DELTA_COLUMNS)}) FROM STDIN"
            ) as copy:
                write_row = copy.write_row
                for key, sums in items:
                    write_row((*key, *sums))
            return
        from app.models import UsageRollupDelta

        quantity_type = UsageRollupDelta.__table__.c.quantity.type
        to_micro = quantity_type._cached_bind_processor(self.connection.dialect)
        values = [(realm, account, day.isoformat(), unit, s[0], s[1], s[2], s[3],
                   None if s[4] is None else to_micro(s[4]))
                  for (realm, account, day, unit), s in items]
        marks = ", ".join("?" for _ in _DELTA_COLUMNS)
        self.connection.exec_driver_sql(
            f"INSERT INTO usage_rollup_deltas ({', '.join(_DELTA_COLUMNS)}) VALUES ({marks})",  # noqa: S608
            values)


# ---------------------------------------------------------------------- the old entry points
def insert_usage(rows: list[tuple], *, optimistic: bool = False) -> list[dict]:
    """Insert ``rows`` (tuples in COLUMNS order), with their rollup deltas; return the
    inserted ones as dicts of RETURNED."""
    writer = UsageWriter()
    stored = writer.write(rows, optimistic=optimistic, returning=True)
    writer.finish()
    return as_dicts(stored)


def as_dicts(rows: list[tuple]) -> list[dict]:
    return [{key: row[index] for key, index in _RETURNED_INDEX} for row in rows]


# ---------------------------------------------------------------------- PostgreSQL
_NULL = "\\N"


def copy_line(row: tuple) -> str:
    """One row as a line of COPY text format (values escaped where needed)."""
    parts = []
    for value in row:
        if value is None:
            parts.append(_NULL)
        elif type(value) is str:
            parts.append(escape(value))
        elif type(value) is datetime:
            parts.append(value.isoformat())
        else:
            parts.append(str(value))
    return "\t".join(parts) + "\n"


_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def escape(text: str) -> str:
    """A text value for COPY text format."""
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
        return text.translate(_ESCAPES)
    return text


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


def _copy_in_savepoint(cursor, rows: list[tuple], lines: list[str] | None) -> bool:
    """COPY the rows straight into usage_records; False (and nothing written) on a duplicate."""
    cursor.execute("SAVEPOINT usage_copy")
    try:
        with cursor.copy(f"COPY usage_records ({_COLS}) FROM STDIN") as copy:
            if lines is None:
                lines = [copy_line(row) for row in rows]
            elif None in lines:
                lines = [copy_line(row) if line is None else line for line, row in zip(lines, rows, strict=True)]
            write = copy.write
            for start in range(0, len(lines), 2000):
                write("".join(lines[start:start + 2000]))
    except psycopg.errors.UniqueViolation:
        cursor.execute("ROLLBACK TO SAVEPOINT usage_copy")
        cursor.execute("RELEASE SAVEPOINT usage_copy")
        return False
    cursor.execute("RELEASE SAVEPOINT usage_copy")
    return True


def _stored_keys_postgres(cursor, rows: list[tuple]) -> set[tuple[str, str]]:
    by_source: dict[str, list[str]] = {}
    for row in rows:
        by_source.setdefault(row[3], []).append(row[4])
    stored: set[tuple[str, str]] = set()
    for source, ids in by_source.items():
        cursor.execute("SELECT source_record_id FROM usage_records "
                       "WHERE source = %s AND source_record_id = ANY(%s)", (source, ids))
        stored.update((source, rid) for (rid,) in cursor.fetchall())
    return stored


def _insert_on_conflict(cursor, rows: list[tuple]) -> list[tuple]:
    """Staging table + INSERT … ON CONFLICT DO NOTHING: the rows actually stored."""
    cursor.execute(_STAGING_DDL)
    with cursor.copy(f"COPY usage_staging ({_COLS}) FROM STDIN") as copy:
        write_row = copy.write_row
        for row in rows:
            write_row(row)
    # Column names are this module's constants; every value travels through COPY.
    cursor.execute(f"INSERT INTO usage_records ({_COLS}) SELECT {_COLS} FROM usage_staging "  # noqa: S608
                   "ON CONFLICT (source, source_record_id) DO NOTHING RETURNING source, source_record_id")
    inserted = set(map(tuple, cursor.fetchall()))
    cursor.execute("TRUNCATE usage_staging")
    return [row for row in rows if (row[3], row[4]) in inserted]


# ---------------------------------------------------------------------- CDR staging (PostgreSQL)
#: The columns of a CDR staging line, tab-separated in COPY text format.
CDR_STAGING_COLUMNS = ("realm_id", "account_id", "source_record_id", "username", "ip", "nas", "start",
                       "duration_s", "bytes_in", "bytes_out", "quantity", "unit", "destination")
_CDR_STAGING_DDL = """
CREATE TEMP TABLE IF NOT EXISTS usage_cdr_staging (
    realm_id integer, account_id integer, source_record_id varchar(200), username varchar(200),
    ip varchar(45), nas varchar(100), start timestamptz, duration_s bigint, bytes_in bigint,
    bytes_out bigint, quantity numeric(20, 6), unit varchar(20), destination varchar(100)
) ON COMMIT DROP
"""
# Sums as numeric: a day's bytes of many records may pass bigint before they are added up.
_DELTA_STAGE_DDL = """
CREATE TEMP TABLE IF NOT EXISTS usage_delta_stage (
    realm_id integer, account_id integer, day date, unit varchar(20), records bigint,
    duration_s numeric, bytes_in numeric, bytes_out numeric, quantity numeric
) ON COMMIT DROP
"""
# event_time = start + duration_s seconds, as the parser computes it (duration_s < 10**9 on
# this path, so the float8 interval product is exact to the microsecond).
_CDR_SELECT = """
SELECT realm_id, account_id, %(import_id)s::integer, 'cdr', source_record_id, 'cdr', username, ip,
       nas, start + duration_s * interval '1 second', start, duration_s, bytes_in, bytes_out,
       quantity, unit, destination
FROM usage_cdr_staging"""
_CDR_INSERT = ("INSERT INTO usage_records (realm_id, account_id, import_id, source, source_record_id, "
               "status, username, ip, nas, event_time, start, duration_s, bytes_in, bytes_out, "
               "quantity, unit, destination)" + _CDR_SELECT)
_CDR_DELTAS = """
INSERT INTO usage_delta_stage
SELECT realm_id, account_id, ((start + duration_s * interval '1 second') AT TIME ZONE 'UTC')::date,
       coalesce(unit, ''), count(*), sum(duration_s), sum(bytes_in), sum(bytes_out), sum(quantity)
FROM usage_cdr_staging GROUP BY 1, 2, 3, 4"""
_CDR_ON_CONFLICT = f"""
WITH stored AS ({_CDR_INSERT}
    ON CONFLICT (source, source_record_id) DO NOTHING
    RETURNING realm_id, account_id, event_time, unit, duration_s, bytes_in, bytes_out, quantity),
added AS (
    INSERT INTO usage_delta_stage
    SELECT realm_id, account_id, (event_time AT TIME ZONE 'UTC')::date, coalesce(unit, ''), count(*),
           sum(duration_s), sum(bytes_in), sum(bytes_out), sum(quantity)
    FROM stored GROUP BY 1, 2, 3, 4
    RETURNING records)
SELECT coalesce(sum(records), 0)::bigint FROM added"""  # noqa: S608 - constant SQL
_DELTA_STAGE_FLUSH = """
INSERT INTO usage_rollup_deltas (realm_id, account_id, day, unit, records, duration_s, bytes_in,
                                 bytes_out, quantity)
SELECT realm_id, account_id, day, unit, sum(records), sum(duration_s), sum(bytes_in), sum(bytes_out),
       sum(quantity)
FROM usage_delta_stage GROUP BY realm_id, account_id, day, unit"""


def _stored_cdr_ids(cursor, rids: list[str]) -> set[str]:
    """The record ids of source ``cdr`` already stored (one array through the unique index;
    the ids of staged lines hold no newline)."""
    cursor.execute("SELECT source_record_id FROM usage_records WHERE source = 'cdr' "
                   "AND source_record_id = ANY(string_to_array(%s, E'\\n'))", ("\n".join(rids),))
    return {rid for (rid,) in cursor.fetchall()}


def _fill_staging(cursor, lines: list[str]) -> None:
    cursor.execute("TRUNCATE usage_cdr_staging")
    with cursor.copy(f"COPY usage_cdr_staging ({', '.join(CDR_STAGING_COLUMNS)}) FROM STDIN") as copy:
        write = copy.write
        for start in range(0, len(lines), 4000):
            write("".join(lines[start:start + 4000]))


def _insert_staged(cursor, import_id: int | None) -> bool:
    """All staged rows into usage_records (and their deltas), or False and nothing on a duplicate."""
    cursor.execute("SAVEPOINT usage_copy")
    try:
        cursor.execute(_CDR_INSERT, {"import_id": import_id})
    except psycopg.errors.UniqueViolation:
        cursor.execute("ROLLBACK TO SAVEPOINT usage_copy")
        cursor.execute("RELEASE SAVEPOINT usage_copy")
        return False
    cursor.execute("RELEASE SAVEPOINT usage_copy")
    cursor.execute(_CDR_DELTAS)
    return True


# ---------------------------------------------------------------------- SQLite
_SQLITE_CDR_STAGING_DDL = """
CREATE TEMP TABLE IF NOT EXISTS usage_cdr_staging (
    realm_id INTEGER, account_id INTEGER, source_record_id TEXT, username TEXT, ip TEXT, nas TEXT,
    start TEXT, duration_s INTEGER, bytes_in INTEGER, bytes_out INTEGER, quantity INTEGER,
    unit TEXT, destination TEXT
)"""
_SQLITE_DELTA_STAGE_DDL = """
CREATE TEMP TABLE IF NOT EXISTS usage_delta_stage (
    realm_id INTEGER, account_id INTEGER, day TEXT, unit TEXT, records INTEGER,
    duration_s INTEGER, bytes_in INTEGER, bytes_out INTEGER, quantity INTEGER
)"""
_SQLITE_CDR_STAGE = (f"INSERT INTO temp.usage_cdr_staging ({', '.join(CDR_STAGING_COLUMNS)}) "  # noqa: S608
                     f"VALUES ({', '.join('?' for _ in CDR_STAGING_COLUMNS)})")
# start is 'YYYY-MM-DD HH:MM:SS.000000' (whole seconds): SQLite's datetime() adds whole
# seconds exactly (its clock counts milliseconds) and prints the same text without fraction.
_SQLITE_EVENT_TIME = ("CASE WHEN duration_s = 0 THEN start "
                      "ELSE datetime(start, '+' || duration_s || ' seconds') || '.000000' END")
_SQLITE_CDR_INSERT = f"""
INSERT INTO usage_records (realm_id, account_id, import_id, source, source_record_id, status, username,
                           ip, nas, event_time, start, duration_s, bytes_in, bytes_out, quantity, unit,
                           destination)
SELECT realm_id, account_id, ?, 'cdr', source_record_id, 'cdr', username, ip, nas, {_SQLITE_EVENT_TIME},
       start, duration_s, bytes_in, bytes_out, quantity, unit, destination
FROM temp.usage_cdr_staging"""  # noqa: S608 - constant SQL
_SQLITE_CDR_DELTAS = f"""
INSERT INTO temp.usage_delta_stage
SELECT realm_id, account_id, substr({_SQLITE_EVENT_TIME}, 1, 10), coalesce(unit, ''), count(*),
       sum(duration_s), sum(bytes_in), sum(bytes_out), sum(quantity)
FROM temp.usage_cdr_staging GROUP BY 1, 2, 3, 4"""  # noqa: S608 - constant SQL
_SQLITE_DELTA_STAGE_FLUSH = """
INSERT INTO usage_rollup_deltas (realm_id, account_id, day, unit, records, duration_s, bytes_in,
                                 bytes_out, quantity)
SELECT realm_id, account_id, day, unit, sum(records), sum(duration_s), sum(bytes_in), sum(bytes_out),
       sum(quantity)
FROM temp.usage_delta_stage GROUP BY realm_id, account_id, day, unit"""
_SQLITE_INSERT = (f"INSERT INTO usage_records ({_COLS}) "  # noqa: S608 - constant column names
                  f"VALUES ({', '.join('?' for _ in COLUMNS)})")


def _all_new_sqlite(connection, rows: list[tuple]) -> bool:
    probes = {(rows[0][3], rows[0][4]), (rows[-1][3], rows[-1][4])}
    for source, record_id in probes:
        if connection.exec_driver_sql(
            "SELECT 1 FROM usage_records WHERE source = ? AND source_record_id = ?", (source, record_id)
        ).first() is not None:
            return False
    return True


def _stored_keys_sqlite(connection, rows: list[tuple]) -> set[tuple[str, str]]:
    """The batch's keys already stored (per source, one JSON array through the unique index)."""
    by_source: dict[str, list[str]] = {}
    for row in rows:
        by_source.setdefault(row[3], []).append(row[4])
    return {(source, rid) for source, ids in by_source.items() for rid in _stored_ids_sqlite(connection, source, ids)}


def _stored_ids_sqlite(connection, source: str, ids: list[str]) -> list[str]:
    return connection.exec_driver_sql(
        "SELECT k.value FROM json_each(?) k WHERE EXISTS (SELECT 1 FROM usage_records r "
        "WHERE r.source = ? AND r.source_record_id = k.value)", (json.dumps(ids), source)).scalars().all()


def _sqlite_values(connection, rows: list[tuple]) -> list[tuple]:
    """Rows as SQLite stores them: times as UTCDateTime's text, quantities as micro-units."""
    to_text = _sqlite_utc_text
    to_micro = UsageRecord.__table__.c.quantity.type._cached_bind_processor(connection.dialect)
    out = []
    append = out.append
    for row in rows:
        quantity = row[15]
        append((*row[:10], to_text(row[10]), to_text(row[11]), row[12], row[13], row[14],
                None if quantity is None else to_micro(quantity), *row[16:]))
    return out


def _sqlite_utc_text(value: datetime) -> str:
    """What UTCDateTime stores on SQLite (naive UTC in SQLAlchemy's text format
    ``YYYY-MM-DD HH:MM:SS.ffffff``), without its per-value strftime-style formatting."""
    if value.tzinfo is None:
        raise ValueError("naive datetime: give a time zone (UTC)")
    if value.utcoffset():
        value = value.astimezone(UTC)
    return value.replace(tzinfo=None).isoformat(" ", "microseconds")
