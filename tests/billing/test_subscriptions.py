"""Subscriptions: lifecycle, mid-period plan changes with proration, cancelling, plan
versions (grandfathering) and the bulk migration with its per-account preview."""

from datetime import UTC, date, datetime
from decimal import Decimal as D

import pytest
from sqlalchemy import select

from app.models import Charge, Invoice, Subscription
from app.services.billing.run import preview_invoice, start_billing_run
from app.services.errors import Invalid, NotAllowed
from app.services.plan_migration import migrate_subscribers, preview_migration
from app.services.plans import save_plan, spec_from_mapping
from app.services.subscriptions import (
    cancel,
    change_plan,
    preview_plan_change,
    set_status,
    subscribe,
)
from app.services.usage.ingest import ingest
from tenants import realm_context

from .test_billing_runs import DIALUP, call

BASIC = {**DIALUP, "code": "basic", "name": "Basic",
         "fees": [{"kind": "setup", "amount": "10.00"}, {"kind": "recurring", "period": "monthly", "amount": "31.00"}]}
PLUS = {**DIALUP, "code": "plus", "name": "Plus", "fees": [{"kind": "recurring", "period": "monthly", "amount": "62.00"}]}


@pytest.fixture
def plans(db, realm_a):
    with realm_context(realm_a.id):
        basic = save_plan(spec_from_mapping(BASIC, source="t"), effective_from=date(2020, 1, 1))
        plus = save_plan(spec_from_mapping(PLUS, source="t"), effective_from=date(2020, 1, 1))
        db.session.commit()
        return basic.id, plus.id


def _lines(draft):
    return [(line.kind, line.amount) for line in draft.lines]


def test_subscribe_with_an_anchor_day_prorates_the_first_period(db, realm_a, create_account, plans):
    account_id = create_account(realm_a).id
    with realm_context(realm_a.id):
        sub = subscribe(account_id, plan_id=plans[0], starts_on=date(2026, 10, 16), anchor_day=1)
        assert (sub.status, sub.kind, sub.anchor_on) == ("active", "recurring", date(2026, 10, 1))
        # 16 of 31 days of October, then November in full on November's invoice.
        assert _lines(preview_invoice(account_id, on=date(2026, 10, 20))) == [("setup", D("10.00")), ("recurring", D("16.00"))]
        assert _lines(preview_invoice(account_id, on=date(2026, 11, 2))) == [("recurring", D("31.00"))]
        with pytest.raises(Invalid) as caught:
            subscribe(account_id, plan_id=plans[1], starts_on=date(2026, 11, 1))
        assert caught.value.errors == {"plan_id": ["already_subscribed"]}


def test_lifecycle_transitions_are_checked(db, realm_a, create_account, plans):
    account_id = create_account(realm_a).id
    with realm_context(realm_a.id):
        sub = subscribe(account_id, plan_id=plans[0], starts_on=date(2026, 10, 1), status="ordered")
        assert preview_invoice(account_id, on=date(2026, 10, 2)) is None  # ordered: nothing billed yet
        set_status(sub.id, "paid")
        set_status(sub.id, "active")
        set_status(sub.id, "suspended")
        with pytest.raises(NotAllowed):
            set_status(sub.id, "ordered")
        set_status(sub.id, "active")
        cancel(sub.id, on=date(2026, 10, 11))
        with pytest.raises(NotAllowed):
            set_status(sub.id, "active")
        assert _lines(preview_invoice(account_id, on=date(2026, 10, 2))) == [("setup", D("10.00")), ("recurring", D("10.00"))]


def test_plan_change_before_the_invoice_prorates_both_plans_on_it(db, realm_a, create_account, plans):
    account_id = create_account(realm_a).id
    with realm_context(realm_a.id):
        sub = subscribe(account_id, plan_id=plans[0], starts_on=date(2026, 10, 1))
        quote = preview_plan_change(sub.id, plan_id=plans[1], on=date(2026, 10, 11))
        assert not quote.invoiced and quote.lines == []
        new = change_plan(sub.id, plan_id=plans[1], on=date(2026, 10, 11))
        assert (new.previous_id, new.anchor_on, new.starts_on) == (sub.id, date(2026, 10, 1), date(2026, 10, 11))
        assert sub.status == "ended"
        # Basic 1-11 Oct (10 of 31 days) + Plus 11 Oct-1 Nov (21 of 31 days): no second setup fee.
        assert _lines(preview_invoice(account_id, on=date(2026, 10, 20))) == [
            ("setup", D("10.00")), ("recurring", D("10.00")), ("recurring", D("42.00"))]


