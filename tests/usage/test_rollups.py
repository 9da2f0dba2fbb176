"""Daily usage rollups: folds are exact (also concurrently on PostgreSQL), rebuild equals the
folds, readers are exact before and after a fold, the job and the command."""

from __future__ import annotations

import threading
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, insert, select

from app.models import Account, UsageRecord
from app.models.usage_rollups import NO_CENTRE, UsageDaily, UsageDailyCentre, UsageRollupDelta
from app.services.usage.rollups import (
    fold_deltas,
    pending_deltas,
    rebuild,
    usage_by_account,
    usage_by_centre,
)
from tenants import all_realms, realm_context

D = Decimal
SUMS = ("records", "duration_s", "bytes_in", "bytes_out")
HEADER = "record_id,username,start,duration_s,bytes_in,bytes_out,unit,quantity\n"


@pytest.fixture
def centred(db, realm_a, realm_b, create_account):
    """realm_a: centre top › sub; ann in sub, ben in top, cyd in none; realm_b: dot in none."""
    from app.services.accounts import create_cost_centre

    with realm_context(realm_a.id):
        top = create_cost_centre(code="top", name="Top").id
        sub = create_cost_centre(code="sub", name="Sub", parent_code="top").id
        db.session.commit()
    ids = {"top": top, "sub": sub}
    ids["ann"] = create_account(realm_a, "ann", cost_centre_id=sub).id
    ids["ben"] = create_account(realm_a, "ben", cost_centre_id=top).id
    ids["cyd"] = create_account(realm_a, "cyd").id
    ids["dot"] = create_account(realm_b, "dot").id
    return ids


def _delta(realm_id, account_id, day, unit="", records=1, duration_s=0, bytes_in=0, bytes_out=0,
           quantity=None) -> dict:
    return {"realm_id": realm_id, "account_id": account_id, "day": day, "unit": unit, "records": records,
            "duration_s": duration_s, "bytes_in": bytes_in, "bytes_out": bytes_out, "quantity": quantity}


def _add_deltas(db, rows: list[dict]) -> None:
    db.session.execute(insert(UsageRollupDelta.__table__), rows)


def _table(db, model, key) -> dict:
    with all_realms():
        rows = db.session.scalars(select(model)).all()
    return {tuple(getattr(r, k) for k in key): (*(getattr(r, c) for c in SUMS), r.quantity or D(0))
            for r in rows}


def _daily(db):
    return _table(db, UsageDaily, ("realm_id", "account_id", "day", "unit"))


def _centres(db):
    return _table(db, UsageDailyCentre, ("realm_id", "cost_centre_id", "day", "unit"))


def _expected_from(rows: list[dict], centre_of: dict) -> tuple[dict, dict]:
    daily: dict = defaultdict(lambda: [0, 0, 0, 0, D(0)])
    centres: dict = defaultdict(lambda: [0, 0, 0, 0, D(0)])
    for row in rows:
        for target in (daily[(row["realm_id"], row["account_id"], row["day"], row["unit"])],
                       centres[(row["realm_id"], centre_of[row["account_id"]], row["day"], row["unit"])]):
            for index, column in enumerate(SUMS):
                target[index] += row[column]
            target[4] += row["quantity"] or D(0)
    return ({k: tuple(v) for k, v in daily.items()}, {k: tuple(v) for k, v in centres.items()})


def _centre_map(ids):
    return {ids["ann"]: ids["sub"], ids["ben"]: ids["top"], ids["cyd"]: NO_CENTRE, ids["dot"]: NO_CENTRE}


def _reads(realm_id, **filters):
    with realm_context(realm_id):
        return usage_by_account(**filters), usage_by_centre(**filters)


