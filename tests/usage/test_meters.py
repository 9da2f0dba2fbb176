"""Meter readings: cumulative registers become consumption, with rollover and replays."""

from decimal import Decimal as D

import pytest
from sqlalchemy import select

from app.mediation.records import MediationFileError
from app.models import Meter, UsageRecord, UsageReject
from app.services.meters import add_meter
from app.services.usage.ingest import import_usage_file
from tenants import realm_context


@pytest.fixture
def meter(db, realm_a, create_account):
    account_id = create_account(realm_a, "plant").id
    with realm_context(realm_a.id):
        add_meter(serial="M-1", account_id=account_id, unit="kWh", modulus=D("100000"))
        db.session.commit()
    return account_id


def test_readings_become_consumption_with_rollover(db, tmp_path, realm_a, meter):
    path = tmp_path / "readings.csv"
    path.write_text("reading_id,meter,time,value\n"
                    "x1,M-1,2026-11-01T00:00:00Z,99990.5\n"      # baseline
                    "x2,M-1,2026-11-02T00:00:00Z,99999.5\n"      # 9 kWh
                    "x3,M-1,2026-11-03T00:00:00Z,12.5\n"         # rolled over: 13 kWh
                    "x4,M-1,2026-11-04T00:00:00Z,5\n"            # went back: refused
                    "x5,M-9,2026-11-04T00:00:00Z,5\n"            # unknown meter
                    "x6,M-1,bad,5\n")
    with realm_context(realm_a.id):
        batch = import_usage_file(path, kind="meter")
        assert (batch.accepted, batch.rejected) == (3, 3)
        quantities = dict(db.session.execute(select(UsageRecord.source_record_id, UsageRecord.quantity)).all())
        assert quantities == {"x1": D(0), "x2": D(9), "x3": D(13)}
        assert db.session.scalar(select(Meter.last_value)) == D("12.5")
        codes = sorted(db.session.scalars(select(UsageReject.code)))
        assert codes == ["bad_timestamp", "unknown_meter", "went_back"]
        replay = import_usage_file(path, kind="meter")
        assert (replay.accepted, replay.duplicates) == (0, 3)
        assert db.session.scalar(select(Meter.last_value)) == D("12.5")


def test_bad_readings_header(db, tmp_path, realm_a, meter):
    path = tmp_path / "r.csv"
    path.write_text("id,meter,time,value\n")
    with realm_context(realm_a.id), pytest.raises(MediationFileError, match="r.csv:1"):
        import_usage_file(path, kind="meter")
