"""Daily usage rollups: fold ingest's deltas, rebuild from usage_records, read exact sums.

Ingest appends insert-only deltas (``usage_rollup_deltas``: one row per realm, account,
UTC day of the event time and unit per batch, for the records it actually stored).
``fold_deltas`` moves a batch of them into ``usage_daily`` (per account) and
``usage_daily_centres`` (per cost centre: the account's centre *at fold time*) in one
transaction; a job runs it every minute (workers/usage.py). ``rebuild`` recomputes both
tables from ``usage_records`` (backfills, bulk loads that bypass ingest, and after moving
accounts between cost centres). The readers add the deltas not folded yet, in the same
statement, so their figures are exact at any moment.

Concurrency (PostgreSQL): a fold takes its deltas with ``FOR UPDATE SKIP LOCKED`` and
deletes them in the statement that adds them up, so two folds never take the same delta
and a delta is either still in the delta table or already in the rollups — never both,
never neither (readers see one snapshot of both). Upserts run in key order. Folds hold a
shared advisory lock, ``rebuild`` an exclusive one, so a rebuild never races a fold; a
rebuild discards exactly the deltas whose records its snapshot counted (one statement per
chunk of accounts), so an ingest committing meanwhile is counted once, by the next fold.
SQLite runs one writer at a time, so there it is the same statements without the locks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select, text, union_all

from app.extensions import db
from app.models.usage_rollups import NO_CENTRE, UsageDaily, UsageDailyCentre, UsageRollupDelta
from tenants import require_realm_id

FOLD_BATCH = 50_000  # deltas per fold transaction (the job folds batches until none are left)
REBUILD_CHUNK = 5_000  # accounts per rebuild statement
_LOCK = 7_301_740_925  # advisory lock key of the rollups (folds shared, rebuild exclusive)

_SUMS = ("records", "duration_s", "bytes_in", "bytes_out", "quantity")
_ADD = ", ".join(f"{c} = {{t}}.{c} + excluded.{c}" for c in _SUMS[:-1]) + (
    ", quantity = CASE WHEN excluded.quantity IS NULL THEN {t}.quantity"
    " ELSE coalesce({t}.quantity, 0) + excluded.quantity END")
_SUMMED = ", ".join(f"sum({c}) AS {c}" for c in _SUMS)
_COLUMNS = ", ".join(_SUMS)


@dataclass(frozen=True)
class UsageTotals:
    records: int = 0
    duration_s: int = 0
    bytes_in: int = 0
    bytes_out: int = 0

    @property
    def octets(self) -> int:
        return self.bytes_in + self.bytes_out


@dataclass(frozen=True)
class RebuildResult:
    realms: int
    accounts: int
    daily_rows: int
    centre_rows: int


# ---------------------------------------------------------------- fold
_FOLD_PG = f"""
WITH taken AS (
    DELETE FROM usage_rollup_deltas
    WHERE id IN (SELECT id FROM usage_rollup_deltas ORDER BY id LIMIT :limit FOR UPDATE SKIP LOCKED)
    RETURNING realm_id, account_id, day, unit, {_COLUMNS}
), per_account AS (
    SELECT t.realm_id, t.account_id, t.day, t.unit, coalesce(a.cost_centre_id, {NO_CENTRE}) AS centre,
           {", ".join(f"sum(t.{c}) AS {c}" for c in _SUMS)}
    FROM taken t JOIN accounts a ON a.id = t.account_id
    GROUP BY t.realm_id, t.account_id, t.day, t.unit, a.cost_centre_id
), daily AS (
    INSERT INTO usage_daily AS d (realm_id, account_id, day, unit, {_COLUMNS})
    SELECT realm_id, account_id, day, unit, {_COLUMNS} FROM per_account ORDER BY account_id, day, unit
    ON CONFLICT (account_id, day, unit) DO UPDATE SET {_ADD.format(t="d")}
    RETURNING 1
), centres AS (
    INSERT INTO usage_daily_centres AS c (realm_id, cost_centre_id, day, unit, {_COLUMNS})
    SELECT realm_id, centre, day, unit, {_SUMMED} FROM per_account
    GROUP BY realm_id, centre, day, unit ORDER BY realm_id, centre, day, unit
    ON CONFLICT (realm_id, cost_centre_id, day, unit) DO UPDATE SET {_ADD.format(t="c")}
    RETURNING 1
)
SELECT (SELECT count(*) FROM taken), (SELECT count(*) FROM daily), (SELECT count(*) FROM centres)
"""  # noqa: S608 - column names are this module's constants

_FOLD_SQLITE_DAILY = f"""
INSERT INTO usage_daily (realm_id, account_id, day, unit, {_COLUMNS})
SELECT t.realm_id, t.account_id, t.day, t.unit, {", ".join(f"sum(t.{c})" for c in _SUMS)}
FROM usage_rollup_deltas t JOIN accounts a ON a.id = t.account_id
WHERE t.id <= :last
GROUP BY t.realm_id, t.account_id, t.day, t.unit
ON CONFLICT (account_id, day, unit) DO UPDATE SET {_ADD.format(t="usage_daily")}
"""  # noqa: S608

_FOLD_SQLITE_CENTRES = f"""
INSERT INTO usage_daily_centres (realm_id, cost_centre_id, day, unit, {_COLUMNS})
SELECT t.realm_id, coalesce(a.cost_centre_id, {NO_CENTRE}), t.day, t.unit,
       {", ".join(f"sum(t.{c})" for c in _SUMS)}
