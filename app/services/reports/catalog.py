"""The built-in reports. Each reads with a few grouped queries (no query per row).

Traffic is reported in decimal units (1 MB = 10^6 bytes, as the rating engine counts it),
connected time in hours or minutes. Usage reports read the daily rollups
(app/services/usage/rollups.py: per account and per cost centre, plus the deltas not folded
yet), never ``usage_records``; their days are UTC days of the records' event time (when the
usage was measured up to), as in billing and the usage summary. Usage by cost centre counts
each day's usage under the centre the account was in when it was folded (``realmbill usage
rollups rebuild`` re-attributes history after moving accounts). Revenue counts finalized
invoices by issue date, net of credit notes; an invoice's plan is the plan of the account's
subscription at the invoice's period start (accounts without one show as "no plan").
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import UTC, datetime, time
from decimal import Decimal

from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    Account,
    CostCentre,
    Invoice,
    Plan,
    PlanVersion,
    Realm,
    Subscription,
)
from app.services.usage.rollups import top_accounts, usage_by_centre
from app.services.usage.rollups import usage_by_account as rollup_by_account
from tenants import all_realms

from . import Column, Filters, ReportResult, _l, report

ZERO = Decimal(0)
UNIT_DIVISORS = {"MB": ("bytes", Decimal(10) ** 6), "GB": ("bytes", Decimal(10) ** 9),
                 "hour": ("seconds", Decimal(3600)), "minute": ("seconds", Decimal(60))}


def _moment(day, end=False):
    return datetime.combine(day, time.max if end else time.min, UTC) if day else None


def _in_range(column, filters: Filters, *, is_datetime=True):
    conditions = []
    if filters.since:
        conditions.append(column >= (_moment(filters.since) if is_datetime else filters.since))
    if filters.until:
        conditions.append(column <= (_moment(filters.until, True) if is_datetime else filters.until))
    return conditions


def _raw(totals, filters: Filters) -> int:
    """Bytes (in + out) or seconds of a rollup sum, as the report's unit counts."""
    return totals.octets if UNIT_DIVISORS[filters.unit][0] == "bytes" else totals.duration_s


def _in_unit(raw, filters: Filters) -> Decimal:
    return (Decimal(int(raw or 0)) / UNIT_DIVISORS[filters.unit][1]).quantize(Decimal("0.001"))


# ---------------------------------------------------------------- revenue
def _plan_names(account_ids) -> dict[int, list[tuple]]:
    rows = db.session.execute(
        select(Subscription.account_id, Subscription.starts_on, Plan.name)
        .join(PlanVersion, PlanVersion.id == Subscription.plan_version_id)
        .join(Plan, Plan.id == PlanVersion.plan_id)
        .where(Subscription.account_id.in_(account_ids))
        .order_by(Subscription.starts_on)
    )
    plans: dict[int, list[tuple]] = defaultdict(list)
    for account_id, starts_on, name in rows:
        plans[account_id].append((starts_on, name))
    return plans


def _plan_on(plans, account_id, day) -> str:
    name = str(_l("no plan"))
    for starts_on, plan_name in plans.get(account_id, []):
        if day is None or starts_on <= day:
            name = plan_name
    return name


def _revenue_rows(filters: Filters):
    query = (select(Invoice.realm_id, Invoice.account_id, Invoice.kind, Invoice.issue_date,
                    Invoice.period_start, Invoice.currency, Invoice.subtotal, Invoice.tax_total,
                    Invoice.total)
             .where(Invoice.status == "finalized", *_in_range(Invoice.issue_date, filters, is_datetime=False)))
    return db.session.execute(query).all()


@report("revenue", _l("Revenue by period and plan"),
        _l("Finalized invoices by month of issue and plan, net of credit notes."), shortcut="r")
