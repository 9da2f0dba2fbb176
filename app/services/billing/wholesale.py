"""Wholesale: each VISP realm's period, aggregated and billed to its owner in the parent realm.

These functions run as the *parent* realm (the one that bills). The child realm's figures
are read inside ``realm_context(child)`` (tenants/): its accounts with a subscription in the
period (the active subscribers), their traffic and connected time, count units, and what
the VISP invoiced its own subscribers. The figures are rated with the parent's wholesale
plan by the rating engine (a per-subscriber fee is a band in a ``subscriber`` unit the plan
declares; a revenue share is a band in a ``revenue`` unit, one unit per currency unit the
VISP invoiced; traffic and time are ordinary bands), and the invoice is written for the VISP
owner's account by the billing run's own invoice writer (gapless numbers, follow-ups).

Billing a (child realm, period) is idempotent: the statement row is unique per pair and
the agreement row is locked while checking for it, so a second call returns the first
statement and writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import func, select

from app.extensions import db
from app.models import Account, Invoice, Plan, Realm, UsageRecord
from app.models.wholesale import WholesaleAgreement, WholesaleStatement, WholesaleStatementLine
from app.rating.proration import Period, add_months
from app.rating.quote import FeeLine, QuotaLine, Quote, quote
from app.rating.units import is_known
from tenants import all_realms, realm_context, require_realm_id

from ..errors import NotAllowed, NotFound
from ..lookups import get_or_not_found
from ..plans import spec_of
from .draft import DraftLine, InvoiceDraft, local_midnight, realm_zone
from .run import billable_account_ids, parse_period, write_invoices
from .terms import apply_terms, load_terms

ZERO = Decimal(0)
MB = Decimal(10) ** 6
HOUR = Decimal(3600)
SUBSCRIBER_UNIT = "subscriber"
REVENUE_UNIT = "revenue"
SIX_PLACES = Decimal("0.000001")


@dataclass
class AccountFigures:
    account_id: int
    number: str
    username: str
    active: bool
    octets: int = 0
    seconds: int = 0
    retail_total: Decimal = ZERO

    @property
    def traffic_mb(self) -> Decimal:
        return (Decimal(self.octets) / MB).quantize(SIX_PLACES)

    @property
    def time_hours(self) -> Decimal:
        return (Decimal(self.seconds) / HOUR).quantize(SIX_PLACES)


@dataclass
class ChildFigures:
    """A child realm's period, as the parent bills it."""

    child_realm_id: int
    period: Period
    retail_currency: str
    accounts: list[AccountFigures] = field(default_factory=list)
    counts: dict[str, Decimal] = field(default_factory=dict)  # count units (message, kWh …)

    @property
    def active_subscribers(self) -> int:
        return sum(1 for a in self.accounts if a.active)

    @property
    def octets(self) -> int:
        return sum(a.octets for a in self.accounts)

    @property
    def seconds(self) -> int:
        return sum(a.seconds for a in self.accounts)

    @property
    def traffic_mb(self) -> Decimal:
        return (Decimal(self.octets) / MB).quantize(SIX_PLACES)

    @property
    def time_hours(self) -> Decimal:
        return (Decimal(self.seconds) / HOUR).quantize(SIX_PLACES)

    @property
    def retail_total(self) -> Decimal:
        return sum((a.retail_total for a in self.accounts), ZERO)


@dataclass
class WholesaleQuote:
    child: Realm
    agreement: WholesaleAgreement
    figures: ChildFigures
    quote: Quote
    draft: InvoiceDraft  # the rated lines with the parent realm's discounts and tax applied
    version_id: int

    @property
    def lines(self) -> list[DraftLine]:
        return self.draft.lines

    @property
    def total(self) -> Decimal:
        return self.draft.total


# ------------------------------------------------------------------ agreements
def _child_of_current(child_realm_id: int) -> Realm:
    child = db.session.get(Realm, child_realm_id)
    if child is None or child.parent_id != require_realm_id():
        raise NotFound("realm")
    return child


