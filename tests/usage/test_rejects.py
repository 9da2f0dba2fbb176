"""Rejected usage in the console: listed with where and why, processed again after a fix."""

from sqlalchemy import func, select

from app.models import UsageRecord, UsageReject
from app.services.usage.ingest import import_usage_file
from tenants import realm_context

HEADER = "record_id,username,start,bytes_out\n"


def test_fix_and_reprocess_from_the_console(db, tmp_path, realm_a, create_account, realm_client):
    create_account(realm_a, "alice")
    path = tmp_path / "day.csv"
    path.write_text(HEADER + "r1,alice,2026-11-01T10:00:00Z,100\n"
                    "r2,newbie,2026-11-01T10:00:00Z,200\n"
                    "r3,alice,yesterday,300\n")
    with realm_context(realm_a.id):
        import_usage_file(path, kind="cdr")
        db.session.commit()
    console = realm_client(realm_a)
    console.login_staff("owner@alpha.example")
    page = console.get("/console/usage/rejects").get_data(as_text=True)
    assert "unknown_account" in page and "day.csv" in page and "bad_timestamp" in page
    with realm_context(realm_a.id):
        ids = {r.code: r.id for r in db.session.scalars(select(UsageReject))}
    # The missing account is created, and the bad time corrected in the console.
    create_account(realm_a, "newbie")
    time_reject = next(v for k, v in ids.items() if k != "unknown_account")
    response = console.post("/console/usage/rejects/reprocess", {
        "reject_id": [str(ids["unknown_account"]), str(time_reject)],
        f"raw_{time_reject}": "r3,alice,2026-11-01T11:00:00Z,300",
    })
    assert response.status_code == 303
    assert "done=2" in response.headers["Location"]
    with realm_context(realm_a.id):
        assert db.session.scalar(select(func.sum(UsageRecord.bytes_out))) == 600
        assert db.session.scalar(select(func.count()).select_from(UsageReject).where(
            UsageReject.status == "open")) == 0
    assert "No rejected records." in console.get("/console/usage/rejects").get_data(as_text=True)


def test_a_still_broken_record_stays_open(db, tmp_path, realm_a, create_account, realm_client):
    path = tmp_path / "x.csv"
    path.write_text(HEADER + "r9,ghost,2026-11-01T10:00:00Z,1\n")
    with realm_context(realm_a.id):
        import_usage_file(path, kind="cdr")
        db.session.commit()
        reject_id = db.session.scalar(select(UsageReject.id))
    console = realm_client(realm_a)
    console.login_staff("owner@alpha.example")
    response = console.post("/console/usage/rejects/reprocess", {"reject_id": [str(reject_id)]})
    assert "failed=1" in response.headers["Location"]
    with realm_context(realm_a.id):
        assert db.session.scalar(select(UsageReject.status)) == "open"