FROM usage_rollup_deltas t JOIN accounts a ON a.id = t.account_id
WHERE t.id <= :last
GROUP BY t.realm_id, coalesce(a.cost_centre_id, {NO_CENTRE}), t.day, t.unit
ON CONFLICT (realm_id, cost_centre_id, day, unit) DO UPDATE SET {_ADD.format(t="usage_daily_centres")}
"""  # noqa: S608


def fold_deltas(*, limit: int = FOLD_BATCH) -> int:
    """Fold up to ``limit`` deltas (all realms) into the rollups; returns how many were
    folded. Deltas of accounts deleted meanwhile are dropped (their records went with
    them). Flushes only: the caller's unit of work commits."""
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock_shared(:key)"), {"key": _LOCK})
        taken, _, _ = connection.execute(text(_FOLD_PG), {"limit": limit}).one()
        return int(taken)
    last = connection.execute(text("SELECT id FROM usage_rollup_deltas ORDER BY id LIMIT 1 OFFSET :skip"),
                              {"skip": limit - 1}).scalar()
    if last is None:
        last = connection.execute(text("SELECT max(id) FROM usage_rollup_deltas")).scalar()
        if last is None:
            return 0
    connection.execute(text(_FOLD_SQLITE_DAILY), {"last": last})
    connection.execute(text(_FOLD_SQLITE_CENTRES), {"last": last})
    return connection.execute(text("DELETE FROM usage_rollup_deltas WHERE id <= :last"), {"last": last}).rowcount


def pending_deltas() -> int:
    """Deltas not folded yet (all realms)."""
    return db.session.connection().execute(text("SELECT count(*) FROM usage_rollup_deltas")).scalar_one()


# ---------------------------------------------------------------- rebuild
def _counted(day: str) -> str:
    """The chunk's records added up per account, UTC day of the event time and unit."""
    return f"""
WITH counted AS (
    SELECT r.account_id, {day} AS day, coalesce(r.unit, '') AS unit, count(*) AS records,
           sum(r.duration_s) AS duration_s, sum(r.bytes_in) AS bytes_in, sum(r.bytes_out) AS bytes_out,
           sum(r.quantity) AS quantity
    FROM usage_records r
    WHERE r.realm_id = :realm AND r.account_id BETWEEN :low AND :high
    GROUP BY r.account_id, {day}, coalesce(r.unit, '')
)"""  # noqa: S608 - column names are this module's constants


_INSERT_DAILY = f"""
INSERT INTO usage_daily (realm_id, account_id, day, unit, {_COLUMNS})
SELECT :realm, account_id, day, unit, {_COLUMNS} FROM counted"""  # noqa: S608

