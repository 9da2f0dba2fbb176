"""Suspended accounts get no recurring fees unless the realm says so; charges still bill."""

from datetime import date
from decimal import Decimal

from app.services.accounts import suspend_account
from app.services.billing.charges import add_charge
from app.services.billing.draft import draft_invoices, month_period
from app.services.collections import get_policy, update_policy
from app.services.plans import import_plan
from app.services.subscriptions import subscribe
from tenants import realm_context

PLAN = """
code: flat
name: Flat
currency: USD
fees:
  - {kind: recurring, period: monthly, amount: "30.00"}
"""


def _kinds(db, realm, account_id):
    drafts = draft_invoices([account_id], month_period(date.today()))
    return [(line.kind, line.amount) for draft in drafts for line in draft.lines]


def test_suspended_accounts_skip_recurring_fees_unless_the_realm_bills_them(db, realm_a, create_account):
    account_id = create_account(realm_a, "sus").id
    with realm_context(realm_a.id):
        plan = import_plan(PLAN, source="test")
        db.session.flush()
        subscribe(account_id, plan_id=plan.id, starts_on=date(2026, 4, 1))
        add_charge(account_id, description="Late fee", amount=Decimal("5.00"), kind="penalty",
                   source_key="penalty:test")
        db.session.flush()
        assert ("recurring", Decimal("30.00")) in _kinds(db, realm_a, account_id)
        suspend_account(account_id, reason="overdue")
        db.session.flush()
        assert _kinds(db, realm_a, account_id) == [("penalty", Decimal("5.00"))]
        policy = get_policy()
        update_policy(grace_days=policy.grace_days, reminder_days="7", final_warning_days=None,
                      penalty_kind="none", penalty_amount=None, penalty_days=None, suspend_days=None,
                      bill_suspended=True)
        db.session.flush()
        assert ("recurring", Decimal("30.00")) in _kinds(db, realm_a, account_id)