def test_plan_change_after_the_invoice_credits_unused_and_charges_new(db, realm_a, create_account, plans):
    account_id = create_account(realm_a).id
    with realm_context(realm_a.id):
        sub = subscribe(account_id, plan_id=plans[0], starts_on=date(2026, 10, 1))
        db.session.commit()
        start_billing_run("2026-10")
        db.session.commit()
        quote = preview_plan_change(sub.id, plan_id=plans[1], on=date(2026, 10, 11))
        assert quote.invoiced and [(line.kind, line.amount) for line in quote.lines] == [
            ("credit", D("-21.00")), ("charge", D("42.00"))]
        assert db.session.scalar(select(Charge.id)) is None  # the preview wrote nothing
        new = change_plan(sub.id, plan_id=plans[1], on=date(2026, 10, 11))
        assert new.fees_from == date(2026, 11, 1)
        db.session.commit()
        november = preview_invoice(account_id, on=date(2026, 11, 5))
        assert _lines(november) == [("recurring", D("62.00")), ("proration", D("-21.00")), ("proration", D("42.00"))]
        start_billing_run("2026-11")
        db.session.commit()
        totals = [i.total for i in db.session.scalars(select(Invoice).order_by(Invoice.sequence))]
        assert totals == [D("41.00"), D("83.00")]
        # Cancelling the new plan mid-November credits the rest of November.
        cancel(new.id, on=date(2026, 11, 16))
        db.session.commit()
        assert _lines(preview_invoice(account_id, on=date(2026, 12, 1))) == [("proration", D("-31.00"))]


def test_price_change_grandfathers_and_migration_previews_each_account(db, realm_a, create_account, plans):
    heavy = create_account(realm_a, "heavy").id
    light = create_account(realm_a, "light").id
    with realm_context(realm_a.id):
        subscribe(heavy, plan_id=plans[0], starts_on=date(2026, 9, 1))
        subscribe(light, plan_id=plans[0], starts_on=date(2026, 9, 1))
        ingest([call("h1", "heavy", 6000, datetime(2026, 9, 10, tzinfo=UTC))])  # 100 minutes in September
        raised = save_plan(spec_from_mapping({**BASIC, "fees": [{"kind": "recurring", "period": "monthly",
                                                                  "amount": "35.00"}],
                                              "bands": [{"unit": "minute", "max_usage": "0", "price": "0.04"}]},
                                             source="t"), effective_from=date(2026, 10, 1))
        db.session.commit()
        assert [v.number for v in raised.versions] == [1, 2]
        # Existing subscribers keep version 1; a new subscriber gets version 2.
        newcomer = create_account(realm_a, "newcomer").id
        assert subscribe(newcomer, plan_id=plans[0], starts_on=date(2026, 10, 5)).plan_version.number == 2
        assert _lines(preview_invoice(light, on=date(2026, 10, 2))) == [("recurring", D("31.00"))]
        preview = preview_migration(plans[0], on=date(2026, 10, 1))
        rows = {row.account_name: (row.from_version, row.old_amount, row.new_amount) for row in preview.rows}
        assert rows == {"Heavy": (1, D("36.00"), D("39.00")), "Light": (1, D("31.00"), D("35.00"))}
        assert db.session.scalar(select(Subscription.id).where(Subscription.previous_id.is_not(None))) is None
        moved = migrate_subscribers(plans[0], to_version_id=preview.to_version_id, on=date(2026, 10, 1))
        db.session.commit()
        assert moved == 2
        assert _lines(preview_invoice(light, on=date(2026, 10, 2))) == [("recurring", D("35.00"))]
        assert preview_migration(plans[0], on=date(2026, 10, 1)).rows == []