_INSERT_CENTRES = f"""
INSERT INTO usage_daily_centres (realm_id, cost_centre_id, day, unit, {_COLUMNS})
SELECT :realm, coalesce(a.cost_centre_id, {NO_CENTRE}), k.day, k.unit, {", ".join(f"sum(k.{c})" for c in _SUMS)}
FROM counted k JOIN accounts a ON a.id = k.account_id
GROUP BY coalesce(a.cost_centre_id, {NO_CENTRE}), k.day, k.unit ORDER BY 2, 3, 4
ON CONFLICT (realm_id, cost_centre_id, day, unit) DO UPDATE SET {_ADD.format(t="usage_daily_centres")}"""  # noqa: S608

_DROP_DELTAS = ("DELETE FROM usage_rollup_deltas WHERE realm_id = :realm "
                "AND account_id BETWEEN :low AND :high")

# PostgreSQL: the chunk's deltas dropped and its records counted from one snapshot.
_REBUILD_PG = _counted("(r.event_time AT TIME ZONE 'UTC')::date") + f""",
dropped AS ({_DROP_DELTAS} RETURNING 1),
daily AS ({_INSERT_DAILY} RETURNING 1),
centres AS ({_INSERT_CENTRES} RETURNING 1)
SELECT (SELECT count(*) FROM daily), (SELECT count(*) FROM dropped), (SELECT count(*) FROM centres)"""  # noqa: S608
_COUNTED_SQLITE = _counted("date(r.event_time)")


def rebuild(realm_id: int | None = None, *, progress: Callable[[int, int], None] | None = None,
            chunk: int = REBUILD_CHUNK) -> RebuildResult:
    """Recompute usage_daily and usage_daily_centres of one realm (or every realm) from
    usage_records, each account's usage under its current cost centre; the realm's
    pending deltas are discarded (their records are counted). ``progress(done, total)``
    counts accounts. Flushes only: the caller commits (readers see the old figures until then)."""
    connection = db.session.connection()
    dialect = connection.dialect.name
    if dialect == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK})
        # Each chunk is one big statement: JIT would compile it anew every time (~0.5 s each).
        connection.execute(text("SET LOCAL jit = off"))
    if realm_id is None:
        realm_ids = list(connection.execute(text("SELECT id FROM realms ORDER BY id")).scalars())
    else:
        realm_ids = [realm_id]
    accounts = {r: list(connection.execute(
        text("SELECT id FROM accounts WHERE realm_id = :realm ORDER BY id"), {"realm": r}).scalars())
        for r in realm_ids}
    total = sum(len(ids) for ids in accounts.values())
    done = daily_rows = 0
    for realm in realm_ids:
        params = {"realm": realm}
        connection.execute(text("DELETE FROM usage_daily WHERE realm_id = :realm"), params)
        connection.execute(text("DELETE FROM usage_daily_centres WHERE realm_id = :realm"), params)
        ids = accounts[realm]
        for start in range(0, len(ids), chunk):
            part = ids[start:start + chunk]
            bounds = {**params, "low": part[0], "high": part[-1]}
            daily_rows += _rebuild_chunk(connection, dialect, bounds)
            done += len(part)
            if progress:
                progress(done, total)
    centre_rows = sum(connection.execute(
        text("SELECT count(*) FROM usage_daily_centres WHERE realm_id = :realm"), {"realm": r}).scalar_one()
        for r in realm_ids)
    return RebuildResult(realms=len(realm_ids), accounts=total, daily_rows=daily_rows, centre_rows=centre_rows)


def _rebuild_chunk(connection, dialect: str, bounds: dict) -> int:
    """One chunk of accounts: its pending deltas discarded and its records counted from one
    snapshot (one statement on PostgreSQL; SQLite has one writer at a time)."""
    if dialect == "postgresql":
        return int(connection.execute(text(_REBUILD_PG), bounds).one()[0])
    connection.execute(text(_DROP_DELTAS), bounds)
    connection.execute(text(_COUNTED_SQLITE + _INSERT_DAILY), bounds)
    rows = connection.execute(text("SELECT changes()")).scalar_one()  # no rowcount after WITH … INSERT
    connection.execute(text(_COUNTED_SQLITE + _INSERT_CENTRES), bounds)
    return rows