def test_fold_is_exact_and_readers_are_exact_before_and_after(db, realm_a, realm_b, centred):
    d1, d2 = date(2026, 11, 1), date(2026, 11, 2)
    rows = [
        _delta(realm_a.id, centred["ann"], d1, records=2, duration_s=60, bytes_in=100, bytes_out=10),
        _delta(realm_a.id, centred["ann"], d1, records=1, duration_s=5, bytes_in=7, bytes_out=3),  # next batch
        _delta(realm_a.id, centred["ann"], d2, records=1, bytes_in=1),
        _delta(realm_a.id, centred["ann"], d1, unit="SMS", records=3, quantity=D("3")),
        _delta(realm_a.id, centred["ben"], d1, records=4, duration_s=40, bytes_in=1000, bytes_out=2000),
        _delta(realm_a.id, centred["cyd"], d2, unit="kWh", records=1, quantity=D("0.123456")),
        _delta(realm_b.id, centred["dot"], d1, records=1, bytes_in=5),
    ]
    _add_deltas(db, rows)
    before = _reads(realm_a.id)
    assert before[0][centred["ann"]].records == 7 and before[0][centred["ann"]].octets == 121
    assert before[1][centred["top"]].octets == 3000 and before[1][centred["sub"]].octets == 121
    assert centred["dot"] not in before[0]  # another realm's usage is not read

    assert fold_deltas(limit=3) == 3  # a partial fold: figures stay exact in between
    assert _reads(realm_a.id) == before
    assert fold_deltas() == len(rows) - 3
    assert fold_deltas() == 0 and pending_deltas() == 0
    db.session.commit()
    assert _reads(realm_a.id) == before
    daily, centres = _expected_from(rows, _centre_map(centred))
    assert _daily(db) == daily
    assert _centres(db) == centres

    _add_deltas(db, rows[:1])  # folding again adds to the stored rows
    fold_deltas()
    key = (realm_a.id, centred["ann"], d1, "")
    assert _daily(db)[key] == tuple(v + rows[0][c] for v, c in zip(daily[key], SUMS, strict=False)) + (D(0),)


def test_readers_filter_by_utc_day(db, realm_a, centred):
    rows = [_delta(realm_a.id, centred["ann"], date(2026, 11, day), bytes_in=day) for day in (1, 2, 3)]
    _add_deltas(db, rows[:2])
    fold_deltas()
    _add_deltas(db, rows[2:])  # one day still pending
    by_account, by_centre = _reads(realm_a.id, since=date(2026, 11, 2), until=date(2026, 11, 3))
    assert by_account[centred["ann"]].bytes_in == 5 and by_centre[centred["sub"]].bytes_in == 5
    assert _reads(realm_a.id, until=date(2026, 11, 1))[0][centred["ann"]].bytes_in == 1
    assert _reads(realm_a.id, since=date(2026, 11, 4)) == ({}, {})


def test_fold_uses_the_centre_at_fold_time_and_rebuild_the_current_one(db, realm_a, centred):
    from app.services.accounts import update_account

    _add_deltas(db, [_delta(realm_a.id, centred["cyd"], date(2026, 11, 1), bytes_in=10)])
    fold_deltas()
    with realm_context(realm_a.id):
        account = db.session.get(Account, centred["cyd"])
        update_account(account.id, name=account.name, email=account.email, status=account.status,
                       cost_centre_id=centred["sub"])
        db.session.commit()
    _add_deltas(db, [_delta(realm_a.id, centred["cyd"], date(2026, 11, 1), bytes_in=5)])
    pending = _reads(realm_a.id)[1]  # the pending delta counts under the new centre, as it will be folded
    assert (pending[NO_CENTRE].bytes_in, pending[centred["sub"]].bytes_in) == (10, 5)
    fold_deltas()
    assert _reads(realm_a.id)[1] == pending


def _records(db, realm_id, account_ids):
    """Records through the ingest's bulk writer, which appends their rollup deltas (two
    batches: the second replays five records, stored and counted once)."""
    from app.services.usage.writer import COLUMNS, insert_usage

    base = datetime(2026, 10, 31, 23, 30, tzinfo=UTC)
    rows = []
    for n in range(40):
        account_id = account_ids[n % len(account_ids)]
        moment = base + timedelta(minutes=17 * n)
        unit, quantity = ("SMS", D(n % 3 + 1)) if n % 7 == 0 else (None, None)
        values = {"realm_id": realm_id, "account_id": account_id, "import_id": None, "source": "cdr",
                  "source_record_id": f"t{n}", "status": "cdr", "session_key": None, "username": None,
                  "ip": None, "nas": None, "event_time": moment, "start": moment - timedelta(seconds=n),
                  "duration_s": 0 if unit else n, "bytes_in": 0 if unit else 1000 * n,
                  "bytes_out": 0 if unit else 10 * n, "quantity": quantity, "unit": unit,
                  "destination": None, "notes": None}
        rows.append(tuple(values[c] for c in COLUMNS))
    with realm_context(realm_id):
        insert_usage(rows[:25])
        insert_usage(rows[20:])
    return rows