def set_wholesale_plan(child_realm_id: int, *, plan_id: int) -> WholesaleAgreement:
    """Bill the child realm under the current realm's plan ``plan_id`` from now on."""
    _child_of_current(child_realm_id)
    plan = get_or_not_found(Plan, plan_id, "plan")
    agreement = db.session.scalar(
        select(WholesaleAgreement).where(WholesaleAgreement.child_realm_id == child_realm_id))
    if agreement is None:
        agreement = WholesaleAgreement(child_realm_id=child_realm_id, plan_id=plan.id)
        db.session.add(agreement)
    agreement.plan_id, agreement.active = plan.id, True
    db.session.flush()
    return agreement


def child_realms() -> list[Realm]:
    """The VISP realms directly below the current realm."""
    return list(db.session.scalars(
        select(Realm).where(Realm.parent_id == require_realm_id()).order_by(Realm.slug)))


def agreements() -> dict[int, WholesaleAgreement]:
    return {a.child_realm_id: a for a in db.session.scalars(select(WholesaleAgreement))}


# ------------------------------------------------------------------ aggregation
def aggregate_child(child: Realm, period: Period) -> ChildFigures:
    """Read the child realm's period (as the child realm; writes nothing)."""
    zone = realm_zone(child)  # the child's month, as its own invoices count it
    start, end = local_midnight(period.start, zone), local_midnight(period.end, zone)
    figures = ChildFigures(child.id, period, child.currency)
    with db.session.no_autoflush, realm_context(child.id):
        billable = set(billable_account_ids(period))
        # By the child's accounts: usage_records has no realm index (migration 0018), its
        # (account_id, event_time) index finds one realm's period without a table scan.
        in_child = UsageRecord.account_id.in_(select(Account.id).scalar_subquery())
        usage = {row.account_id: row for row in db.session.execute(
            select(UsageRecord.account_id,
                   func.coalesce(func.sum(UsageRecord.bytes_in + UsageRecord.bytes_out), 0).label("octets"),
                   func.coalesce(func.sum(UsageRecord.duration_s), 0).label("seconds"))
            .where(in_child, UsageRecord.event_time >= start, UsageRecord.event_time < end)
            .group_by(UsageRecord.account_id))}
        for unit, quantity in db.session.execute(
            select(UsageRecord.unit, UsageRecord.quantity)
            .where(in_child, UsageRecord.event_time >= start, UsageRecord.event_time < end,
                   UsageRecord.unit.is_not(None), UsageRecord.quantity.is_not(None))):
            # Summed in Python: ExactDecimal is stored as minor units on SQLite.
            figures.counts[unit] = figures.counts.get(unit, ZERO) + quantity
        retail: dict[int, Decimal] = {}
        for account_id, total in db.session.execute(
            select(Invoice.account_id, Invoice.total)
            .where(Invoice.period_key == period.start.isoformat(), Invoice.kind == "invoice",
                   Invoice.status == "finalized")):
            retail[account_id] = retail.get(account_id, ZERO) + total
        accounts = db.session.execute(
            select(Account.id, Account.number, Account.username, Account.status).order_by(Account.number)).all()
    for account_id, number, username, status in accounts:
        row = usage.get(account_id)
        active = account_id in billable and status != "closed"
        if not active and row is None and account_id not in retail:
            continue  # nothing of this account in the period
        figures.accounts.append(AccountFigures(
            account_id, number, username, active,
            int(row.octets) if row else 0, int(row.seconds) if row else 0,
            retail.get(account_id, ZERO)))
    return figures


def _usage_for(figures: ChildFigures, units: tuple[str, ...], currency: str) -> dict[str, Decimal]:
    usage: dict[str, Decimal] = {"byte": Decimal(figures.octets), "second": Decimal(figures.seconds)}
    if SUBSCRIBER_UNIT in units:
        usage[SUBSCRIBER_UNIT] = Decimal(figures.active_subscribers)
    if REVENUE_UNIT in units:
        # A revenue share: the VISP's retail invoices of the period, one unit per currency unit
        # (only when both realms bill in the plan's currency: no exchange rates are guessed).
        if figures.retail_currency != currency:
            raise NotAllowed("revenue_currency_mismatch")
        usage[REVENUE_UNIT] = figures.retail_total
    for unit, quantity in figures.counts.items():
        if is_known(unit, units) and unit not in (SUBSCRIBER_UNIT, REVENUE_UNIT):
            usage[unit] = usage.get(unit, ZERO) + quantity
    return {unit: q for unit, q in usage.items() if q > 0}


