"""The bulk write paths behind ingest: straight COPY with its fallback, the read-ahead thread."""

from sqlalchemy import func, select

from app.models import UsageRecord
from app.services.usage.ingest import import_usage_file, read_ahead
from tenants import all_realms, realm_context

HEADER = "record_id,username,ip,start,duration_s,bytes_in,bytes_out\n"


def _rows(ids):
    return "".join(f"{i},carl,,2026-11-01T10:{n % 60:02d}:00Z,60,{n},{2 * n}\n" for n, i in enumerate(ids))


def _stored(db):
    with all_realms():
        return db.session.execute(select(func.count(), func.sum(UsageRecord.bytes_in))
                                  .select_from(UsageRecord)).one()


def test_a_batch_with_stored_records_in_the_middle_stores_only_the_new_ones(db, tmp_path, realm_a,
                                                                           create_account):
    create_account(realm_a, "carl")
    first = tmp_path / "first.csv"
    first.write_text(HEADER + _rows(["m1", "m2"]))
    # New first and last records (the cheap "all new" guess holds), stored ones in between:
    # on PostgreSQL the straight COPY hits the unique index and the batch takes the staging path.
    second = tmp_path / "second.csv"
    second.write_text(HEADER + _rows(["n1", "m1", "n2", "m2", "n3"]))
    with realm_context(realm_a.id):
        batch = import_usage_file(first, kind="cdr")
        assert (batch.accepted, batch.duplicates) == (2, 0)
        batch = import_usage_file(second, kind="cdr")
        assert (batch.accepted, batch.duplicates, batch.rejected) == (3, 2, 0)
        db.session.commit()
    count, bytes_in = _stored(db)
    assert count == 5
    assert bytes_in == 0 + 1 + (0 + 2 + 4)  # m1, m2 from the first file; n1, n2, n3 from the second


def test_read_ahead_keeps_order_and_raises_where_the_parser_failed():
    assert list(read_ahead(iter(range(10_001)), chunk=100)) == list(range(10_001))

    def parser():
        yield from range(5)
        raise ValueError("line 6 is broken")

    seen = []
    try:
        for item in read_ahead(parser(), chunk=2):
            seen.append(item)
    except ValueError as exc:
        assert str(exc) == "line 6 is broken"
    else:
        raise AssertionError("the parser's error was lost")
    assert seen == [0, 1, 2, 3, 4]


def test_read_ahead_closed_early_stops_its_thread():
    import threading

    before = threading.active_count()
    items = read_ahead(iter(range(1_000_000)), chunk=10, depth=2)
    assert next(items) == 0
    items.close()
    assert threading.active_count() == before


def test_sqlite_time_text_is_what_the_column_type_stores():
    from datetime import UTC, datetime, timedelta, timezone

    from sqlalchemy.dialects import sqlite

    from app.services.usage.writer import _sqlite_utc_text

    processor = UsageRecord.__table__.c.event_time.type._cached_bind_processor(sqlite.dialect())
    for moment in (datetime(2026, 11, 1, 10, 0, tzinfo=UTC), datetime(2026, 3, 29, 1, 59, 59, 5, tzinfo=UTC),
                   datetime(2026, 12, 31, 23, 30, tzinfo=timezone(timedelta(hours=-5))),
                   datetime(999, 1, 2, 3, 4, 5, 678901, tzinfo=timezone(timedelta(hours=2)))):
        assert _sqlite_utc_text(moment) == processor(moment)