def _group_by_records(db, realm_id):
    """The per-account daily sums straight from usage_records (GROUP BY in Python over the rows)."""
    sums: dict = defaultdict(lambda: [0, 0, 0, 0, D(0)])
    with realm_context(realm_id):
        for r in db.session.scalars(select(UsageRecord)):
            target = sums[(realm_id, r.account_id, r.event_time.astimezone(UTC).date(), r.unit or "")]
            for index, value in enumerate((1, r.duration_s, r.bytes_in, r.bytes_out)):
                target[index] += value
            target[4] += r.quantity or D(0)
    return {k: tuple(v) for k, v in sums.items()}


def test_rebuild_counts_usage_records_and_drops_their_pending_deltas(db, realm_a, realm_b, centred):
    _records(db, realm_a.id, [centred["ann"], centred["ben"], centred["cyd"]])
    expected = _group_by_records(db, realm_a.id)
    assert len({k[2] for k in expected}) == 2  # records on both sides of a UTC midnight
    _add_deltas(db, [_delta(realm_a.id, centred["ann"], date(2026, 11, 1), bytes_in=999),  # counted by rebuild
                     _delta(realm_b.id, centred["dot"], date(2026, 11, 1), bytes_in=1)])  # another realm: kept
    progress = []
    result = rebuild(realm_a.id, progress=lambda done, total: progress.append((done, total)))
    db.session.commit()
    assert (result.realms, result.accounts, result.daily_rows) == (1, 3, len(expected))
    assert progress[-1] == (3, 3)
    assert {k: v for k, v in _daily(db).items() if k[0] == realm_a.id} == expected
    centre_of = _centre_map(centred)
    centres: dict = defaultdict(lambda: [0, 0, 0, 0, D(0)])
    for (realm, account, day, unit), sums in expected.items():
        target = centres[(realm, centre_of[account], day, unit)]
        for index, value in enumerate(sums):
            target[index] += value
    assert _centres(db) == {k: tuple(v) for k, v in centres.items()}
    assert pending_deltas() == 1  # realm_b's delta stays for the fold
    by_account = _reads(realm_a.id)[0]
    assert {a: t.octets for a, t in by_account.items()} == {
        a: sum(v[2] + v[3] for k, v in expected.items() if k[1] == a) for a in {k[1] for k in expected}}


def test_rebuild_equals_folding_the_deltas_the_writer_appended(db, realm_a, centred):
    _records(db, realm_a.id, [centred["ann"], centred["ben"], centred["cyd"]])  # the writer appends deltas
    expected = _group_by_records(db, realm_a.id)
    assert pending_deltas() > 0
    fold_deltas()
    assert pending_deltas() == 0
    folded_daily, folded_centres = _daily(db), _centres(db)
    assert folded_daily == expected
    rebuild(realm_a.id)
    assert _daily(db) == folded_daily and _centres(db) == folded_centres


def test_rebuild_of_every_realm_and_the_command(db, app, realm_a, realm_b, centred):
    _records(db, realm_a.id, [centred["ann"]])
    db.session.commit()
    assert rebuild().realms >= 2
    before = _daily(db)
    with all_realms():
        db.session.execute(UsageDaily.__table__.delete())
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["usage", "rollups", "rebuild", "--realm", realm_a.slug])
    assert result.exit_code == 0, result.output
    assert "rebuilt" in result.output
    assert _daily(db) == before


def test_fold_job_folds_every_batch(db, realm_a, centred, monkeypatch):
    from workers import scheduler, usage

    assert scheduler.TASKS["usage-rollups-fold"].every_seconds == 60
    monkeypatch.setattr(usage, "FOLD_BATCH", 2)
    _add_deltas(db, [_delta(realm_a.id, centred["ann"], date(2026, 11, 1), bytes_in=n) for n in range(5)])
    db.session.commit()
    assert usage.fold_usage_rollups_job() == 5
    assert pending_deltas() == 0
    assert _reads(realm_a.id)[0][centred["ann"]].bytes_in == 10


