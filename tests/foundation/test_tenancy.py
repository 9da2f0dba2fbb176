"""Realm scoping is central: realm A never sees or writes realm B's rows."""

import pytest
from sqlalchemy import func, select, update

from app.models import Account, Realm, StaffUser
from tenants import CrossRealmWrite, RealmContextRequired, all_realms, realm_context


@pytest.fixture
def two_realms(realm_a, realm_b, create_account):
    alice = create_account(realm_a, "alice", password="alice-password")
    bob = create_account(realm_b, "bob", password="bob-password")
    return realm_a, realm_b, alice, bob


def test_queries_see_only_the_current_realm(db, two_realms):
    realm_a, realm_b, alice, bob = two_realms
    with realm_context(realm_a.id):
        names = db.session.scalars(select(Account.username)).all()
        assert names == ["alice"]
        assert db.session.scalar(select(Account).where(Account.id == bob.id)) is None
        assert db.session.scalar(select(func.count()).select_from(Account)) == 1
    with realm_context(realm_b.id):
        assert db.session.scalars(select(Account.username)).all() == ["bob"]


def test_joins_and_relationships_are_scoped(db, two_realms):
    realm_a, _, _, _ = two_realms
    with realm_context(realm_a.id):
        rows = db.session.execute(select(StaffUser.email, Account.username).join(
            Account, Account.realm_id == StaffUser.realm_id)).all()
        assert rows == [("owner@alpha.example", "alice")]


def test_bulk_update_is_scoped(db, two_realms):
    realm_a, realm_b, alice, bob = two_realms
    with realm_context(realm_a.id):
        db.session.execute(update(Account).values(status="suspended"))
    with all_realms():
        statuses = dict(db.session.execute(select(Account.username, Account.status)).all())
    assert statuses == {"alice": "suspended", "bob": "active"}


def test_query_without_realm_context_raises(db, two_realms):
    with pytest.raises(RealmContextRequired):
        db.session.scalars(select(Account)).all()
    # Realms themselves are not realm data: the provider console lists them.
    assert db.session.scalar(select(func.count()).select_from(Realm)) == 3


def test_writing_another_realms_row_is_refused(db, two_realms):
    realm_a, _, _, bob = two_realms
    with all_realms():
        bob_row = db.session.get(Account, bob.id)
    with realm_context(realm_a.id):
        bob_row.name = "hijacked"
        with pytest.raises(CrossRealmWrite):
            db.session.flush()
    db.session.rollback()


def test_new_rows_are_stamped_with_the_current_realm(db, realm_a):
    from app.models import CostCentre

    with realm_context(realm_a.id):
        node = CostCentre(code="x", name="X")
        db.session.add(node)
        db.session.flush()
        assert node.realm_id == realm_a.id


def test_new_rows_without_a_realm_are_refused(db, realm_a):
    from app.models import CostCentre

    db.session.add(CostCentre(code="x", name="X"))
    with pytest.raises(RealmContextRequired):
        db.session.flush()
    db.session.rollback()
