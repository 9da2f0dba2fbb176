"""The dashboard's next-invoice figure (``billing.preview.account_preview``) is the billing
draft: line for line equal to ``preview_invoice`` whatever the account holds — fees with
proration and a plan change, usage of this month and late usage in several units, pool
draws, pending charges and credits, line and invoice discounts, tax (exclusive, inclusive,
reverse charge), suspension — and it follows every change at once (it keeps only the realm's
terms, under the stamp every change of them raises: tests/billing/test_terms_stamp.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal as D

import pytest
from sqlalchemy import select

from app.mediation.records import UsageEvent
from app.models import Account
from app.services.billing.charges import add_charge
from app.services.billing.preview import account_preview
from app.services.billing.run import preview_invoice, start_billing_run
from app.services.billing.taxes import (
    add_discount,
    add_tax_rate,
    set_buyer_tax_profile,
    update_tax_settings,
)
from app.services.collections import update_policy
from app.services.plans import save_plan, spec_from_mapping
from app.services.quotas import create_pool
from app.services.subscriptions import change_plan, subscribe
from app.services.usage.ingest import ingest
from tenants import realm_context

HOME = {"code": "home", "name": "Home", "currency": "USD",
        "fees": [{"kind": "setup", "amount": "15.00"},
                 {"kind": "recurring", "period": "monthly", "amount": "30.00"}],
        "bands": [{"unit": "MB", "max_usage": "0", "price": "0.013"},
                  {"unit": "minute", "max_usage": "0", "price": "0.021"},
                  {"unit": "SMS", "max_usage": "0", "price": "0.07"}],
        "quotas": [{"unit": "MB", "amount": "100"}]}
FAST = {**HOME, "code": "fast", "name": "Fast",
        "fees": [{"kind": "recurring", "period": "monthly", "amount": "55.00"}]}


def _event(key, username, when, *, octets=0, seconds=0, quantity=None, unit=None):
    return UsageEvent(source="cdr", source_record_id=key, username=username, ip=None, nas=None, session_id=None,
                      status="cdr", event_time=when, start=when, duration_s=seconds, bytes_in=octets,
                      bytes_out=octets // 3, quantity=quantity, unit=unit)


def _shape(draft):
    if draft is None:
        return None
    return (draft.account_id, draft.currency, draft.period, draft.total, draft.tax_total, draft.tax_rate,
            draft.prices_include_tax, draft.reverse_charge, draft.buyer_tax_id, draft.notes, draft.charge_ids,
            [(line.kind, line.description, line.amount, line.quantity, line.unit, line.unit_price)
             for line in draft.lines])


def _same(db, account_id: int, on: date):
    """Both previews of a fresh session (nothing left over from the writes)."""
    db.session.expire_all()
    expected = preview_invoice(account_id, on=on)
    db.session.expunge_all()
    account = db.session.scalar(select(Account).where(Account.id == account_id))
    actual = account_preview(account, on=on)
    assert _shape(actual) == _shape(expected)
    if actual is not None:
        assert actual.usage_record_ids == []
    return actual


@pytest.fixture
def home(db, realm_a, create_account):
    account_id = create_account(realm_a, "pia").id
    with realm_context(realm_a.id):
        home = save_plan(spec_from_mapping(HOME, source="test"), effective_from=date(2026, 1, 1))
        fast = save_plan(spec_from_mapping(FAST, source="test"), effective_from=date(2026, 1, 1))
        db.session.commit()
        ids = {"home": home.id, "fast": fast.id}
    return realm_a, account_id, ids


def test_preview_equals_the_billing_draft_through_a_month_of_changes(db, home):
    realm, account_id, plans = home
    with realm_context(realm.id):
        assert _same(db, account_id, date(2026, 10, 20)) is None            # nothing to bill
        add_charge(account_id, description="Router", amount=D("49.90"), charge_on=date(2026, 10, 3))
        db.session.commit()
        assert _same(db, account_id, date(2026, 10, 20)).total == D("49.90")  # a charge, no plan
        subscription_id = subscribe(account_id, plan_id=plans["home"], starts_on=date(2026, 9, 12)).id
        db.session.commit()
        create_pool(name="Family", scope="account", account_id=account_id, unit="MB", size=D(250),
                    anchor=date(2026, 1, 1))
        db.session.commit()
        ingest([_event("s1", "pia", datetime(2026, 9, 20, 8, tzinfo=UTC), octets=90_000_000, seconds=600),
                _event("s2", "pia", datetime(2026, 9, 28, 23, 59, 59, tzinfo=UTC), seconds=125),
                _event("o1", "pia", datetime(2026, 10, 1, tzinfo=UTC), octets=120_000_000),
                _event("o2", "pia", datetime(2026, 10, 2, 7, tzinfo=UTC), quantity=D("3"), unit="SMS"),
                _event("o3", "pia", datetime(2026, 10, 5, 7, tzinfo=UTC), seconds=4_321, octets=7),
                _event("o4", "pia", datetime(2026, 10, 6, 7, tzinfo=UTC), octets=400_000_001,
                       quantity=D("2.5"), unit="SMS"),
                _event("n1", "pia", datetime(2026, 11, 2, tzinfo=UTC), octets=1_000_000)])
        db.session.commit()
        draft = _same(db, account_id, date(2026, 10, 20))  # September's usage arrives as late usage
        assert {line.kind for line in draft.lines} >= {"recurring", "usage", "late_usage", "quota"}
        _same(db, account_id, date(2026, 9, 30))             # the month the subscription started
        _same(db, account_id, date(2026, 11, 4))             # the next month (October's usage late)
        add_charge(account_id, description="Goodwill", amount=D("5.00"), kind="credit",
                   charge_on=date(2026, 10, 9))
        add_discount(name="Loyal", kind="percent", value="10", scope="line", line_kind="recurring",
                     valid_from=date(2026, 1, 1))
        add_discount(name="Welcome", kind="fixed", value="2.50", scope="invoice", valid_from=date(2026, 1, 1),
                     account_id=account_id)
        add_tax_rate(name="VAT", rate="19", valid_from=date(2026, 1, 1))
        db.session.commit()
        assert _same(db, account_id, date(2026, 10, 20)).tax_total > 0
        update_tax_settings(country="DE", prices_include_tax=True, tax_rounding="line")
        db.session.commit()
        _same(db, account_id, date(2026, 10, 20))
        db.session.get(Account, account_id).tax_id = "ATU12345678"
        set_buyer_tax_profile(account_id, country="AT", reverse_charge=False)
        db.session.commit()
        assert _same(db, account_id, date(2026, 10, 20)).reverse_charge
        change_plan(subscription_id, plan_id=plans["fast"], on=date(2026, 10, 16))
        db.session.commit()
        _same(db, account_id, date(2026, 10, 20))
        _same(db, account_id, date(2026, 11, 20))
        db.session.get(Account, account_id).status = "suspended"
        update_policy(grace_days=7, reminder_days="", final_warning_days=None, penalty_kind="none",
                      penalty_amount=None, penalty_days=None, suspend_days=None, bill_suspended=False)
        db.session.commit()
        _same(db, account_id, date(2026, 10, 20))
        update_policy(grace_days=7, reminder_days="", final_warning_days=None, penalty_kind="none",
                      penalty_amount=None, penalty_days=None, suspend_days=None, bill_suspended=True)
        db.session.commit()
        _same(db, account_id, date(2026, 10, 20))


def test_preview_follows_the_billing_run(db, home):
    """Usage billed in September's run is not late usage on October's preview any more."""
    realm, account_id, plans = home
    with realm_context(realm.id):
        subscribe(account_id, plan_id=plans["home"], starts_on=date(2026, 9, 1))
        db.session.commit()
        ingest([_event("a", "pia", datetime(2026, 9, 10, tzinfo=UTC), octets=300_000_000),
                _event("b", "pia", datetime(2026, 10, 10, tzinfo=UTC), octets=200_000_000)])
        db.session.commit()
        before = _same(db, account_id, date(2026, 10, 20))
        assert any(line.kind == "late_usage" for line in before.lines)
        start_billing_run("2026-09")
        db.session.commit()
        after = _same(db, account_id, date(2026, 10, 20))
        assert not any(line.kind == "late_usage" for line in after.lines)
        assert after.total < before.total


@pytest.mark.parametrize("status", ["active", "paid"])
def test_dashboard_next_invoice_and_pooled_usage_with_draws_of_this_month(db, home, status):
    """The dashboard hands the summary's pool draws to the preview when both cover this month
    (and only then: a "paid" subscription is billed but has no usage summary of its own)."""
    from app.services.quotas import absorbed_by_pools
    from app.services.selfcare import dashboard

    realm, account_id, plans = home
    now = datetime.now(UTC).replace(microsecond=0)
    today = now.date()
    with realm_context(realm.id):
        subscribe(account_id, plan_id=plans["home"], starts_on=date(2026, 1, 1), anchor_day=1, status=status)
        create_pool(name="Family", scope="account", account_id=account_id, unit="MB", size=D(250),
                    anchor=date(2026, 1, 1))
        db.session.commit()
        ingest([_event("d1", "pia", now.replace(day=1, hour=0, minute=0, second=0), octets=180_000_000,
                       seconds=5_400),
                _event("d2", "pia", now, octets=150_000_000)])
        db.session.commit()
        db.session.expunge_all()
        account = db.session.scalar(select(Account).where(Account.id == account_id))
        board = dashboard(account, today=today)
        expected = preview_invoice(account_id, on=today)
        assert (board.next_invoice_total, board.next_invoice_currency) == (expected.total, expected.currency)
        assert any(line.kind == "quota" and "pools" in line.description for line in expected.lines)
        period = board.summary.period
        if status == "active":
            assert board.summary.pooled == absorbed_by_pools(account_id, period.start, period.end) != {}
        assert (board.summary.draws is None) == (status == "paid")