def revenue(filters: Filters) -> ReportResult:
    rows = _revenue_rows(filters)
    plans = _plan_names({r.account_id for r in rows})
    groups: dict[tuple, dict] = {}
    for r in rows:
        sign = -1 if r.kind == "credit_note" else 1
        month = r.issue_date.strftime("%Y-%m") if r.issue_date else ""
        plan = _plan_on(plans, r.account_id, r.period_start)
        group = groups.setdefault((month, plan, r.currency), {
            "month": month, "plan": plan, "currency": r.currency, "invoices": 0,
            "net": ZERO, "tax": ZERO, "total": ZERO, "label": f"{month} · {plan}"})
        group["invoices"] += 1 if sign > 0 else 0
        group["net"] += sign * r.subtotal
        group["tax"] += sign * r.tax_total
        group["total"] += sign * r.total
    ordered = sorted(groups.values(), key=lambda g: (g["month"], g["plan"], g["currency"]))
    return ReportResult(
        columns=[Column("month", _l("Month")), Column("plan", _l("Plan")),
                 Column("currency", _l("Currency")), Column("invoices", _l("Invoices"), "number"),
                 Column("net", _l("Net"), "money"), Column("tax", _l("Tax"), "money"),
                 Column("total", _l("Total"), "money")],
        rows=ordered, chart_label="label", chart_value="total", totals=_money_totals(ordered, "total"))


def _money_totals(rows, key) -> dict:
    totals: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for row in rows:
        totals[row.get("currency", "")] += row[key]
    return dict(totals)


# ---------------------------------------------------------------- invoices and aging
@report("aging", _l("Invoices and aging"),
        _l("Open amounts per account in the buckets current, 1–30, 31–60, 61–90 and 90+ days overdue."),
        shortcut="a", filters=())
def aging(filters: Filters) -> ReportResult:
    from app.services.collections import BUCKETS, aging_report

    result = aging_report(today=filters.as_of)
    rows = [{"account": row.number, "name": row.name, "currency": row.currency,
             **{bucket: row.buckets[bucket] for bucket in BUCKETS}, "total": row.total}
            for row in result.rows]
    labels = {"current": _l("current"), "1-30": "1–30", "31-60": "31–60", "61-90": "61–90",
              "90+": "90+"}
    return ReportResult(
        columns=[Column("account", _l("Account")), Column("name", _l("Name")),
                 Column("currency", _l("Currency")),
                 *(Column(b, labels.get(b, b), "money") for b in BUCKETS),
                 Column("total", _l("Total"), "money")],
        rows=rows, chart_label="name", chart_value="total", totals=_money_totals(rows, "total"))


# ---------------------------------------------------------------- payments
@report("payments", _l("Payments by gateway"),
        _l("Payments received per gateway and currency, with refunds."), shortcut="p")
def payments(filters: Filters) -> ReportResult:
    from app.models.payment import Payment

    query = (select(Payment.gateway, Payment.currency, func.count(Payment.id),
                    func.sum(Payment.amount), func.sum(Payment.refunded_amount))
             .where(Payment.status.in_(("succeeded", "partially_refunded", "refunded")),
                    *_in_range(Payment.received_at, filters))
             .group_by(Payment.gateway, Payment.currency).order_by(Payment.gateway, Payment.currency))
    rows = [{"gateway": gateway, "currency": currency, "payments": count, "amount": amount or ZERO,
             "refunded": refunded or ZERO, "net": (amount or ZERO) - (refunded or ZERO)}
            for gateway, currency, count, amount, refunded in db.session.execute(query)]
    return ReportResult(
        columns=[Column("gateway", _l("Gateway")), Column("currency", _l("Currency")),
                 Column("payments", _l("Payments"), "number"), Column("amount", _l("Received"), "money"),
                 Column("refunded", _l("Refunded"), "money"), Column("net", _l("Net"), "money")],
        rows=rows, chart_label="gateway", chart_value="net", totals=_money_totals(rows, "net"))


# ---------------------------------------------------------------- usage
_UTC_DAYS = _l("Days are UTC days of the usage's event time.")


class _Sentences:
    """Sentences translated one by one and shown as one text (a report's description)."""

    def __init__(self, *parts) -> None:
        self.parts = parts

    def __str__(self) -> str:
        return " ".join(str(part) for part in self.parts)


