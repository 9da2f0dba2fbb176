"""Events are recorded with the change and processed once after commit."""

import pytest
from sqlalchemy import select

from app.models.events import Event
from app.services import accounts as account_services
from app.services.errors import Invalid
from app.services.events import emit, process_event
from tenants import realm_context


def _events(db, realm, event_type=None):
    with realm_context(realm.id):
        query = select(Event).order_by(Event.id)
        if event_type:
            query = query.where(Event.type == event_type)
        return list(db.session.scalars(query))


def test_account_created_event_is_processed_after_commit(db, realm_a, create_account):
    account = create_account(realm_a, "erin", email="erin@example.org")
    [event] = _events(db, realm_a, "account.created")
    assert event.account_id == account.id
    assert event.data == {"username": "erin"}
    assert event.state == "processed"
    assert event.processed_at is not None


def test_suspend_and_resume_emit_events_with_reason(db, realm_a, create_account):
    account = create_account(realm_a, "frank")
    with realm_context(realm_a.id):
        account_services.suspend_account(account.id, reason="overdue")
        account_services.suspend_account(account.id, reason="overdue")  # no second event
        db.session.commit()
        assert account_services.get_account(account.id).status == "suspended"
        account_services.resume_account(account.id, reason="paid")
        db.session.commit()
        assert account_services.get_account(account.id).status == "active"
    suspended = _events(db, realm_a, "account.suspended")
    assert [e.data["reason"] for e in suspended] == ["overdue"]
    [resumed] = _events(db, realm_a, "account.resumed")
    assert resumed.data == {"reason": "paid", "from": "suspended", "to": "active"}


def test_details_and_password_changes_emit_events(db, realm_a, create_account):
    account = create_account(realm_a, "gina", email="gina@example.org")
    with realm_context(realm_a.id):
        account_services.update_account(account.id, name="Gina G", email="gina@example.org")
        account_services.change_service_password(account.id, password="new-password-1")
        db.session.commit()
    [details] = _events(db, realm_a, "account.details_changed")
    assert details.data == {"fields": ["name"]}
    assert len(_events(db, realm_a, "account.password_changed")) == 1


def test_unknown_event_type_refused_and_nothing_written(db, realm_a):
    with realm_context(realm_a.id):
        with pytest.raises(Invalid):
            emit("account.exploded")
    assert _events(db, realm_a) == []


def test_processing_twice_is_a_no_op(db, realm_a, create_account):
    create_account(realm_a, "hank")
    [event] = _events(db, realm_a, "account.created")
    with realm_context(realm_a.id):
        first = event.processed_at
        again = process_event(event.id)
        assert again.processed_at == first
        assert again.attempts == 1
