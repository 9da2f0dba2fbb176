"""The audit log: every ORM change is recorded with who/what/where/before-after, never secrets."""

import csv
import io

import pytest
import sqlalchemy as sa
from sqlalchemy import select

from app.models import Account, AuditEntry
from app.services import audit
from app.services.accounts import update_account
from tenants import realm_context


def _entries(db, realm, entity):
    with realm_context(realm.id):
        return list(db.session.scalars(
            select(AuditEntry).where(AuditEntry.entity == entity).order_by(AuditEntry.id)))


def test_service_changes_are_recorded_with_actor_and_fields(db, realm_a, create_account):
    account_id = create_account(realm_a, "alice", email="alice@example.com").id
    with realm_context(realm_a.id), audit.acting_as("system", "nightly job", source="job:test"):
        update_account(account_id, name="Alice Smith", email="alice@example.com",
                       phone=None, status="suspended", cost_centre_id=None)
        db.session.commit()
    entries = _entries(db, realm_a, "accounts")
    created, changed = entries[0], entries[-1]
    assert created.action == "create" and created.entity_id == str(account_id)
    assert created.changes["username"] == [None, "alice"]
    assert changed.action == "update"
    assert changed.actor_kind == "system" and changed.actor_label == "nightly job"
    assert changed.source == "job:test"
    assert changed.changes["status"] == ["active", "suspended"]
    assert changed.changes["name"] == ["Alice", "Alice Smith"]
    assert "email" not in changed.changes  # unchanged fields are not listed


def test_secrets_never_reach_the_log(db, realm_a, create_account):
    account = create_account(realm_a, "bob", password="Sup3r-secret-pw")
    entry = _entries(db, realm_a, "accounts")[-1]
    assert entry.changes["password_hash"] == [None, audit.REDACTED]
    raw = db.session.execute(sa.text("SELECT changes FROM audit_entries")).scalars().all()
    assert all("Sup3r-secret-pw" not in str(row) and "argon2" not in str(row) for row in raw)
    assert account.id


def test_a_rolled_back_change_leaves_no_entry(db, realm_a, create_account):
    account = create_account(realm_a, "carol")
    before = len(_entries(db, realm_a, "accounts"))
    with realm_context(realm_a.id):
        db.session.get(Account, account.id).name = "Temporary"
        db.session.flush()
        db.session.rollback()
    assert len(_entries(db, realm_a, "accounts")) == before


def test_the_log_is_append_only_in_the_database(db, realm_a, create_account):
    create_account(realm_a, "dave")
    with pytest.raises(sa.exc.DatabaseError, match="append-only"):
        with db.session.begin_nested():
            db.session.execute(sa.text("UPDATE audit_entries SET actor_label = 'someone else'"))
    with pytest.raises(sa.exc.DatabaseError, match="append-only"):
        with db.session.begin_nested():
            db.session.execute(sa.text("DELETE FROM audit_entries"))


def test_console_shows_filters_and_exports_only_this_realm(db, realm_a, realm_b, create_account,
                                                          realm_client):
    create_account(realm_a, "erin")
    create_account(realm_b, "mallory")
    client = realm_client(realm_a)
    client.login_staff("owner@alpha.example")
    page = client.get("/console/audit?entity=accounts").get_data(as_text=True)
    assert "erin" in page and "mallory" not in page
    # The staff login itself is visible as staff-made changes are: filter by actor kind.
    response = client.get("/console/audit.csv?entity=accounts")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert {row["entity"] for row in rows} == {"accounts"}
    assert any(row["field"] == "username" and row["after"] == "erin" for row in rows)
    assert not any(row["after"] == "mallory" for row in rows)


def test_changes_made_in_the_console_name_the_staff_user_and_address(db, realm_a, create_account,
                                                                     realm_client):
    account = create_account(realm_a, "frank")
    client = realm_client(realm_a)
    client.login_staff("owner@alpha.example")
    response = client.post(f"/console/accounts/{account.id}", {
        "name": "Frank Renamed", "email": "", "phone": "", "status": "active", "cost_centre_id": "",
    })
    assert response.status_code in (200, 303), response.get_data(as_text=True)[:300]
    entry = _entries(db, realm_a, "accounts")[-1]
    assert entry.action == "update" and entry.changes["name"] == ["Frank", "Frank Renamed"]
    assert entry.actor_kind == "staff" and entry.actor_label == "owner@alpha.example"
    assert entry.source == "127.0.0.1"


def test_support_staff_cannot_read_the_log(db, realm_a, realm_client):
    from app.services.staff import create_staff

    with realm_context(realm_a.id):
        create_staff(email="help@alpha.example", name="Help", password="owner-password", role="support")
        db.session.commit()
    client = realm_client(realm_a)
    client.login_staff("help@alpha.example")
    assert client.get("/console/audit").status_code == 403