def _period_of(period_text: str) -> Period:
    return parse_period(period_text)


def wholesale_quote(child_realm_id: int, period: Period) -> WholesaleQuote:
    """What the child realm owes for ``period`` under its agreement (writes nothing)."""
    child = _child_of_current(child_realm_id)
    agreement = db.session.scalar(select(WholesaleAgreement).where(
        WholesaleAgreement.child_realm_id == child.id, WholesaleAgreement.active))
    if agreement is None:
        raise NotAllowed("no_wholesale_plan")
    plan = agreement.plan
    version = plan.version_on(period.start) or plan.latest_version
    if version is None:
        raise NotFound("plan version")
    spec = spec_of(version)
    figures = aggregate_child(child, period)
    result = quote(spec, _usage_for(figures, spec.units, spec.currency))
    lines = []
    for line in result.lines:
        if isinstance(line, FeeLine):
            lines.append(DraftLine("recurring", f"{plan.name} ({child.name}): {line.explanation}",
                                   line.amount, Decimal(1), None, line.amount))
        elif isinstance(line, QuotaLine):
            lines.append(DraftLine("quota", f"{child.name}: {line.explanation}", line.amount,
                                   line.units, line.unit))
        else:
            lines.append(DraftLine("usage", f"{child.name}: {line.explanation}", line.amount,
                                   line.units, line.unit, line.price))
    draft = InvoiceDraft(child.owner_account_id or 0, result.currency, period, lines)
    if lines:
        apply_terms(draft, load_terms([draft.account_id], period), {plan.id})
    return WholesaleQuote(child, agreement, figures, result, draft, version.id)


def preview_wholesale(child_realm_id: int, period_text: str) -> WholesaleQuote:
    return wholesale_quote(child_realm_id, _period_of(period_text))


# ------------------------------------------------------------------ billing
def _lock(model, row_id: int) -> None:
    query = select(model.id).where(model.id == row_id)
    if db.session.connection().dialect.name == "postgresql":
        # NO KEY UPDATE: does not clash with the KEY SHARE locks of rows inserted meanwhile
        # that point at this one (payments, invoices), as the payments ledger does.
        query = query.with_for_update(key_share=True)
    db.session.execute(query)