def _usage_by_account(filters: Filters) -> dict[int, int]:
    usage = rollup_by_account(since=filters.since, until=filters.until)
    return {account_id: _raw(totals, filters) for account_id, totals in usage.items()}


def _centre_columns(filters: Filters) -> list[Column]:
    return [Column("centre", _l("Cost centre")), Column("code", _l("Code")),
            Column("children", _l("Parts"), "number"),
            Column("usage", _l("Usage (%(unit)s)", unit=filters.unit), "number")]


@report("usage_cost_centres", _l("Usage by cost centre"),
        _Sentences(_l("Usage per cost centre including everything below it; choose a centre to see its parts."),
                   _l("Each day counts under the cost centre the account was in when the day was added up."),
                   _UTC_DAYS),
        shortcut="c", filters=("since", "until", "unit", "node"), columns=_centre_columns)
def usage_by_cost_centre(filters: Filters) -> ReportResult:
    centres = {c.id: c for c in db.session.scalars(select(CostCentre))}
    own: dict[int | None, int] = defaultdict(int)
    for centre_id, totals in usage_by_centre(since=filters.since, until=filters.until).items():
        own[centre_id if centre_id in centres else None] += _raw(totals, filters)  # NO_CENTRE is none
    rolled: dict[int, int] = defaultdict(int)
    for centre_id, raw in own.items():
        node = centres.get(centre_id)
        while node is not None:  # add to the centre and every centre above it
            rolled[node.id] += raw
            node = centres.get(node.parent_id)
    parent = filters.node
    shown = [c for c in centres.values() if c.parent_id == parent]
    rows = [{"centre": c.name, "code": c.code, "node": c.id,
             "children": sum(1 for x in centres.values() if x.parent_id == c.id),
             "usage": _in_unit(rolled.get(c.id, 0), filters)}
            for c in sorted(shown, key=lambda c: c.code)]
    if parent is not None and own.get(parent):
        rows.append({"centre": str(_l("directly in this centre")), "code": "", "node": None,
                     "children": 0, "usage": _in_unit(own[parent], filters)})
    if parent is None and own.get(None):
        rows.append({"centre": str(_l("no cost centre")), "code": "", "node": None, "children": 0,
                     "usage": _in_unit(own[None], filters)})
    path = _path(centres, parent)
    note = " › ".join(c.name for c in path)
    return ReportResult(
        columns=_centre_columns(filters), rows=rows, chart_label="centre", chart_value="usage", drill="node", note=note,
        totals={filters.unit: sum((r["usage"] for r in rows), ZERO)})


def _path(centres: dict, node_id) -> list:
    """The centres from the root down to ``node_id``, from the already loaded tree."""
    path = []
    node = centres.get(node_id)
    while node is not None:
        path.insert(0, node)
        node = centres.get(node.parent_id)
    return path


def _account_usage_rows(filters: Filters, *, top: int | None):
    query = select(Account.id, Account.number, Account.username, Account.name)
    if top:  # only the accounts that can make the list, ranked in SQL (ties after rounding included)
        kind, divisor = UNIT_DIVISORS[filters.unit]
        found = top_accounts(since=filters.since, until=filters.until, seconds=kind == "seconds", limit=top,
                             slack=math.ceil(divisor / 1000))
        usage = {a: _in_unit(_raw(totals, filters), filters) for a, totals in found.items()}
        query = query.where(Account.id.in_(list(usage)))
    else:
        usage = {a: _in_unit(raw, filters) for a, raw in _usage_by_account(filters).items()}
    rows = [{"account": number, "username": username, "name": name, "usage": usage[a]}
            for a, number, username, name in db.session.execute(query) if a in usage]
    if top:
        rows.sort(key=lambda r: (-r["usage"], r["account"]))
        return rows[:top]
    return sorted(rows, key=lambda r: r["account"])


def _account_columns(filters: Filters):
    return [Column("account", _l("Account")), Column("username", _l("Username")),
            Column("name", _l("Name")), Column("usage", _l("Usage (%(unit)s)", unit=filters.unit), "number")]


