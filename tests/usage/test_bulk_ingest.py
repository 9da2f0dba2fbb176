"""The bulk CDR path against the reference path, rollup deltas, and usage_records' integrity
without foreign keys (migration 0018), on both databases.

The reference path reads every row as a UsageEvent and stores it through the general
writer (``import_usage_file(..., bulk=False)``); the bulk path keeps good rows as plain
tuples and stages them (COPY lines on PostgreSQL, a temp table on SQLite). The same files
must give the same stored rows, counts, rejects and rollup deltas either way.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal as D
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete, func, select

from app.models import (
    Account,
    RadiusSession,
    UsageImport,
    UsageRecord,
    UsageReject,
    UsageRollupDelta,
)
from app.services.usage.ingest import import_usage_file, ingest
from app.services.usage.writer import COLUMNS, AccountGone, UsageWriter
from tenants import all_realms, realm_context

HEADER = "record_id,username,ip,start,duration_s,bytes_in,bytes_out,unit,quantity,destination,nas\n"

FIRST = [
    "r1,carl,,2026-11-01T10:00:00Z,60,100,200,,,,nas1",
    "r2,dora@alpha.example,10.0.0.1,2026-11-01T23:59:30Z,60,1,2,,,,",  # ends after UTC midnight
    "r3,Carl,,2026-11-02 08:00:00Z,0,5,6,,,,",  # blank for T; user part as written
    "r4,carl,,2026-11-02T08:00:00+01:00,10,1,1,,,,",  # an offset
    "r5,carl,,2026-11-02T08:00:00.250000Z,10,1,1,,,,",  # a fraction
    "r6,carl,,2026-10-25 02:30:00,10,1,1,,,,",  # naive, ambiguous in Europe/Berlin: a note
    "r7,carl,,2026-11-03 09:00:00,10,1,1,,,,",  # naive
    "r8,carl,,2026-11-03T09:00:00Z,0,0,0,SMS,2.5,+4930123,",
    "r9,dora@alpha.example,,2026-11-03T09:00:00Z,0,0,0,kWh,0.123456,,",
    'r10,carl,,2026-11-03T09:00:00Z,1,1,1,,,"C:\\path\tx",',  # backslash and tab: escaped
    "r11,carl,,2026-11-03T09:00:00Z,1000000000,1,1,,,,",  # a long duration
    "r12,,10.0.0.7,2026-11-01T10:30:00Z,10,500,600,,,,",  # IP only: dora's session
    "r13,,10.0.0.7,2026-11-01T12:30:00Z,10,500,600,,,,",  # IP only: nobody then
    "r14,nobody,,2026-11-01T10:00:00Z,1,1,1,,,,",
    "r15,x@unknown.example,,2026-11-01T10:00:00Z,1,1,1,,,,",
    "r1,carl,,2026-11-01T11:00:00Z,1,1,1,,,,",  # duplicate id within the file
    "r17,carl,,2026-13-01T10:00:00Z,1,1,1,,,,",
    "r18,carl,,2026-11-01T10:00:00Z,-5,1,1,,,,",
    "r19,carl,,2026-11-01T10:00:00Z,1,1",
    "r20,carl,,2026-11-01T10:00:00Z,1,1,1,SMS,,,",
    "r21,carl,bad-ip,2026-11-01T10:00:00Z,1,1,1,,,,",
    "r22 ,carl,,2026-11-01T10:00:00Z,1,1,1,,,,",  # id with a blank: stripped
    "r23,carl,,2026-11-01t10:00:00Z,1,1,1,,,,",
    "r24,carl,2001:DB8::1,2026-11-01T10:00:00Z,1,7,8,,,Zürich,",
    "r25,jürgen,,2026-11-01T10:00:00Z,1,1,1,,,,",
    "",
    'r26,"carl",,2026-11-04T00:00:00Z,3600,"1","2",,,"a,b",',
]
SECOND = [  # partly stored already: r1, r2 and r12 again, and new rows
    "r1,carl,,2026-11-01T10:00:00Z,60,100,200,,,,nas1",
    "n1,carl,,2026-11-05T10:00:00Z,60,10,20,,,,",
    "r2,dora@alpha.example,10.0.0.1,2026-11-01T23:59:30Z,60,1,2,,,,",
    "n2,dora@alpha.example,,2026-11-05T10:00:00Z,0,0,0,SMS,1,,",
    "r12,,10.0.0.7,2026-11-01T10:30:00Z,10,500,600,,,,",
    "n3,carl,,2026-11-05T23:00:00Z,7200,1,1,,,,",
]


@pytest.fixture
def people(db, provider_realm, realm_a, create_account):
    carl = create_account(provider_realm, "carl").id
    dora = create_account(realm_a, "dora").id
    with realm_context(realm_a.id):
        start = datetime(2026, 11, 1, 10, 0, tzinfo=UTC)
        db.session.add(RadiusSession(
            session_key="s1", account_id=dora, nas="10.1.1.1", session_id="a1", framed_ip="10.0.0.7",
            started_at=start, stopped_at=start + timedelta(hours=1), last_event_at=start + timedelta(hours=1)))
        db.session.commit()
    return {"carl": carl, "dora": dora}


def _file(tmp_path, name, lines):
    path = tmp_path / name
    path.write_text(HEADER + "\n".join(lines) + "\n", encoding="utf-8")
    return path


def _stored(db):
    skip = {"import_id"}
    with all_realms():
        rows = db.session.execute(select(UsageRecord.__table__)).mappings().all()
    return sorted(({k: v for k, v in r.items() if k not in skip and k != "id"} for r in rows),
                  key=lambda r: r["source_record_id"])


def _rejects(db):
    with all_realms():
        rows = db.session.execute(select(UsageReject.__table__)).mappings().all()
    keep = ("realm_id", "source", "file", "line", "field", "code", "reason", "raw", "fingerprint",
            "payload", "status")
    return sorted(tuple(r[k] for k in keep) for r in rows)


def _deltas(db):
    sums: dict = defaultdict(lambda: [0, 0, 0, 0, None])
    for d in db.session.scalars(select(UsageRollupDelta)):
        target = sums[(d.realm_id, d.account_id, d.day, d.unit)]
        for index, value in enumerate((d.records, d.duration_s, d.bytes_in, d.bytes_out)):
            target[index] += value
        if d.quantity is not None:
            target[4] = d.quantity if target[4] is None else target[4] + d.quantity
    return {k: tuple(v) for k, v in sums.items()}


def _group_by_records(db):
    sums: dict = defaultdict(lambda: [0, 0, 0, 0, None])
    with all_realms():
        for r in db.session.scalars(select(UsageRecord)):
            target = sums[(r.realm_id, r.account_id, r.event_time.astimezone(UTC).date(), r.unit or "")]
            for index, value in enumerate((1, r.duration_s, r.bytes_in, r.bytes_out)):
                target[index] += value
            if r.quantity is not None:
                target[4] = r.quantity if target[4] is None else target[4] + r.quantity
    return {k: tuple(v) for k, v in sums.items()}


def _run(db, realm_id, files, *, bulk):
    """Import the files in order (in a savepoint rolled back after): what came of it."""
    nested = db.session.begin_nested()
    try:
        counts = []
        with realm_context(realm_id):
            for path in files:
                batch = import_usage_file(path, kind="cdr", default_tz=ZoneInfo("Europe/Berlin"), bulk=bulk)
                counts.append((batch.accepted, batch.duplicates, batch.rejected))
        db.session.flush()
        result = {"counts": counts, "rows": _stored(db), "rejects": _rejects(db), "deltas": _deltas(db),
                  "grouped": _group_by_records(db)}
    finally:
        nested.rollback()
    return result


def test_bulk_and_reference_paths_store_the_same(db, tmp_path, provider_realm, realm_a, people):
    first, second = _file(tmp_path, "first.csv", FIRST), _file(tmp_path, "second.csv", SECOND)
    files = [first, second, first]  # new, partly stored, all stored
    bulk = _run(db, provider_realm.id, files, bulk=True)
    reference = _run(db, provider_realm.id, files, bulk=False)
    assert bulk["counts"] == reference["counts"]
    assert bulk["counts"][0] == (16, 0, 10)
    assert bulk["counts"][1] == (3, 3, 0)
    assert bulk["counts"][2] == (0, 16, 10)  # the rejects of a replay are the same ones, kept once
    assert bulk["rows"] == reference["rows"]
    assert bulk["rejects"] == reference["rejects"]
    assert bulk["deltas"] == reference["deltas"] == bulk["grouped"]
    by_id = {r["source_record_id"]: r for r in bulk["rows"]}
    assert by_id["r2"]["event_time"] == datetime(2026, 11, 2, 0, 0, 30, tzinfo=UTC)
    assert by_id["r2"]["realm_id"] == realm_a.id and by_id["r12"]["account_id"] == people["dora"]
    assert by_id["r3"]["username"] == "Carl" and by_id["r3"]["account_id"] == people["carl"]
    assert by_id["r6"]["notes"] and "ambiguous" in by_id["r6"]["notes"]
    assert by_id["r7"]["start"] == datetime(2026, 11, 3, 8, 0, tzinfo=UTC)
    assert by_id["r9"]["quantity"] == D("0.123456")
    assert by_id["r10"]["destination"] == "C:\\path\tx"
    assert by_id["r11"]["event_time"] == datetime(2026, 11, 3, 9, 0, tzinfo=UTC) + timedelta(seconds=10**9)
    assert "r22" in by_id and by_id["r24"]["ip"] == "2001:db8::1"
    assert by_id["r26"]["destination"] == "a,b"


def test_rollup_deltas_add_up_to_the_stored_records(db, tmp_path, provider_realm, realm_a, people):
    """New, replayed and partly stored files, a quota pool's path (rows come back) and the
    general path (RADIUS-like events): sum of deltas == GROUP BY over usage_records."""
    first, second = _file(tmp_path, "first.csv", FIRST), _file(tmp_path, "second.csv", SECOND)
    with realm_context(provider_realm.id):
        import_usage_file(first, kind="cdr", default_tz=UTC)
        import_usage_file(first, kind="cdr", default_tz=UTC)
        import_usage_file(second, kind="cdr", default_tz=UTC)
        db.session.commit()
    assert _deltas(db) == _group_by_records(db)
    assert sum(v[0] for v in _deltas(db).values()) == db.session.scalar(
        select(func.count()).select_from(UsageRecord).execution_options(all_realms=True))

    third = _file(tmp_path, "third.csv", ["t1,carl,,2026-11-06T10:00:00Z,5,5,5,,,,",
                                          "r1,carl,,2026-11-01T10:00:00Z,60,100,200,,,,nas1"])
    with realm_context(provider_realm.id):
        counts = ingest(_events(third), keep_inserted=True)  # rows come back: the general writer
        assert (counts.accepted, counts.duplicates) == (1, 1)
        db.session.commit()
    assert _deltas(db) == _group_by_records(db)


def _events(path):
    from app.mediation.cdr_csv import parse_cdr

    with path.open(newline="", encoding="utf-8") as stream:
        return list(parse_cdr(stream, path.name, UTC))


def test_one_delta_row_per_account_day_and_unit_per_import(db, tmp_path, provider_realm, people):
    lines = [f"d{n},carl,,2026-11-0{1 + n % 2}T10:{n % 60:02d}:00Z,1,1,1,,,," for n in range(50)]
    with realm_context(provider_realm.id):
        import_usage_file(_file(tmp_path, "d.csv", lines), kind="cdr")
        db.session.commit()
    keys = [(d.account_id, d.day, d.unit) for d in db.session.scalars(select(UsageRollupDelta))]
    assert sorted(keys) == [(people["carl"], date(2026, 11, 1), ""), (people["carl"], date(2026, 11, 2), "")]


def test_deleting_an_account_or_an_import_keeps_usage_records_consistent(db, tmp_path, provider_realm,
                                                                        people):
    with realm_context(provider_realm.id):
        batch = import_usage_file(_file(tmp_path, "f.csv", FIRST), kind="cdr")
        db.session.commit()
        import_id = batch.id
    with all_realms():
        by_account = dict(db.session.execute(
            select(UsageRecord.account_id, func.count()).group_by(UsageRecord.account_id)).all())
        assert by_account[people["carl"]] > 0 and by_account[people["dora"]] > 0
        db.session.execute(delete(UsageImport).where(UsageImport.id == import_id))
        assert db.session.scalar(select(func.count()).select_from(UsageRecord)
                                 .where(UsageRecord.import_id.is_not(None))) == 0
        db.session.execute(delete(Account).where(Account.id == people["carl"]))
        left = dict(db.session.execute(
            select(UsageRecord.account_id, func.count()).group_by(UsageRecord.account_id)).all())
    assert left == {people["dora"]: by_account[people["dora"]]}


def test_a_batch_for_an_account_deleted_meanwhile_is_refused(db, provider_realm, people):
    moment = datetime(2026, 11, 1, tzinfo=UTC)
    values = {"realm_id": provider_realm.id, "account_id": 999_999, "import_id": None, "source": "cdr",
              "source_record_id": "gone-1", "status": "cdr", "session_key": None, "username": None,
              "ip": None, "nas": None, "event_time": moment, "start": moment, "duration_s": 0,
              "bytes_in": 1, "bytes_out": 1, "quantity": None, "unit": None, "destination": None,
              "notes": None}
    with realm_context(provider_realm.id), pytest.raises(AccountGone):
        UsageWriter().write([tuple(values[c] for c in COLUMNS)])


def test_the_bulk_path_is_taken_and_the_reference_path_is_not(db, tmp_path, provider_realm, people,
                                                                monkeypatch):
    staged = []
    original = UsageWriter.write_cdr

    def spy(self, rids, rows, *args, **kwargs):
        staged.append(len(rows))
        return original(self, rids, rows, *args, **kwargs)

    monkeypatch.setattr(UsageWriter, "write_cdr", spy)
    path = _file(tmp_path, "first.csv", FIRST)
    _run(db, provider_realm.id, [path], bulk=False)
    assert sum(staged) == 0
    _run(db, provider_realm.id, [path], bulk=True)
    assert sum(staged) >= 8  # the plain UTC rows with a known username, on both databases


@pytest.mark.parametrize("path_taken", ["staged", "general"])
def test_a_record_stored_by_a_concurrent_importer_after_the_check(db, tmp_path, provider_realm, people,
                                                                  monkeypatch, path_taken):
    """PostgreSQL: the stored-key check misses a record another importer committed just
    after it; the insert meets the unique index, and ON CONFLICT DO NOTHING stores the rest."""
    if db.session.connection().dialect.name != "postgresql":
        pytest.skip("SQLite's write lock admits no concurrent importer")
    import app.services.usage.writer as writer

    lines = [f"c{n},carl,,2026-11-01T10:{n:02d}:00Z,1,{n},1,,,," for n in range(6)]
    with realm_context(provider_realm.id):
        import_usage_file(_file(tmp_path, "a.csv", lines[2:4]), kind="cdr")
        monkeypatch.setattr(writer, "_stored_cdr_ids", lambda cursor, rids: set())
        monkeypatch.setattr(writer, "_stored_keys_postgres", lambda cursor, rows: set())
        monkeypatch.setattr(writer, "_all_new", lambda cursor, rows: True)
        if path_taken == "general":
            from app.services.usage import ingest as ingest_module

            monkeypatch.setattr(ingest_module, "_pools_exist", lambda realms: True)
        batch = import_usage_file(_file(tmp_path, "b.csv", lines), kind="cdr")
        assert (batch.accepted, batch.duplicates) == (4, 2)
        db.session.flush()
    assert _deltas(db) == _group_by_records(db)
    with all_realms():
        assert sorted(db.session.scalars(select(UsageRecord.bytes_in))) == [0, 1, 2, 3, 4, 5]