def bill_wholesale(child_realm_id: int, period_text: str, *, today: date | None = None) -> WholesaleStatement:
    """Bill the child realm's ``period`` (YYYY-MM) to its owner account; once per pair."""
    period = _period_of(period_text)
    child = _child_of_current(child_realm_id)
    agreement = db.session.scalar(select(WholesaleAgreement).where(
        WholesaleAgreement.child_realm_id == child.id))
    if agreement is None or not agreement.active:
        raise NotAllowed("no_wholesale_plan")
    _lock(WholesaleAgreement, agreement.id)
    existing = db.session.scalar(select(WholesaleStatement).where(
        WholesaleStatement.child_realm_id == child.id, WholesaleStatement.period_start == period.start))
    if existing is not None:
        return existing
    if period.end > (today or datetime.now(UTC).date()):
        raise NotAllowed("period_open")
    if child.owner_account_id is None:
        raise NotAllowed("no_owner_account")
    owner = db.session.scalar(select(Account).where(Account.id == child.owner_account_id))
    if owner is None:
        raise NotAllowed("no_owner_account")
    _lock(Account, owner.id)  # one wholesale invoice of this owner at a time: we find ours below
    result = wholesale_quote(child.id, period)
    statement = WholesaleStatement(
        child_realm_id=child.id, period_start=period.start, period_end=period.end,
        plan_version_id=result.version_id, owner_account_id=owner.id,
        active_subscribers=result.figures.active_subscribers, traffic_mb=result.figures.traffic_mb,
        time_hours=result.figures.time_hours, retail_total=result.figures.retail_total,
        retail_currency=result.figures.retail_currency, currency=result.quote.currency,
        total=result.total,
        lines=[WholesaleStatementLine(
            position=i, account_id=a.account_id, account_number=a.number, username=a.username,
            active=a.active, traffic_mb=a.traffic_mb, time_hours=a.time_hours,
            retail_total=a.retail_total) for i, a in enumerate(result.figures.accounts, 1)],
    )
    if result.lines:
        parent = db.session.get(Realm, require_realm_id())
        before = db.session.scalar(select(func.max(Invoice.id)).where(Invoice.account_id == owner.id)) or 0
        draft = result.draft
        draft.notes = "\n".join(n for n in (f"Wholesale {child.slug} {period.start:%Y-%m}", draft.notes) if n)
        write_invoices([draft], realm=parent, run_id=None, period_key=None, issue_date=period.end)
        statement.invoice_id = db.session.scalar(select(Invoice.id).where(
            Invoice.account_id == owner.id, Invoice.id > before).order_by(Invoice.id.desc()))
    db.session.add(statement)
    db.session.flush()
    return statement


def due_children() -> list[int]:
    """Child realms of the current realm with an active agreement and an owner account."""
    found = agreements()
    return [c.id for c in child_realms()
            if c.id in found and found[c.id].active and c.owner_account_id is not None]


def bill_wholesale_children(period_text: str, *, child_realm_ids: list[int] | None = None,
                            progress=None) -> list[WholesaleStatement]:
    """Bill every due child realm of the current realm for ``period`` (idempotent)."""
    ids = due_children() if child_realm_ids is None else child_realm_ids
    statements = []
    for child_id in ids:
        statements.append(bill_wholesale(child_id, period_text))
        if progress:
            progress(1)
    return statements


def due_wholesale_pairs() -> list[tuple[int, int]]:
    """(parent realm, child realm) pairs with an active agreement, across all realms (scheduler)."""
    with all_realms():
        rows = db.session.execute(
            select(WholesaleAgreement.realm_id, WholesaleAgreement.child_realm_id)
            .join(Realm, Realm.id == WholesaleAgreement.child_realm_id)
            .where(WholesaleAgreement.active, Realm.owner_account_id.is_not(None), Realm.active)
            .order_by(WholesaleAgreement.realm_id, WholesaleAgreement.child_realm_id)).all()
    return [(parent, child) for parent, child in rows]


def previous_month(today: date | None = None) -> str:
    first = (today or datetime.now(UTC).date()).replace(day=1)
    return add_months(first, -1).strftime("%Y-%m")


# ------------------------------------------------------------------ reading
@dataclass
class OverviewRow:
    child: Realm
    agreement: WholesaleAgreement | None
    statement: WholesaleStatement | None


def wholesale_overview(period_text: str) -> list[OverviewRow]:
    """Per child realm: its agreement and its statement of ``period`` (if billed)."""
    period = _period_of(period_text)
    found = agreements()
    statements = {s.child_realm_id: s for s in db.session.scalars(
        select(WholesaleStatement).where(WholesaleStatement.period_start == period.start))}
    return [OverviewRow(c, found.get(c.id), statements.get(c.id)) for c in child_realms()]


def get_statement(child_realm_id: int, period_text: str) -> WholesaleStatement | None:
    period = _period_of(period_text)
    _child_of_current(child_realm_id)
    return db.session.scalar(select(WholesaleStatement).where(
        WholesaleStatement.child_realm_id == child_realm_id, WholesaleStatement.period_start == period.start))


def child_figures(child_realm_id: int, period_text: str) -> ChildFigures:
    """The child realm's figures of ``period`` as they stand now (writes nothing)."""
    return aggregate_child(_child_of_current(child_realm_id), _period_of(period_text))
