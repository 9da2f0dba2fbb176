"""Voucher test fixtures: a clean attempt counter per test, a realm with a subscriber."""

from __future__ import annotations

import pytest

from tenants import realm_context


@pytest.fixture(autouse=True)
def _fresh_attempt_counters():
    from app.services import vouchers

    vouchers._memory_counts.clear()
    yield
    vouchers._memory_counts.clear()


@pytest.fixture
def subscriber(realm_a, create_account):
    from types import SimpleNamespace

    account = create_account(realm_a, "vera", email="vera@example.org", password="vera-password-1")
    # Plain values: ORM rows expire at every commit and reload only inside their realm.
    return SimpleNamespace(id=account.id, username="vera", password="vera-password-1")


@pytest.fixture
def make_batch(db):
    """``make_batch(realm, count=3, kind="money", amount="10.00", ...)`` → (batch_id, pins)."""
    from app.services.vouchers import generate_batch

    def factory(realm, *, count=3, kind="money", name="Test batch", prefix="T", activate=True, **kwargs):
        if kind == "money":
            kwargs.setdefault("amount", "10.00")
        with realm_context(realm.id):
            generated = generate_batch(name=name, count=count, kind=kind, prefix=prefix,
                                       activate=activate, **kwargs)
            db.session.commit()
            return generated.batch.id, generated.pins

    return factory