@report("usage_accounts", _l("Usage by account"),
        _Sentences(_l("Usage of every account in the period."), _UTC_DAYS),
        shortcut="u", filters=("since", "until", "unit"))
def usage_by_account(filters: Filters) -> ReportResult:
    rows = _account_usage_rows(filters, top=None)
    return ReportResult(columns=_account_columns(filters), rows=rows, chart_label="username",
                        chart_value="usage", totals={filters.unit: sum((r["usage"] for r in rows), ZERO)})


@report("top_users", _l("Top users"),
        _Sentences(_l("The accounts that used the most in the period."), _UTC_DAYS),
        shortcut="t", filters=("since", "until", "unit", "limit"))
def top_users(filters: Filters) -> ReportResult:
    rows = _account_usage_rows(filters, top=filters.limit)
    return ReportResult(columns=_account_columns(filters), rows=rows, chart_label="username",
                        chart_value="usage")


# ---------------------------------------------------------------- quota exhaustions
@report("quota_exhaustions", _l("Quota exhaustions"),
        _l("Pools that ran out, per day, with the account and how it was enforced."), shortcut="q")
def quota_exhaustions(filters: Filters) -> ReportResult:
    from app.models import QuotaPool
    from app.models.enforcement import Enforcement, QuotaNotice

    query = (select(QuotaNotice.created_at, QuotaNotice.account_id, QuotaPool.name, QuotaPool.unit,
                    QuotaNotice.period_start)
             .join(QuotaPool, QuotaPool.id == QuotaNotice.pool_id)
             .where(QuotaNotice.kind == "exhausted", *_in_range(QuotaNotice.created_at, filters))
             .order_by(QuotaNotice.created_at))
    found = db.session.execute(query).all()
    ids = {r.account_id for r in found if r.account_id}
    names = dict(db.session.execute(select(Account.id, Account.username).where(Account.id.in_(ids))).all())
    states = {(e.account_id, e.period_start): e.state for e in db.session.scalars(
        select(Enforcement).where(Enforcement.account_id.in_(ids)))}
    rows = [{"day": r.created_at.date(), "account": names.get(r.account_id, ""), "pool": r.name,
             "unit": r.unit, "enforcement": states.get((r.account_id, r.period_start), "")}
            for r in found]
    per_day: dict = defaultdict(int)
    for row in rows:
        per_day[row["day"]] += 1
    result = ReportResult(
        columns=[Column("day", _l("Day"), "date"), Column("account", _l("Account")),
                 Column("pool", _l("Pool")), Column("unit", _l("Unit")),
                 Column("enforcement", _l("Enforcement"))],
        rows=rows, totals={"count": len(rows)},
        chart_rows=[(day.isoformat(), count) for day, count in sorted(per_day.items())])
    return result


# ---------------------------------------------------------------- vouchers
@report("vouchers", _l("Voucher batches"), _l("Per batch: cards sold (activated), redeemed, expired and void."),
        shortcut="v", filters=())
def voucher_batches(filters: Filters) -> ReportResult:
    from app.models.voucher import VoucherBatch
    from app.services.vouchers import batch_report

    names = dict(db.session.execute(select(VoucherBatch.id, VoucherBatch.name)).all())
    rows = [{"batch": names.get(r["batch_id"], r["batch_id"]), **r} for r in batch_report()]
    return ReportResult(
        columns=[Column("batch", _l("Batch")), Column("total", _l("Cards"), "number"),
                 Column("sold", _l("Sold"), "number"), Column("redeemed", _l("Redeemed"), "number"),
                 Column("expired", _l("Expired"), "number"), Column("void", _l("Void"), "number")],
        rows=rows, chart_label="batch", chart_value="redeemed")


# ---------------------------------------------------------------- provisioning failures
@report("provisioning_failures", _l("Provisioning failures"),
        _l("Operations that failed or went to manual processing, with their last error."), shortcut="f")
