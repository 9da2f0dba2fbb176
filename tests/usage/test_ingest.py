"""Usage ingestion on both databases: idempotent, attributed, rejects kept with line and field."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from app.mediation.radius_records import build_event
from app.mediation.records import MediationFileError
from app.models import RadiusSession, UsageImport, UsageRecord, UsageReject
from app.services.usage.ingest import import_usage_file, ingest
from tenants import all_realms, realm_context

HEADER = "record_id,username,ip,start,duration_s,bytes_in,bytes_out\n"


@pytest.fixture
def subscribers(realm_a, realm_b, create_account):
    # Ids, not objects: a commit in a test expires objects, and reloading needs their realm.
    return {
        "alice": create_account(realm_a, "alice").id,
        "amy": create_account(realm_a, "amy").id,
        "bob": create_account(realm_b, "bob").id,
    }


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def _counts(db):
    with all_realms():
        records = db.session.scalar(select(func.count()).select_from(UsageRecord))
        rejects = db.session.scalar(select(func.count()).select_from(UsageReject))
    return records, rejects


def test_cdr_import_is_attributed_idempotent_and_keeps_rejects(db, tmp_path, realm_a, subscribers):
    path = _write(tmp_path, "cdr-1.csv", HEADER + "\n".join([
        "r1,alice@alpha.example,,2026-11-01T10:00:00Z,60,1000,2000",
        "r2,amy,,2026-11-01T11:00:00Z,120,10,20",
        "r3,nobody,,2026-11-01T12:00:00Z,1,1,1",
        "r4,alice,,not-a-time,1,1,1",
        "r5,bob@bravo.example,,2026-11-01T12:00:00Z,1,1,1",
        "r6,alice,,2026-11-01T13:00:00Z,-5,1,1",
    ]) + "\n")
    with realm_context(realm_a.id):
        batch = import_usage_file(path, kind="cdr")
        db.session.commit()
        assert (batch.accepted, batch.duplicates, batch.rejected) == (2, 0, 4)
        rejects = {r.line: (r.field, r.code) for r in db.session.scalars(select(UsageReject))}
    assert rejects[4] == ("username", "unknown_account")
    assert rejects[5][0] == "start"
    assert rejects[6] == ("username", "foreign_realm")
    assert rejects[7][0] == "duration_s"
    with realm_context(realm_a.id):
        rows = db.session.execute(select(UsageRecord.source_record_id, UsageRecord.account_id,
                                         UsageRecord.bytes_out)).all()
    assert sorted(rows) == [("r1", subscribers["alice"], 2000), ("r2", subscribers["amy"], 20)]

    with realm_context(realm_a.id):
        replay = import_usage_file(path, kind="cdr")
        db.session.commit()
        assert (replay.accepted, replay.duplicates) == (0, 2)
    assert _counts(db) == (2, 4)  # nothing new: no second record, no second reject


def test_a_bad_header_writes_nothing(db, tmp_path, realm_a, subscribers):
    path = _write(tmp_path, "bad.csv", "record_id,user,start\nr1,alice,2026-11-01T10:00:00Z\n")
    with realm_context(realm_a.id), pytest.raises(MediationFileError) as excinfo:
        import_usage_file(path, kind="cdr")
    assert "bad.csv:1" in str(excinfo.value)
    db.session.rollback()
    with all_realms():
        assert db.session.scalar(select(func.count()).select_from(UsageImport)) == 0


def test_the_parent_realm_imports_for_its_visps(db, tmp_path, provider_realm, realm_a, subscribers):
    path = _write(tmp_path, "provider.csv", HEADER +
                  "p1,alice@alpha.example,,2026-11-01T10:00:00Z,60,1,1\n")
    with realm_context(provider_realm.id):
        batch = import_usage_file(path, kind="cdr")
    assert batch.accepted == 1
    with realm_context(realm_a.id):
        assert db.session.scalar(select(UsageRecord.realm_id)) == realm_a.id


def _acct(status, session_time, octets_in, octets_out, *, ip="10.0.0.7", when=None, user="alice@alpha.example", **extra):
    attrs = {
        "Acct-Status-Type": status, "User-Name": user, "Acct-Session-Id": "sess-1",
        "NAS-IP-Address": "192.0.2.1", "Framed-IP-Address": ip,
        "Acct-Session-Time": session_time, "Acct-Input-Octets": octets_in,
        "Acct-Output-Octets": octets_out, **extra,
    }
    received = when or datetime(2026, 11, 1, 10, 0, tzinfo=UTC)
    return build_event(attrs, source="radius", received=received)


def test_radius_interims_become_exact_deltas_with_wrap_and_duplicates(db, provider_realm, realm_a, subscribers):
    start = datetime(2026, 11, 1, 10, 0, tzinfo=UTC)
    from datetime import timedelta

    packets = [
        _acct("Start", 0, 0, 0, when=start),
        _acct("Interim-Update", 300, 1_000, 4_000_000_000, when=start + timedelta(seconds=300)),
        # The 32-bit output counter wrapped: 4e9 -> 100e6 means 2**32 - 4e9 + 100e6 more.
        _acct("Interim-Update", 600, 2_000, 100_000_000, when=start + timedelta(seconds=600)),
        _acct("Interim-Update", 600, 2_000, 100_000_000, when=start + timedelta(seconds=601)),  # retransmit
        _acct("Stop", 900, 3_000, 200_000_000, when=start + timedelta(seconds=900)),
    ]
    with realm_context(provider_realm.id):
        first = ingest(packets[:3])
        second = ingest(packets[2:])  # the third packet arrives again in the next batch
    assert first.accepted == 3 and second.duplicates == 2 and second.accepted == 1
    with realm_context(realm_a.id):
        total_out = db.session.scalar(select(func.sum(UsageRecord.bytes_out)))
        total_in = db.session.scalar(select(func.sum(UsageRecord.bytes_in)))
        seconds = db.session.scalar(select(func.sum(UsageRecord.duration_s)))
        notes = db.session.scalars(select(UsageRecord.notes).where(UsageRecord.notes.is_not(None))).all()
        session = db.session.scalar(select(RadiusSession))
    assert total_out == 2**32 + 200_000_000
    assert total_in == 3_000 and seconds == 900
    assert any("wrap corrected" in n for n in notes)
    assert session.stopped_at == start + timedelta(seconds=900)
    assert session.framed_ip == "10.0.0.7"


def test_ip_only_records_go_to_whoever_held_the_address(db, tmp_path, provider_realm, realm_a, subscribers):
    from datetime import timedelta

    start = datetime(2026, 11, 1, 10, 0, tzinfo=UTC)
    with realm_context(provider_realm.id):
        ingest([_acct("Start", 0, 0, 0, when=start),
                _acct("Stop", 3600, 10, 10, when=start + timedelta(hours=1))])
        path = _write(tmp_path, "flows.csv", HEADER + "\n".join([
            "f1,,10.0.0.7,2026-11-01T10:30:00Z,10,500,600",   # during alice's session
            "f2,,10.0.0.7,2026-11-01T12:00:00Z,10,500,600",   # after it stopped
            "f3,,10.9.9.9,2026-11-01T10:30:00Z,10,500,600",   # nobody
        ]) + "\n")
        batch = import_usage_file(path, kind="cdr")
        assert (batch.accepted, batch.rejected) == (1, 2)
    with realm_context(realm_a.id):
        record = db.session.scalar(select(UsageRecord).where(UsageRecord.source_record_id == "f1"))
    assert record.account_id == subscribers["alice"]
    with realm_context(provider_realm.id):
        codes = db.session.scalars(select(UsageReject.code)).all()
    assert sorted(codes) == ["unknown_ip", "unknown_ip"]
