"""What an account owes for a billing period: the one computation behind previews and runs.

Periods are calendar months of the realm (``[first day, first day of next month)``) in the
realm's time zone: usage belongs to the month of its local time, and "today" is the
realm's local date.
Recurring fees are billed in advance for each fee period (anchored on the subscription's
anchor date, its start by default) that begins in the billing month, prorated by days when
the subscription starts or ends inside it (app/rating/proration.py); setup and one-time
fees when the subscription starts in the month. Usage of the month is rated with the plan
version of the account's current subscription after the quota pools took their share;
usage from earlier months that no invoice has carried yet is rated as *late usage* on this
invoice, never by editing an old one. Pending charges due by the end of the period are
carried, then discounts apply, then tax (app/services/billing/terms.py).

``draft_invoices`` works on a whole chunk of accounts with a fixed number of queries
(subscriptions, usage, pools, charges, tax profiles, discounts: one each), so a run of
100,000 accounts issues a few hundred queries, not a few per account. A preview is the
same function on a chunk of one, so preview and run cannot disagree.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import ARRAY, Integer, any_, bindparam, select
from sqlalchemy.orm import joinedload

from app.extensions import db
from app.models import (
    Account,
    Charge,
    PlanVersion,
    QuotaBalance,
    QuotaDraw,
    QuotaPool,
    Realm,
    Subscription,
    UsageRecord,
)
from app.models.settings_stamp import KeptSettings
from app.rating.money import quantize_money
from app.rating.proration import Period, add_months, period_containing, prorate
from app.rating.quote import QuotaLine, compile_plan, rate_usage
from app.rating.units import UnitError, lookup
from tenants import require_realm_id

from ..collections import bills_suspended_accounts
from ..plans import spec_of
from .terms import RealmTerms, apply_terms, load_terms

ZERO = Decimal(0)
BASE_UNITS = {"data": "byte", "time": "second"}
DISPLAY_UNITS = {"byte": ("MB", Decimal(10) ** 6), "second": ("hour", Decimal(3600))}
SIX_PLACES = Decimal("0.000001")
PERIOD_WORDS = {"monthly": "month", "quarterly": "quarter", "annual": "year"}
IN_CHUNK = 5000  # ids per IN (...) list


@dataclass
class DraftLine:
    kind: str
    description: str
    amount: Decimal
    quantity: Decimal | None = None
    unit: str | None = None
    unit_price: Decimal | None = None


@dataclass
class InvoiceDraft:
    account_id: int
    currency: str
    period: Period
    lines: list[DraftLine] = field(default_factory=list)
    usage_record_ids: list[int] = field(default_factory=list)
    charge_ids: list[int] = field(default_factory=list)
    tax_total: Decimal = ZERO
    tax_rate: Decimal | None = None
    prices_include_tax: bool = False
    reverse_charge: bool = False
    buyer_tax_id: str | None = None
    notes: str | None = None

    @property
    def total(self) -> Decimal:
        return quantize_money(sum((line.amount for line in self.lines), ZERO), self.currency)

    @property
    def subtotal(self) -> Decimal:
        """The total before tax (net)."""
        return self.total - self.tax_total


@dataclass(frozen=True, slots=True)
class SubscriptionRow:
    """What billing needs of a subscription, loaded without ORM identity overhead."""

    id: int
    account_id: int
    plan_version_id: int
    status: str
    kind: str
    starts_on: date
    ends_on: date | None
    anchor_on: date | None
    fees_from: date | None
    previous_id: int | None


def realm_zone(realm: Realm | None = None) -> ZoneInfo:
    realm = realm or db.session.get(Realm, require_realm_id())
    try:
        return ZoneInfo(realm.timezone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def local_today(realm: Realm | None = None) -> date:
    """Today in the realm's time zone: what "this month" means to its staff and customers."""
    return datetime.now(realm_zone(realm)).date()


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    """The instant a local day begins (periods of usage are local days, not UTC days)."""
    return datetime.combine(day, time(), tzinfo=zone)


def month_period(text_or_day: str | date) -> Period:
    if isinstance(text_or_day, str):
        year, month = (int(part) for part in text_or_day.split("-"))
        first = date(year, month, 1)
    else:
        first = text_or_day.replace(day=1)
    return Period(first, add_months(first, 1))


def _active_in(subscription, period: Period) -> bool:
    return (subscription.status not in ("ordered", "cancelled") or subscription.ends_on is not None) and \
        subscription.starts_on < period.end and (subscription.ends_on is None or subscription.ends_on > period.start)