def provisioning_failures(filters: Filters) -> ReportResult:
    from app.models.provisioning import Operation, ProcessingModule, Service

    query = (select(Operation.id, Operation.kind, Operation.status, Operation.attempts,
                    Operation.last_error, Operation.created_at, ProcessingModule.name, Account.username)
             .join(Service, Service.id == Operation.service_id)
             .join(Account, Account.id == Service.account_id)
             .outerjoin(ProcessingModule, ProcessingModule.id == Operation.module_id)
             .where(Operation.status.in_(("failed", "manual")), *_in_range(Operation.created_at, filters))
             .order_by(Operation.created_at.desc()))
    rows = [{"operation": r.id, "account": r.username, "module": r.name or str(_l("manual setup")),
             "kind": r.kind, "status": r.status, "attempts": r.attempts,
             "error": (r.last_error or "")[:200], "day": r.created_at.date()}
            for r in db.session.execute(query)]
    per_module: dict = defaultdict(int)
    for row in rows:
        per_module[row["module"]] += 1
    result = ReportResult(
        columns=[Column("day", _l("Day"), "date"), Column("account", _l("Account")),
                 Column("module", _l("Module")), Column("kind", _l("Operation")),
                 Column("status", _l("Status")), Column("attempts", _l("Attempts"), "number"),
                 Column("error", _l("Last error"))],
        rows=rows, totals={"count": len(rows)}, chart_rows=sorted(per_module.items()))
    return result


# ---------------------------------------------------------------- provider: across realms
@report("realm_revenue", _l("Revenue by realm"), _l("Finalized invoices of every realm by month, net of credit notes."),
        shortcut="r", scope="provider")
def realm_revenue(filters: Filters) -> ReportResult:
    with all_realms():
        rows = _revenue_rows(filters)
        names = dict(db.session.execute(select(Realm.id, Realm.name)).all())
    groups: dict[tuple, dict] = {}
    for r in rows:
        sign = -1 if r.kind == "credit_note" else 1
        month = r.issue_date.strftime("%Y-%m") if r.issue_date else ""
        group = groups.setdefault((names.get(r.realm_id, ""), month, r.currency), {
            "realm": names.get(r.realm_id, ""), "month": month, "currency": r.currency,
            "invoices": 0, "total": ZERO, "label": f"{names.get(r.realm_id, '')} {month}"})
        group["invoices"] += 1 if sign > 0 else 0
        group["total"] += sign * r.total
    ordered = sorted(groups.values(), key=lambda g: (g["realm"], g["month"], g["currency"]))
    return ReportResult(
        columns=[Column("realm", _l("Realm")), Column("month", _l("Month")),
                 Column("currency", _l("Currency")), Column("invoices", _l("Invoices"), "number"),
                 Column("total", _l("Total"), "money")],
        rows=ordered, chart_label="label", chart_value="total", totals=_money_totals(ordered, "total"))


@report("wholesale_usage", _l("Wholesale usage per VISP realm"),
        _l("What each VISP realm used and was billed per period under its wholesale plan."),
        shortcut="w", scope="provider")
def wholesale_usage(filters: Filters) -> ReportResult:
    from app.models.wholesale import WholesaleStatement

    with all_realms():
        query = (select(WholesaleStatement, Realm.name)
                 .join(Realm, Realm.id == WholesaleStatement.child_realm_id)
                 .where(*_in_range(WholesaleStatement.period_start, filters, is_datetime=False))
                 .order_by(WholesaleStatement.period_start, Realm.name))
        rows = [{"realm": name, "period": s.period_start.strftime("%Y-%m"),
                 "subscribers": s.active_subscribers, "traffic_mb": s.traffic_mb,
                 "hours": s.time_hours, "currency": s.currency, "total": s.total,
                 "label": f"{name} {s.period_start:%Y-%m}"}
                for s, name in db.session.execute(query)]
    return ReportResult(
        columns=[Column("realm", _l("Realm")), Column("period", _l("Period")),
                 Column("subscribers", _l("Active subscribers"), "number"),
                 Column("traffic_mb", _l("Traffic (MB)"), "number"), Column("hours", _l("Hours"), "number"),
                 Column("currency", _l("Currency")), Column("total", _l("Billed"), "money")],
        rows=rows, chart_label="label", chart_value="total", totals=_money_totals(rows, "total"))