# ---------------------------------------------------------------- readers
def usage_by_account(*, since: date | None = None, until: date | None = None) -> dict[int, UsageTotals]:
    """The current realm's usage per account over UTC days ``since``…``until`` (inclusive,
    either open), all units: the rollups plus the deltas not folded yet."""
    daily, deltas = UsageDaily.__table__, UsageRollupDelta.__table__
    return _read(daily.c.account_id, daily, deltas.c.account_id, deltas, since, until)


def usage_by_centre(*, since: date | None = None, until: date | None = None) -> dict[int, UsageTotals]:
    """The current realm's usage per cost centre (``NO_CENTRE`` for accounts outside any)
    over UTC days ``since``…``until``; unfolded deltas count under the account's current
    centre, as the next fold will count them."""
    from app.models import Account

    centres, deltas, accounts = UsageDailyCentre.__table__, UsageRollupDelta.__table__, Account.__table__
    pending = deltas.join(accounts, accounts.c.id == deltas.c.account_id)
    return _read(centres.c.cost_centre_id, centres,
                 func.coalesce(accounts.c.cost_centre_id, NO_CENTRE), pending, since, until, deltas=deltas)


def top_accounts(*, since: date | None = None, until: date | None = None, seconds: bool = False,
                 limit: int, slack: int = 0) -> dict[int, UsageTotals]:
    """The current realm's accounts whose traffic (or connected time) is among the ``limit``
    largest over the days, plus every account within ``slack`` (bytes or seconds) of the
    smallest of those — for callers that round before ranking. Added up and cut in SQL."""
    daily, deltas = UsageDaily.__table__, UsageRollupDelta.__table__
    sums = _sums(daily.c.account_id, daily, deltas.c.account_id, deltas, since, until, deltas).cte("sums")
    measure = sums.c.duration_s if seconds else sums.c.bytes_in + sums.c.bytes_out
    cut = select(measure).order_by(measure.desc()).offset(max(limit, 1) - 1).limit(1).scalar_subquery()
    query = select(sums).where(measure >= func.coalesce(cut, 0) - slack)
    return {k: UsageTotals(int(n or 0), int(s or 0), int(i or 0), int(o or 0))
            for k, n, s, i, o in db.session.connection().execute(query)}


def _read(key, table, pending_key, pending, since, until, deltas=None) -> dict[int, UsageTotals]:
    query = _sums(key, table, pending_key, pending, since, until, pending if deltas is None else deltas)
    return {k: UsageTotals(int(n or 0), int(s or 0), int(i or 0), int(o or 0))
            for k, n, s, i, o in db.session.connection().execute(query)}


def _sums(key, table, pending_key, pending, since, until, deltas):
    """Per key: the rollup rows plus the pending deltas over the days, in one statement (one
    snapshot, so a fold committing meanwhile is seen either wholly or not at all)."""
    realm_id = require_realm_id()

    def part(key_column, source, columns):
        conditions = [columns.c.realm_id == realm_id]
        if since:
            conditions.append(columns.c.day >= since)
        if until:
            conditions.append(columns.c.day <= until)
        return (select(key_column.label("key"), *(columns.c[c] for c in _SUMS[:-1]))
                .select_from(source).where(*conditions))

    both = union_all(part(key, table, table), part(pending_key, pending, deltas)).subquery()
    return (select(both.c.key, *(func.sum(both.c[c]).label(c) for c in _SUMS[:-1]))
            .group_by(both.c.key))


__all__ = ["FOLD_BATCH", "NO_CENTRE", "RebuildResult", "UsageTotals", "fold_deltas", "pending_deltas",
           "rebuild", "top_accounts", "usage_by_account", "usage_by_centre"]