def id_in(column, ids: list[int]):
    """``column IN ids``: one array parameter on PostgreSQL (no query text per list length)."""
    if db.session.connection().dialect.name == "postgresql":
        return column == any_(bindparam(None, list(ids), type_=ARRAY(Integer)))
    return column.in_(ids)


def _in_chunks(ids: list[int]):
    for start in range(0, len(ids), IN_CHUNK):
        yield ids[start:start + IN_CHUNK]


class _Version:
    """A plan version compiled once per chunk: spec, rating rules, late-usage rules."""

    __slots__ = ("compiled", "currency", "fees", "late", "name", "plan_id", "spec")

    def __init__(self, version: PlanVersion) -> None:
        self.spec = spec_of(version)
        self.compiled = compile_plan(self.spec)
        self.late = compile_plan(replace(self.spec, quotas=()))
        self.name = version.plan.name
        self.currency = version.plan.currency
        self.plan_id = version.plan_id
        self.fees = [(f.kind, f.amount, f.period, f.every_days) for f in version.fees]


class ChunkData:
    """Everything the drafts of a chunk of accounts need, loaded in a few bulk queries."""

    def __init__(self, account_ids: list[int], period: Period, *, realm: Realm | None = None) -> None:
        self.period = period
        self.realm = realm or db.session.get(Realm, require_realm_id())
        self.zone = realm_zone(self.realm)
        self.subscriptions: dict[int, list[SubscriptionRow]] = defaultdict(list)
        self.usage: dict[int, list[tuple]] = defaultdict(list)
        self.pools: dict[int, dict[str, Decimal]] = defaultdict(dict)
        self.charges: dict[int, list[tuple]] = defaultdict(list)
        self.versions: dict[int, _Version] = {}
        self.fee_lines: dict[tuple, tuple[DraftLine, ...]] = {}
        self.without_fees: set[int] = set()  # suspended accounts, unless the realm bills them
        ids = sorted(set(account_ids))
        for part in _in_chunks(ids):
            self._load(part)
        if ids and not bills_suspended_accounts():
            for part in _in_chunks(ids):
                self.without_fees.update(db.session.scalars(select(Account.id).where(
                    id_in(Account.id, part), Account.status == "suspended")))
        self._load_versions()
        self.terms: RealmTerms = load_terms(ids, period)

    def _load(self, ids: list[int]) -> None:
        period = self.period
        for row in db.session.execute(
            select(Subscription.id, Subscription.account_id, Subscription.plan_version_id,
                   Subscription.status, Subscription.kind, Subscription.starts_on, Subscription.ends_on,
                   Subscription.anchor_on, Subscription.fees_from, Subscription.previous_id)
            .where(id_in(Subscription.account_id, ids), Subscription.starts_on < period.end,
                   (Subscription.ends_on.is_(None)) | (Subscription.ends_on > period.start))
            .order_by(Subscription.account_id, Subscription.id)
        ):
            self.subscriptions[row.account_id].append(SubscriptionRow(*row))
        end = local_midnight(period.end, self.zone)
        for row in db.session.execute(
            select(UsageRecord.account_id, UsageRecord.id, UsageRecord.event_time,
                   UsageRecord.bytes_in + UsageRecord.bytes_out, UsageRecord.duration_s,
                   UsageRecord.quantity, UsageRecord.unit)
            .where(id_in(UsageRecord.account_id, ids), UsageRecord.invoice_id.is_(None),
                   UsageRecord.event_time < end)
            .order_by(UsageRecord.id)
        ):
            self.usage[row[0]].append(row[1:])
        for account_id, unit_name, quantity in db.session.execute(
            select(QuotaDraw.account_id, QuotaPool.unit, QuotaDraw.quantity)
            .join(QuotaBalance, QuotaBalance.id == QuotaDraw.balance_id)
            .join(QuotaPool, QuotaPool.id == QuotaBalance.pool_id)
            .where(id_in(QuotaDraw.account_id, ids), QuotaBalance.period_start >= period.start,
                   QuotaBalance.period_start < period.end)
        ):
            unit = lookup(unit_name)
            target = BASE_UNITS.get(unit.dimension, unit.name)
            totals = self.pools[account_id]
            totals[target] = totals.get(target, ZERO) + quantity * unit.size
        for row in db.session.execute(
            select(Charge.account_id, Charge.id, Charge.kind, Charge.description, Charge.quantity,
                   Charge.unit, Charge.unit_price, Charge.amount)
            .where(id_in(Charge.account_id, ids), Charge.status == "pending", Charge.charge_on < period.end)
            .order_by(Charge.charge_on, Charge.id)
        ):
            self.charges[row[0]].append(row[1:])

    def _load_versions(self) -> None:
        wanted = {s.plan_version_id for subs in self.subscriptions.values() for s in subs}
        if wanted:
            self.versions.update(read_versions(wanted))


