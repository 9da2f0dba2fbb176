"""The next-invoice figure of one account for a page view: the billing draft, read lean.

``preview_invoice`` (run.py) drafts one account the way a billing run drafts a chunk:
twelve statements, each usage record fetched one by one. A page that already holds the
account with its subscriptions and their compiled plan versions (``usage.summary._load_plans``:
one statement, the versions kept under the realm's settings stamp) needs only what it does
not hold: this module reads the account's unbilled usage *summed per bucket and unit* (one row per unit and month instead of one per
record), its pool draws and pending charges, and the realm's terms, then runs the very same
``draft._draft_one`` on them. Same inputs, same code: the lines and total equal
``preview_invoice``'s (tests/selfcare/test_dashboard_preview.py compares them across fees,
proration, late usage, pools, charges, discounts, tax and suspension). What it leaves out
is ``usage_record_ids`` (empty): an estimate writes nothing, so it needs no record ids.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from functools import cache

from sqlalchemy import bindparam, case, cast, func, literal, literal_column, null, select, union_all

from app.extensions import db
from app.models import Account, Charge, Realm, UsageRecord
from app.rating.units import lookup
from tenants import realm_filter, require_realm_id, run_in_realm

from ..collections import bills_suspended_accounts
from .draft import (
    BASE_UNITS,
    ZERO,
    ChunkData,
    InvoiceDraft,
    SubscriptionRow,
    _draft_one,
    local_midnight,
    local_today,
    month_period,
    realm_zone,
)
from .terms import account_terms

# Where a usage figure came from within one record, in the order draft._usage adds them.
_BYTES, _SECONDS, _QUANTITY = 0, 1, 2


def account_preview(account: Account, *, on: date | None = None, draws=None) -> InvoiceDraft | None:
    """What ``account``'s invoice for the month of ``on`` would be now (``preview_invoice``'s
    draft without record ids); None when it would owe nothing. ``draws`` may hand over the
    account's pool draws already read for a period, ``(start, end, [(unit, quantity)])``
    (``usage.summary.pool_draws``): used when that period is this month, else read again."""
    from ..usage.summary import _load_plans

    versions = _load_plans(account)
    realm = db.session.get(Realm, require_realm_id())
    period = month_period(on or local_today(realm))
    data = ChunkData.__new__(ChunkData)  # filled here instead of by its bulk loaders
    data.period, data.realm, data.zone = period, realm, realm_zone(realm)
    data.subscriptions, data.usage, data.pools = defaultdict(list), defaultdict(list), defaultdict(dict)
    data.charges, data.versions, data.fee_lines = defaultdict(list), {}, {}
    data.without_fees = set()
    for subscription in account.subscriptions:  # ordered by id, as ChunkData loads them
        if subscription.starts_on < period.end and (subscription.ends_on is None
                                                    or subscription.ends_on > period.start):
            data.subscriptions[account.id].append(SubscriptionRow(
                subscription.id, subscription.account_id, subscription.plan_version_id, subscription.status,
                subscription.kind, subscription.starts_on, subscription.ends_on, subscription.anchor_on,
                subscription.fees_from, subscription.previous_id))
            data.versions[subscription.plan_version_id] = versions[subscription.plan_version_id]
    _load_usage_and_charges(data, account.id)
    if not data.subscriptions and not data.charges:
        return None  # what _draft_one answers, without reading pools or terms
    if account.status == "suspended" and not bills_suspended_accounts():
        data.without_fees.add(account.id)
    if data.subscriptions:
        if draws is not None and (draws[0], draws[1]) == (period.start, period.end):
            _add_draws(data, account.id, draws[2])
        else:
            _load_pools(data, account.id)
    data.terms = account_terms(account, realm, period)
    draft = _draft_one(account.id, data)
    if draft is not None:
        draft.usage_record_ids = []
    return draft


def _load_usage_and_charges(data: ChunkData, account_id: int) -> None:
    """In one statement: the account's unbilled usage up to the period's end, one row per
    (this month or earlier, unit) with its sums, and its pending charges due by the period's
    end (``ChunkData._load``'s two reads). The usage is replayed to ``draft._usage`` as one
    record per figure in the order the records first brought each figure (so its
    dictionaries come out alike)."""
    start = local_midnight(data.period.start, data.zone)
    end = local_midnight(data.period.end, data.zone)
    figures = []
    for row in run_in_realm(db.session, _usage_and_charges_query(), {
            "account_id": account_id, "start": start, "end": end, "charged_by": data.period.end}):
        if row.source == "charge":
            data.charges[account_id].append((row.charge_id, row.charge_kind, row.description, row.charge_quantity,
                                             row.charge_unit, row.unit_price, row.amount))
            continue
        moment = start - timedelta(microseconds=1) if row.late else start
        if row.octets:
            figures.append((row.first_octet, _BYTES, (None, moment, int(row.octets), 0, None, None)))
        if row.seconds:
            figures.append((row.first_second, _SECONDS, (None, moment, 0, int(row.seconds), None, None)))
        if row.unit and row.quantity is not None:
            figures.append((row.first_quantity, _QUANTITY, (None, moment, 0, 0, row.quantity, row.unit)))
    if data.subscriptions:
        # Late and current figures fill separate dictionaries, so one order serves both.
        data.usage[account_id] = [record for *_order, record in sorted(figures, key=lambda f: (f[0], f[1]))]


def _load_pools(data: ChunkData, account_id: int) -> None:
    """What the pools absorbed of the account's usage in the period (``ChunkData._load``)."""
    from ..usage.summary import pool_draws

    _add_draws(data, account_id, pool_draws(account_id, data.period.start, data.period.end))


def _add_draws(data: ChunkData, account_id: int, draws) -> None:
    totals = data.pools[account_id]
    for unit_name, quantity in draws:
        unit = lookup(unit_name)
        target = BASE_UNITS.get(unit.dimension, unit.name)
        totals[target] = totals.get(target, ZERO) + quantity * unit.size


# Built once with bound parameters (building a statement cost about as much CPU as running
# it); a lean read (tenants/lean.py): every realm table carries ``realm_filter``.
@cache
def _usage_and_charges_query():
    late = case((UsageRecord.event_time < bindparam("start"), 1), else_=0)
    octets = UsageRecord.bytes_in + UsageRecord.bytes_out

    def typed_null(column, name):
        # Typed, so that PostgreSQL resolves the UNION's column and values are converted
        # (money is stored as integers on SQLite).
        return cast(null(), column.type).label(name)

    usage = (select(literal("usage").label("source"), late.label("late"), UsageRecord.unit.label("unit"),
                    func.sum(octets).label("octets"), func.sum(UsageRecord.duration_s).label("seconds"),
                    func.sum(UsageRecord.quantity).label("quantity"),
                    func.min(case((octets != 0, UsageRecord.id))).label("first_octet"),
                    func.min(case((UsageRecord.duration_s != 0, UsageRecord.id))).label("first_second"),
                    func.min(case((UsageRecord.quantity.is_not(None), UsageRecord.id))).label("first_quantity"),
                    typed_null(Charge.id, "charge_id"), typed_null(Charge.kind, "charge_kind"),
                    typed_null(Charge.description, "description"), typed_null(Charge.quantity, "charge_quantity"),
                    typed_null(Charge.unit, "charge_unit"), typed_null(Charge.unit_price, "unit_price"),
                    typed_null(Charge.amount, "amount"), typed_null(Charge.charge_on, "charge_on"))
             .where(UsageRecord.account_id == bindparam("account_id"), UsageRecord.invoice_id.is_(None),
                    UsageRecord.event_time < bindparam("end"), realm_filter(UsageRecord))
             .group_by(late, UsageRecord.unit))
    charges = (select(literal("charge"), null(), null(), null(), null(), null(), null(), null(), null(),
                      Charge.id, Charge.kind, Charge.description, Charge.quantity, Charge.unit, Charge.unit_price,
                      Charge.amount, Charge.charge_on)
               .where(Charge.account_id == bindparam("account_id"), Charge.status == "pending",
                      Charge.charge_on < bindparam("charged_by"), realm_filter(Charge)))
    # Charges in the order ChunkData loads them (by day due, then id).
    return union_all(usage, charges).order_by(literal_column("source"), literal_column("charge_on"),
                                              literal_column("charge_id"))
