"""The realm's settings stamp (``realms.settings_version``) and the page view's kept copies of
the terms (``billing.terms.account_terms``) and compiled plans (``billing.draft.kept_versions``):
every change of tax settings, rates, discounts or plans raises the stamp in its own transaction; a copy is used only under the stamp it was read
under, so a change committed anywhere shows on the next page, and a change rolled back never
leaves its terms behind."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest
from sqlalchemy import event, select

from app.models import Account, Discount, Realm
from app.rating.proration import Period
from app.services.billing.taxes import (
    add_discount,
    add_tax_rate,
    deactivate_discount,
    update_tax_settings,
)
from app.services.billing.terms import account_terms, load_terms
from tenants import realm_context

PERIOD = Period(date(2026, 12, 1), date(2027, 1, 1))


def _version(db, realm_id: int) -> int:
    return db.session.execute(select(Realm.settings_version).where(Realm.id == realm_id)).scalar_one()


def _view(db, realm_id: int, account_id: int):
    """What a request does: realm and account loaded afresh, then the terms; with the
    number of statements the terms took."""
    db.session.expunge_all()
    realm = db.session.get(Realm, realm_id)
    account = db.session.scalar(select(Account).where(Account.id == account_id))
    seen = []
    connection = db.session.connection()
    listener = lambda *args: seen.append(args[2])  # noqa: E731
    event.listen(connection, "before_cursor_execute", listener)
    try:
        terms = account_terms(account, realm, PERIOD)
    finally:
        event.remove(connection, "before_cursor_execute", listener)
    return terms, len(seen)


@pytest.fixture
def buyer(db, realm_a, create_account):
    return realm_a.id, create_account(realm_a, "tess").id


def test_every_change_of_the_terms_raises_the_stamp(db, buyer):
    realm_id, account_id = buyer
    with realm_context(realm_id):
        steps = [lambda: update_tax_settings(country="DE", prices_include_tax=False),
                 lambda: add_tax_rate(name="VAT", rate="19", valid_from=date(2026, 1, 1)),
                 lambda: add_discount(name="Loyal", kind="percent", value="10", valid_from=date(2026, 1, 1))]
        before = _version(db, realm_id)
        for n, step in enumerate(steps, 1):
            step()
            db.session.commit()
            assert _version(db, realm_id) == before + n
        discount = db.session.scalar(select(Discount))
        deactivate_discount(discount.id)
        db.session.commit()
        assert _version(db, realm_id) == before + 4
        db.session.delete(db.session.scalar(select(Discount)))
        db.session.commit()
        assert _version(db, realm_id) == before + 5
        # Reading, or flushing other rows, leaves it alone.
        load_terms([account_id], PERIOD)
        db.session.scalar(select(Account).where(Account.id == account_id)).name = "Tess T."
        db.session.commit()
        assert _version(db, realm_id) == before + 5


def test_a_copy_serves_until_the_terms_change(db, buyer):
    realm_id, account_id = buyer
    with realm_context(realm_id):
        add_tax_rate(name="VAT", rate="19", valid_from=date(2026, 1, 1))
        db.session.commit()
        first, statements = _view(db, realm_id, account_id)
        assert first.tax_rate == D("19") and statements >= 3
        again, statements = _view(db, realm_id, account_id)
        assert again == first and statements == 0      # kept: no statement at all
        add_discount(name="Winter", kind="fixed", value="5", valid_from=date(2026, 11, 1))
        db.session.commit()
        changed, statements = _view(db, realm_id, account_id)
        assert [d.name for d in changed.discounts] == ["Winter"] and statements >= 3
        assert changed == load_terms([account_id], PERIOD)


def test_only_the_viewers_own_discounts_and_tax_profile(db, realm_a, create_account):
    mine = create_account(realm_a, "mona").id
    other = create_account(realm_a, "otto").id
    with realm_context(realm_a.id):
        db.session.scalar(select(Account).where(Account.id == mine)).tax_id = "ATU12345678"
        update_tax_settings(country="DE", prices_include_tax=False)
        add_tax_rate(name="VAT", rate="19", valid_from=date(2026, 1, 1))
        add_discount(name="Mona only", kind="percent", value="5", valid_from=date(2026, 1, 1), account_id=mine)
        add_discount(name="Otto only", kind="percent", value="7", valid_from=date(2026, 1, 1), account_id=other)
        add_discount(name="Everybody", kind="percent", value="1", valid_from=date(2026, 1, 1))
        db.session.commit()
        for account_id in (mine, other, mine):
            terms, _ = _view(db, realm_a.id, account_id)
            assert terms == load_terms([account_id], PERIOD)
        assert [d.name for d in terms.discounts] == ["Mona only", "Everybody"]
        assert terms.buyers[mine].tax_id == "ATU12345678"


def test_a_change_rolled_back_leaves_no_copy_behind(db, buyer):
    realm_id, account_id = buyer
    with realm_context(realm_id):
        before, _ = _view(db, realm_id, account_id)
        savepoint = db.session.begin_nested()
        add_tax_rate(name="VAT", rate="20", valid_from=date(2026, 1, 1))
        db.session.flush()
        inside, _ = _view(db, realm_id, account_id)      # the transaction sees its own change
        assert inside.tax_rate == D("20")
        savepoint.rollback()
        after, statements = _view(db, realm_id, account_id)
        assert after.tax_rate is None and after == before


def test_kept_plan_versions_follow_a_plan_change(db, buyer):
    """A plan renamed, or changed into a new version, shows on the next page: the change
    raised the stamp, so the compiled version kept under the old one is not used."""
    from app.services.billing.draft import kept_versions
    from app.services.plans import save_plan, spec_from_mapping

    realm_id, _ = buyer
    plan = {"code": "home", "name": "Home", "currency": "USD",
            "fees": [{"kind": "recurring", "period": "monthly", "amount": "20.00"}]}
    with realm_context(realm_id):
        version_id = save_plan(spec_from_mapping(plan, source="test"), effective_from=date(2026, 1, 1)).latest_version.id
        db.session.commit()

        def view():
            db.session.expunge_all()
            return kept_versions(db.session.get(Realm, realm_id), {version_id})[version_id]

        first = view()
        assert first.name == "Home" and view() is first          # kept
        before = _version(db, realm_id)
        save_plan(spec_from_mapping({**plan, "name": "Home Plus"}, source="test"), effective_from=date(2026, 1, 1))
        db.session.commit()
        assert _version(db, realm_id) == before + 1
        renamed = view()
        assert renamed.name == "Home Plus" and renamed is not first
        save_plan(spec_from_mapping({**plan, "fees": [{"kind": "recurring", "period": "monthly", "amount": "25.00"}]},
                                    source="test"), effective_from=date(2026, 1, 1))
        db.session.commit()
        assert view().fees[0][1] == D("25.00")                   # the unused version, edited in place