def read_versions(version_ids) -> dict[int, _Version]:
    """The plan versions compiled, in one statement (a chunk uses few versions, each with a
    handful of fees, bands and quotas)."""
    versions = db.session.scalars(
        select(PlanVersion).where(id_in(PlanVersion.id, sorted(version_ids))).options(
            joinedload(PlanVersion.plan), joinedload(PlanVersion.fees),
            joinedload(PlanVersion.bands), joinedload(PlanVersion.quotas))
    ).unique().all()
    return {version.id: _Version(version) for version in versions}


_KEPT = KeptSettings()  # (plan version id,) -> the compiled version


def kept_versions(realm: Realm, version_ids) -> dict[int, _Version]:
    """``read_versions`` for a page view, reading only the versions not kept under the realm's
    current ``settings_version`` (raised by every change of a plan, models/settings_stamp.py)."""
    found = {i: kept for i in version_ids if (kept := _KEPT.find(db.session, realm, (i,))) is not None}
    missing = set(version_ids) - set(found)
    if missing:
        for i, version in read_versions(missing).items():
            found[i] = _KEPT.keep(db.session, realm, (i,), version)
    return found


def draft_invoices(account_ids: list[int], period: Period, *, realm: Realm | None = None,
                   data: ChunkData | None = None) -> list[InvoiceDraft]:
    """The invoices the accounts would get for ``period`` now (accounts owing nothing left out)."""
    data = data or ChunkData(account_ids, period, realm=realm)
    drafts = []
    for account_id in account_ids:
        draft = _draft_one(account_id, data)
        if draft is not None:
            drafts.append(draft)
    return drafts


def draft_invoice(account: Account, period: Period) -> InvoiceDraft | None:
    """The invoice ``account`` would get for ``period`` now; None when it owes nothing."""
    drafts = draft_invoices([account.id], period)
    return drafts[0] if drafts else None


def _draft_one(account_id: int, data: ChunkData) -> InvoiceDraft | None:
    period = data.period
    subscriptions = [s for s in data.subscriptions.get(account_id, ()) if _active_in(s, period)]
    charges = data.charges.get(account_id, ())
    if not subscriptions and not charges:
        return None
    if subscriptions:
        current = max(subscriptions, key=lambda s: (s.starts_on, s.id))
        currency = data.versions[current.plan_version_id].currency
    else:
        current, currency = None, data.realm.currency
    draft = InvoiceDraft(account_id, currency, period)
    for subscription in subscriptions if account_id not in data.without_fees else ():
        # Subscriptions with the same terms get the same fee lines: computed once per chunk.
        key = (subscription.plan_version_id, subscription.kind, subscription.starts_on, subscription.ends_on,
               subscription.anchor_on, subscription.fees_from, subscription.previous_id is not None, currency)
        lines = data.fee_lines.get(key)
        if lines is None:
            fees = InvoiceDraft(account_id, currency, period)
            _fees(fees, subscription, data.versions[subscription.plan_version_id], period)
            lines = data.fee_lines[key] = tuple(fees.lines)
        draft.lines.extend(lines)
    if current is not None:
        _usage(draft, data, account_id, data.versions[current.plan_version_id], period)
    for charge_id, kind, description, quantity, unit, unit_price, amount in charges:
        draft.lines.append(DraftLine(kind, description, quantize_money(amount, currency), quantity, unit,
                                     unit_price))
        draft.charge_ids.append(charge_id)
    plan_ids = {data.versions[s.plan_version_id].plan_id for s in subscriptions}
    apply_terms(draft, data.terms, plan_ids)
    return draft


