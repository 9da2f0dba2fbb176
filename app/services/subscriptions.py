"""Subscriptions (orders): subscribe, change plan mid-period, cancel, status lifecycle.

A subscription is an account's instance of one *plan version*: new subscribers get the
version in force on their start day and keep it (grandfathered) until moved
(app/services/plan_migration.py). Fee periods run from the subscription's anchor date:
its start, or the day of month given as ``anchor_day`` (the first period is then prorated
from the start to the anchor).

Plan change on day D: the old subscription ends on D (status ``ended``) and a new one on the
new plan starts on D with the same anchor. If the current fee period is invoiced already
(fees are billed in advance), the unused part of the old fee is credited and the rest of
the period on the new fee is charged as pending charges for the next invoice, both
computed by the rating engine's proration (app/rating/proration.py, cumulative rounding,
so the used and credited parts of a fee add up to the fee exactly). If it is not invoiced
yet, the next invoice simply prorates both subscriptions. Cancelling on day D works the
same way: ended at D, with a credit of the unused, already invoiced part.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import select

from app.extensions import db
from app.models import Account, Invoice, Plan, PlanVersion, Subscription
from app.models.subscription import SUBSCRIPTION_KINDS, TRANSITIONS
from app.rating.money import quantize_money
from app.rating.proration import Period, add_months, period_containing, prorate

from .billing.charges import add_charge
from .billing.draft import local_today
from .errors import FieldErrors, Invalid, NotAllowed
from .lookups import get_or_not_found

ZERO = Decimal(0)


def _today() -> date:
    return local_today()


def get_subscription(subscription_id: int) -> Subscription:
    return get_or_not_found(Subscription, subscription_id, "subscription")


def subscriptions_of(account_id: int) -> list[Subscription]:
    return list(db.session.scalars(select(Subscription).where(Subscription.account_id == account_id)
                                   .order_by(Subscription.starts_on.desc(), Subscription.id.desc())))


def _anchor(starts_on: date, anchor_day: int | None) -> date:
    if not anchor_day:
        return starts_on
    return starts_on.replace(day=min(anchor_day, _month_days(starts_on.replace(day=1))))


def _month_days(first: date) -> int:
    return (add_months(first, 1) - first).days


def subscribe(account_id: int, *, plan_id: int, starts_on: date | None = None, ends_on: date | None = None,
              kind: str = "recurring", anchor_day: int | None = None, status: str = "active") -> Subscription:
    """Order a plan for an account: the version in force on ``starts_on`` is the one it keeps."""
    errors = FieldErrors()
    account = get_or_not_found(Account, account_id, "account")
    plan = get_or_not_found(Plan, plan_id, "plan")
    starts_on = starts_on or _today()
    if kind not in SUBSCRIPTION_KINDS:
        errors.add("kind", "invalid")
    if anchor_day is not None and not 1 <= anchor_day <= 31:
        errors.add("anchor_day", "invalid")
    if ends_on is not None and ends_on <= starts_on:
        errors.add("ends_on", "before_start")
    if status not in ("ordered", "paid", "in_progress", "active"):
        errors.add("status", "invalid")
    version = plan.version_on(starts_on) or (plan.versions[0] if plan.versions else None)
    if version is None:
        errors.add("plan_id", "no_version")
    if not plan.active:
        errors.add("plan_id", "inactive")
    current = [s for s in account.subscriptions if s.status not in ("cancelled", "ended")
               and (s.ends_on is None or s.ends_on > starts_on) and s.kind == "recurring"]
    if kind == "recurring" and current:
        errors.add("plan_id", "already_subscribed")
    if current and current[0].plan_version.plan.currency != plan.currency:
        errors.add("plan_id", "currency_mismatch")
    errors.raise_if_any()
    subscription = Subscription(account_id=account.id, plan_version_id=version.id, status=status, kind=kind,
                                starts_on=starts_on, ends_on=ends_on, anchor_day=anchor_day or starts_on.day,
                                anchor_on=_anchor(starts_on, anchor_day) if anchor_day else None)
    db.session.add(subscription)
    db.session.flush()
    return subscription


def set_status(subscription_id: int, status: str) -> Subscription:
    """Move a subscription along its lifecycle (ordered → paid → in_progress → active ⇄ suspended)."""
    subscription = get_subscription(subscription_id)
    if status == subscription.status:
        return subscription
    if status not in TRANSITIONS.get(subscription.status, ()):
        raise NotAllowed("transition", f"{subscription.status} → {status}")
    if status in ("cancelled", "ended"):
        raise NotAllowed("use_cancel")
    subscription.status = status
    db.session.flush()
    return subscription


# ------------------------------------------------------------------ proration
@dataclass
class ProrationLine:
    kind: str            # "credit" (unused part of the old fee) or "charge" (rest of the period, new fee)
    description: str
    amount: Decimal
    period: Period


@dataclass
class PlanChangeQuote:
    subscription_id: int
    on: date
    currency: str
    old_plan: str
    new_plan: str | None
    invoiced: bool                      # the current fee period is on an invoice already
    lines: list[ProrationLine] = field(default_factory=list)
    fees_from: date | None = None       # recurring fees of the new subscription billed from here

    @property
    def total(self) -> Decimal:
        return quantize_money(sum((line.amount for line in self.lines), ZERO), self.currency)


def _recurring(version: PlanVersion):
    return [f for f in version.fees if f.kind == "recurring"]


def _invoiced_months(account_id: int) -> set[str]:
    return set(db.session.scalars(select(Invoice.period_key).where(
        Invoice.account_id == account_id, Invoice.kind == "invoice", Invoice.period_key.is_not(None))))


def _billed_in(fee_period: Period, billed_from: date) -> str:
    """The billing month (period key) whose invoice carries ``fee_period``."""
    return max(fee_period.start, billed_from).replace(day=1).isoformat()


def quote_plan_change(subscription: Subscription, new_version: PlanVersion | None, on: date) -> PlanChangeQuote:
    """What moving ``subscription`` to ``new_version`` on ``on`` (None: cancelling) settles now."""
    old = subscription.plan_version
    currency = old.plan.currency
    quote = PlanChangeQuote(subscription.id, on, currency, old.plan.name,
                            new_version.plan.name if new_version else None, False)
    if subscription.kind == "one_time":
        return quote
    anchor = subscription.anchor_on or subscription.starts_on
    billed_from = max(subscription.starts_on, subscription.fees_from or subscription.starts_on)
    invoiced = _invoiced_months(subscription.account_id)
    settled_until = subscription.fees_from  # paid through proration charges up to here
    for fee in _recurring(old):
        current = period_containing(anchor, fee.period, on, fee.every_days)
        paid = (settled_until is not None and on < settled_until) or \
            _billed_in(current, billed_from) in invoiced
        if not paid:
            continue  # the next invoice prorates the old and the new subscription itself
        quote.invoiced = True
        end = min(current.end, subscription.ends_on or current.end)
        credit = prorate(quantize_money(fee.amount, currency), current, on, end, currency)
        if credit:
            quote.lines.append(ProrationLine("credit", f"Unused {old.plan.name}: {on.isoformat()} "
                                                       f"to {end.isoformat()}", -credit, current))
    if new_version is not None and quote.invoiced:
        for fee in _recurring(new_version):
            current = period_containing(anchor, fee.period, on, fee.every_days)
            charge = prorate(quantize_money(fee.amount, currency), current, on, current.end, currency)
            quote.fees_from = current.end if quote.fees_from is None else min(quote.fees_from, current.end)
            if charge:
                quote.lines.append(ProrationLine("charge", f"{new_version.plan.name}: {on.isoformat()} to "
                                                           f"{current.end.isoformat()} (prorated)", charge, current))
    return quote


def _check_change(subscription: Subscription, on: date) -> None:
    if subscription.status in ("cancelled", "ended"):
        raise NotAllowed("subscription_over")
    if on < subscription.starts_on or (subscription.ends_on is not None and on >= subscription.ends_on):
        raise Invalid({"on": ["outside_subscription"]})


def preview_plan_change(subscription_id: int, *, plan_id: int, on: date | None = None) -> PlanChangeQuote:
    """Dry run of ``change_plan``: the proration it would charge and credit (writes nothing)."""
    subscription = get_subscription(subscription_id)
    on = on or _today()
    _check_change(subscription, on)
    return quote_plan_change(subscription, _target_version(subscription, plan_id, on), on)


def _target_version(subscription: Subscription, plan_id: int, on: date) -> PlanVersion:
    plan = get_or_not_found(Plan, plan_id, "plan")
    version = plan.version_on(on) or (plan.versions[0] if plan.versions else None)
    if version is None:
        raise Invalid({"plan_id": ["no_version"]})
    if version.id == subscription.plan_version_id:
        raise Invalid({"plan_id": ["same_plan"]})
    if plan.currency != subscription.plan_version.plan.currency:
        raise Invalid({"plan_id": ["currency_mismatch"]})
    return version


def change_plan(subscription_id: int, *, plan_id: int | None = None, version_id: int | None = None,
                on: date | None = None) -> Subscription:
    """Move a subscription to another plan (or plan version) on ``on``; returns the new one."""
    subscription = get_subscription(subscription_id)
    on = on or _today()
    _check_change(subscription, on)
    if version_id is not None:
        version = get_or_not_found(PlanVersion, version_id, "plan version")
        if version.id == subscription.plan_version_id:
            raise Invalid({"plan_id": ["same_plan"]})
    else:
        version = _target_version(subscription, plan_id, on)
    quote = quote_plan_change(subscription, version, on)
    _book(subscription, quote, "plan-change")
    replacement = Subscription(
        account_id=subscription.account_id, plan_version_id=version.id, status=subscription.status,
        kind=subscription.kind, starts_on=on, ends_on=subscription.ends_on, anchor_day=subscription.anchor_day,
        anchor_on=subscription.anchor_on or subscription.starts_on, previous_id=subscription.id,
        fees_from=quote.fees_from)
    subscription.ends_on = on
    subscription.status = "ended"
    db.session.add(replacement)
    db.session.flush()
    _emit_changed(subscription, replacement)
    return replacement


def cancel(subscription_id: int, *, on: date | None = None) -> Subscription:
    """End a subscription on ``on`` (today by default), crediting the unused invoiced part."""
    subscription = get_subscription(subscription_id)
    on = on or _today()
    if subscription.status in ("cancelled", "ended"):
        raise NotAllowed("subscription_over")
    if on < subscription.starts_on:
        on = subscription.starts_on
    if subscription.ends_on is not None and on >= subscription.ends_on:
        raise Invalid({"on": ["outside_subscription"]})
    quote = quote_plan_change(subscription, None, on)
    _book(subscription, quote, "cancel")
    subscription.ends_on = on
    subscription.status = "cancelled"
    db.session.flush()
    return subscription


def _book(subscription: Subscription, quote: PlanChangeQuote, what: str) -> None:
    for index, line in enumerate(quote.lines):
        add_charge(subscription.account_id, description=line.description, amount=line.amount, kind="proration",
                   source_key=f"{what}:{subscription.id}:{quote.on.isoformat()}:{index}", charge_on=quote.on,
                   currency=quote.currency)


def _emit_changed(old: Subscription, new: Subscription) -> None:
    try:
        from .events import emit
    except ImportError:  # pragma: no cover - events land with provisioning
        return
    emit("account.plan_changed", account=db.session.get(Account, old.account_id),
         data={"from_version_id": old.plan_version_id, "to_version_id": new.plan_version_id,
               "subscription_id": new.id, "on": new.starts_on.isoformat()})