# ---------------------------------------------------------------- PostgreSQL, really concurrent
def test_concurrent_folds_while_deltas_arrive_are_exact(committed_pg_app):
    from app.extensions import db
    from app.services.accounts import create_account, create_cost_centre
    from app.services.realms import create_realm
    from app.services.uow import unit_of_work

    app = committed_pg_app
    with app.app_context():
        with unit_of_work():
            realm_id = create_realm(slug="fold", name="Fold").id
        with realm_context(realm_id), unit_of_work():
            centre = create_cost_centre(code="c", name="C").id
            accounts = [create_account(username=f"u{i}", name=f"U{i}",
                                       cost_centre_id=centre if i % 2 else None).id for i in range(6)]
    written: list[dict] = []
    lock = threading.Lock()
    errors: list = []
    stop = threading.Event()

    def ingest(worker: int) -> None:  # the writer's side: insert-only deltas, one commit per batch
        try:
            with app.app_context():
                for batch in range(30):
                    rows = [_delta(realm_id, accounts[(worker + n) % 6], date(2026, 11, 1 + n % 3),
                                   records=1, duration_s=n, bytes_in=batch * 10 + n, bytes_out=worker)
                            for n in range(20)]
                    with unit_of_work():
                        db.session.execute(insert(UsageRollupDelta.__table__), rows)
                    with lock:
                        written.extend(rows)
        except Exception as exc:  # reported below
            errors.append(("ingest", worker, exc))

    def fold(worker: int) -> None:
        try:
            with app.app_context():
                while not stop.is_set():
                    with unit_of_work():
                        fold_deltas(limit=37)
        except Exception as exc:  # reported below
            errors.append(("fold", worker, exc))

    ingesters = [threading.Thread(target=ingest, args=(i,)) for i in range(3)]
    folders = [threading.Thread(target=fold, args=(i,)) for i in range(3)]
    for thread in ingesters + folders:
        thread.start()
    for thread in ingesters:
        thread.join(timeout=120)
    stop.set()
    for thread in folders:
        thread.join(timeout=120)
    assert not errors, errors
    with app.app_context():
        with unit_of_work():
            while fold_deltas(limit=37):
                pass
        with realm_context(realm_id):
            by_account = usage_by_account()
            by_centre = usage_by_centre()
            stored = db.session.scalars(select(func.sum(UsageDaily.bytes_in))).one()
    assert len(written) == 3 * 30 * 20
    expected: dict = defaultdict(int)
    for row in written:
        expected[row["account_id"]] += row["bytes_in"]
    assert {a: t.bytes_in for a, t in by_account.items()} == dict(expected)
    assert sum(t.records for t in by_account.values()) == len(written)
    assert stored == sum(expected.values())
    assert by_centre[centre].bytes_in == sum(v for a, v in expected.items() if accounts.index(a) % 2)
    assert by_centre[NO_CENTRE].bytes_in == sum(v for a, v in expected.items() if not accounts.index(a) % 2)


def test_rebuild_counts_an_ingest_once_whether_it_commits_before_or_after(committed_pg_app):
    """An ingest (records and their deltas in one transaction) that commits before a rebuild
    is counted by the rebuild (its deltas dropped); one still open is counted by the next fold."""
    from app.extensions import db
    from app.services.accounts import create_account
    from app.services.realms import create_realm
    from app.services.uow import unit_of_work

    app = committed_pg_app
    with app.app_context():
        with unit_of_work():
            realm_id = create_realm(slug="rebuild", name="Rebuild").id
        with realm_context(realm_id), unit_of_work():
            account_id = create_account(username="ivy", name="Ivy").id

        def open_ingest(n: int, size: int):
            connection = db.engine.connect()
            connection.begin()
            moment = datetime(2026, 11, 5, 12, tzinfo=UTC)
            connection.execute(insert(UsageRecord.__table__), [{
                "realm_id": realm_id, "account_id": account_id, "source": "cdr", "source_record_id": f"i{n}",
                "status": "cdr", "event_time": moment, "start": moment, "duration_s": 1, "bytes_in": size,
                "bytes_out": 0}])
            connection.execute(insert(UsageRollupDelta.__table__),
                               [_delta(realm_id, account_id, moment.date(), duration_s=1, bytes_in=size)])
            return connection

        committed_first = open_ingest(1, 100)
        committed_first.commit()
        committed_first.close()
        still_open = open_ingest(2, 20)
        try:
            with unit_of_work():
                rebuild(realm_id)
        finally:
            still_open.commit()
            still_open.close()
        with realm_context(realm_id):
            assert usage_by_account()[account_id].bytes_in == 120  # the open one is a pending delta now
        with unit_of_work():
            assert fold_deltas() == 1
        with realm_context(realm_id):
            totals = usage_by_account()[account_id]
            stored = db.session.scalar(select(func.sum(UsageRecord.bytes_in)))
    assert (totals.records, totals.bytes_in, stored) == (2, 120, 120)