def _fees(draft: InvoiceDraft, subscription: SubscriptionRow, version: _Version, period: Period) -> None:
    plan_name = version.name
    currency = draft.currency
    starts, ends = subscription.starts_on, subscription.ends_on
    changed = subscription.previous_id is not None
    for kind, fee_amount, fee_period_name, every_days in version.fees:
        amount = quantize_money(fee_amount, currency)
        if kind in ("setup", "one_time"):
            # A plan change is no new sign-up: no setup fee for the replacing subscription.
            if starts in period and not (changed and kind == "setup"):
                label = "Setup fee" if kind == "setup" else "One-time fee"
                draft.lines.append(DraftLine(kind, f"{label}: {plan_name}", amount, Decimal(1), None, amount))
            continue
        if subscription.kind == "one_time":
            continue
        # Recurring: every fee period that begins inside the billing month is billed now.
        anchor = subscription.anchor_on or starts
        billed_from = max(starts, subscription.fees_from or starts)
        if ends is not None and billed_from >= ends:
            continue
        # A fee period is billed in the month where it starts to be owed: its start, or the
        # subscription's first billable day when that falls inside it.
        fee_period = period_containing(anchor, fee_period_name, max(period.start, billed_from), every_days)
        if max(fee_period.start, billed_from) < period.start:
            fee_period = period_containing(anchor, fee_period_name, fee_period.end, every_days)
        while fee_period.start < period.end:
            if ends is not None and fee_period.start >= ends:
                break
            charged = prorate(amount, fee_period, max(billed_from, fee_period.start),
                              min(ends or fee_period.end, fee_period.end), currency)
            unit = PERIOD_WORDS.get(fee_period_name, f"{every_days} days")
            partial = "" if charged == amount else " (prorated)"
            draft.lines.append(DraftLine(
                "recurring", f"{plan_name}: {fee_period.start.isoformat()} to "
                             f"{fee_period.end.isoformat()}, one {unit}{partial}",
                charged, Decimal(1), None, charged))
            fee_period = period_containing(anchor, fee_period_name, fee_period.end, every_days)


def _usage(draft: InvoiceDraft, data: ChunkData, account_id: int, version: _Version, period: Period) -> None:
    rows = data.usage.get(account_id)
    if not rows:
        return
    start = local_midnight(period.start, data.zone)
    current: dict[str, Decimal] = {}
    late: dict[str, Decimal] = {}
    for record_id, moment, octets, seconds, quantity, unit in rows:
        bucket = current if moment >= start else late
        # Exact base units: the rating engine converts once, to the plan's band units.
        if octets:
            bucket["byte"] = bucket.get("byte", ZERO) + octets
        if seconds:
            bucket["second"] = bucket.get("second", ZERO) + seconds
        if unit and quantity is not None:
            bucket[unit] = bucket.get(unit, ZERO) + quantity
        draft.usage_record_ids.append(record_id)
    compiled = version.compiled
    for unit, quantity in data.pools.get(account_id, {}).items():
        if unit in current:
            current[unit] = max(ZERO, current[unit] - quantity)
            shown, shown_unit = _display(quantity, unit)
            draft.lines.append(DraftLine("quota", f"Covered by quota pools: {shown.normalize():f} {shown_unit}",
                                         quantize_money(ZERO, draft.currency), shown, shown_unit))
    _rated_lines(draft, compiled, _known(current, compiled), "usage")
    if late:
        # Late usage is rated on its own: its month's included units were given on that
        # month's invoice already.
        _rated_lines(draft, version.late, _known(late, compiled), "late_usage")


def _display(quantity: Decimal, unit: str) -> tuple[Decimal, str]:
    """A base-unit quantity as shown on an invoice line (MB, hours), to the column's scale."""
    shown = DISPLAY_UNITS.get(unit)
    if shown is None:
        return quantity.quantize(SIX_PLACES), unit
    return (quantity / shown[1]).quantize(SIX_PLACES), shown[0]


def _known(usage: dict[str, Decimal], compiled) -> dict[str, Decimal]:
    known = {}
    for unit, quantity in usage.items():
        try:
            lookup(unit, compiled.spec.units)
        except UnitError:
            continue
        if quantity > 0:
            known[unit] = quantity
    return known


def _rated_lines(draft, compiled, usage, kind) -> None:
    if not usage:
        return
    for line in rate_usage(compiled, usage):
        if isinstance(line, QuotaLine):
            draft.lines.append(DraftLine("quota", line.explanation, line.amount, _six(line.units), line.unit))
            continue
        prefix = "late usage, " if kind == "late_usage" else ""
        draft.lines.append(DraftLine(kind, prefix + line.explanation, line.amount, _six(line.units),
                                     line.unit, _six(line.price)))


def _six(value: Decimal | None) -> Decimal | None:
    """Quantities and prices as stored (six decimal places); amounts are rated exactly."""
    return None if value is None else value.quantize(SIX_PLACES)
