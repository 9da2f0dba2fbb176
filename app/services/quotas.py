"""Quota pools: create, top up, and draw usage from them in cascade order.

Cascade for an account: its own pools, then the pools of its cost centre and of every
centre above it (nearest first), then the realm's pools; within a level, pools in the
order they were created. Usage reaches the pools as it is ingested (``draw_usage``): the
balance rows of the touched pools are locked (``SELECT … FOR UPDATE`` on PostgreSQL, in id
order so two ingesters never deadlock) before they are read, so pools shared by many
accounts end with exact totals under concurrent ingestion. The plan's own included units
are applied when the period is rated, on what the pools left.

The cascade order is the plan's (``Plan.quota_cascade``, e.g. ``account,cost_centre,realm``
— the default — or ``realm,account``). After each draw the touched balances are handed to
app/services/enforcement.py (thresholds, exhaustion and the plan's policy); top-ups hand
the pool over too, so a restored quota lifts its enforcements.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import insert, select, update

from app.extensions import db
from app.models import Account, CostCentre, QuotaBalance, QuotaDraw, QuotaPool
from app.rating.proration import period_containing
from app.rating.quotas import CARRY_OVER_POLICIES, PoolState, draw, next_period_balance
from app.rating.units import UnitError, lookup
from tenants import all_realms

from .errors import FieldErrors, Invalid
from .lookups import get_or_not_found

ZERO = Decimal(0)


def create_pool(*, name: str, scope: str, unit: str, size: Decimal, anchor: date,
                account_id: int | None = None, cost_centre_id: int | None = None,
                period: str = "monthly", carry_over: str = "none",
                carry_cap: Decimal | None = None, thresholds: str | None = None) -> QuotaPool:
    errors = FieldErrors()
    errors.require("name", name)
    if scope not in ("account", "cost_centre", "realm"):
        errors.add("scope", "invalid")
    if scope == "account" and account_id is None:
        errors.add("account_id", "required")
    if scope == "cost_centre" and cost_centre_id is None:
        errors.add("cost_centre_id", "required")
    try:
        unit = lookup(unit).name
    except UnitError:
        errors.add("unit", "unknown")
    if size is None or size < 0:
        errors.add("size", "negative")
    if carry_over not in CARRY_OVER_POLICIES or (carry_over == "capped" and carry_cap is None):
        errors.add("carry_over", "invalid")
    if thresholds:
        from .enforcement import parse_thresholds

        try:
            thresholds = ",".join(str(t) for t in parse_thresholds(thresholds))
        except ValueError:
            errors.add("thresholds", "invalid")
    errors.raise_if_any()
    pool = QuotaPool(name=name, scope=scope, unit=unit, size=size, anchor=anchor, period=period,
                     account_id=account_id if scope == "account" else None,
                     cost_centre_id=cost_centre_id if scope == "cost_centre" else None,
                     carry_over=carry_over, carry_cap=carry_cap, thresholds=thresholds or None)
    db.session.add(pool)
    db.session.flush()
    return pool


def balance_on(pool: QuotaPool, day: date) -> QuotaBalance:
    """The pool's balance for the period containing ``day`` (opened with carry-over if new)."""
    return db.session.get(QuotaBalance, _balance_id(pool, day))


def peek_balance(pool: QuotaPool, day: date) -> tuple[Decimal, Decimal]:
    """(remaining, available) of the pool in ``day``'s period, without opening the period."""
    period = period_containing(pool.anchor, pool.period, day)
    table = QuotaBalance.__table__
    row = db.session.execute(select(table).where(
        table.c.pool_id == pool.id, table.c.period_start <= period.start
    ).order_by(table.c.period_start.desc()).limit(1)).mappings().first()
    if row is None:
        return pool.size, pool.size
    if row["period_start"] == period.start:
        available = row["opening"] + row["topped_up"]
        return available - row["used"], available
    left = row["opening"] + row["topped_up"] - row["used"]
    opening = next_period_balance(pool.size, left, pool.carry_over, pool.carry_cap)
    return opening, opening


def _balance_id(pool: QuotaPool, day: date) -> int:
    """Id of the pool's balance row for ``day``'s period, creating it race-free if missing."""
    period = period_containing(pool.anchor, pool.period, day)
    table = QuotaBalance.__table__
    found = db.session.scalar(select(table.c.id).where(
        table.c.pool_id == pool.id, table.c.period_start == period.start))
    if found is not None:
        return found
    previous = db.session.execute(select(table).where(
        table.c.pool_id == pool.id, table.c.period_start < period.start
    ).order_by(table.c.period_start.desc()).limit(1)).mappings().first()
    if previous is None:
        opening = pool.size
    else:
        left = previous["opening"] + previous["topped_up"] - previous["used"]
        opening = next_period_balance(pool.size, left, pool.carry_over, pool.carry_cap)
    values = {"pool_id": pool.id, "realm_id": pool.realm_id, "period_start": period.start,
              "period_end": period.end, "opening": opening, "topped_up": ZERO, "used": ZERO}
    if db.session.connection().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        # Two ingesters may open the same period at once: the second one's insert is a no-op.
        db.session.execute(pg_insert(table).values(values).on_conflict_do_nothing(
            index_elements=["pool_id", "period_start"]))
    else:
        db.session.execute(insert(table).values(values))
    return db.session.scalar(select(table.c.id).where(
        table.c.pool_id == pool.id, table.c.period_start == period.start))


def top_up_pool(pool_id: int, *, quantity: Decimal, on: date) -> QuotaBalance:
    """Add ``quantity`` units to the pool's current period (bought top-up, voucher)."""
    pool = get_or_not_found(QuotaPool, pool_id, "quota pool")
    if quantity <= 0:
        raise Invalid({"quantity": ["negative"]})
    balance_id = _balance_id(pool, on)
    table = QuotaBalance.__table__
    locked = _lock(table.c.id == balance_id)[0]
    db.session.execute(update(table).where(table.c.id == balance_id).values(
        topped_up=locked["topped_up"] + quantity))
    balance = db.session.get(QuotaBalance, balance_id)
    db.session.refresh(balance)
    from .enforcement import lift_for_pool

    lift_for_pool(pool, on=on, reason="topped_up")
    return balance


def _lock(condition) -> list[dict]:
    table = QuotaBalance.__table__
    query = select(table).where(condition).order_by(table.c.id)
    if db.session.connection().dialect.name == "postgresql":
        query = query.with_for_update()
    return [dict(row) for row in db.session.execute(query).mappings()]


def _usage_in(unit_name: str, row: dict) -> Decimal:
    """A usage record's quantity in a pool's unit (0 when the record is of another kind)."""
    unit = lookup(unit_name)
    if unit.dimension == "data":
        return Decimal(row["bytes_in"] + row["bytes_out"]) / unit.size
    if unit.dimension == "time":
        return Decimal(row["duration_s"]) / unit.size
    if row.get("unit") and row.get("quantity") is not None:
        try:
            if lookup(row["unit"]).dimension == unit.dimension:
                return Decimal(row["quantity"]) * lookup(row["unit"]).size / unit.size
        except UnitError:
            return ZERO
    return ZERO


def draw_usage(rows: list[dict]) -> int:
    """Draw newly stored usage records from their accounts' pools; returns pools touched."""
    if not rows:
        return 0
    with all_realms():
        return _draw(rows)


CASCADE_LEVELS = ("account", "cost_centre", "cost_centre_top_down", "realm")
DEFAULT_CASCADE = ("account", "cost_centre", "realm")


def parse_cascade(text: str | None) -> tuple[str, ...]:
    """A plan's cascade order: comma-separated levels (``cost_centre`` walks from the
    account's centre up to the root, ``cost_centre_top_down`` from the root down;
    ``individual`` and ``global`` are other names of ``account`` and ``realm``)."""
    if not text or not text.strip():
        return DEFAULT_CASCADE
    aliases = {"individual": "account", "global": "realm"}
    levels = tuple(aliases.get(part.strip(), part.strip()) for part in text.split(",") if part.strip())
    if not levels or any(level not in CASCADE_LEVELS for level in levels) or len(set(levels)) != len(levels) \
            or {"cost_centre", "cost_centre_top_down"} <= set(levels):
        raise Invalid({"quota_cascade": ["invalid"]})
    return levels


class _Pools:
    """The pools of some realms, indexed for cascades."""

    def __init__(self, realm_ids: set[int]) -> None:
        self.centres = {c.id: c for c in db.session.scalars(
            select(CostCentre).where(CostCentre.realm_id.in_(realm_ids)))}
        self.pools = list(db.session.scalars(
            select(QuotaPool).where(QuotaPool.realm_id.in_(realm_ids)).order_by(QuotaPool.id)))
        self.by_account = defaultdict(list)
        self.by_centre = defaultdict(list)
        self.by_realm = defaultdict(list)
        for pool in self.pools:
            {"account": self.by_account, "cost_centre": self.by_centre, "realm": self.by_realm}[pool.scope][
                pool.account_id or pool.cost_centre_id or pool.realm_id].append(pool)

    def cascade(self, account: Account, order: tuple[str, ...] = DEFAULT_CASCADE) -> list[QuotaPool]:
        centres = []
        node = self.centres.get(account.cost_centre_id)
        while node is not None:
            centres.append(node)
            node = self.centres.get(node.parent_id)
        chain: list[QuotaPool] = []
        for level in order:
            if level == "account":
                chain.extend(self.by_account[account.id])
            elif level == "realm":
                chain.extend(self.by_realm[account.realm_id])
            else:
                for centre in centres if level == "cost_centre" else reversed(centres):
                    chain.extend(self.by_centre[centre.id])
        return chain


def account_chain(account: Account, *, dimension: str | None = None) -> list[QuotaPool]:
    """The pools ``account`` draws on, in its plan's cascade order (of one dimension)."""
    from .enforcement import account_plans

    plan = account_plans([account.id]).get(account.id)
    with all_realms():
        chain = _Pools({account.realm_id}).cascade(account, parse_cascade(plan.quota_cascade if plan else None))
    if dimension is not None:
        chain = [p for p in chain if lookup(p.unit).dimension == dimension]
    return chain


def remaining_for(account: Account, *, dimension: str, on: date) -> Decimal:
    """What the account's cascade still holds of ``dimension`` on ``day`` (in the base unit)."""
    base = lookup({"data": "MB", "time": "hour"}.get(dimension, "MB"))
    total = ZERO
    for pool in account_chain(account, dimension=dimension):
        remaining, _available = peek_balance(pool, on)
        if remaining > 0:
            total += remaining * lookup(pool.unit).size / base.size
    return total


def _draw(rows: list[dict]) -> int:
    from . import enforcement

    account_ids = sorted({r["account_id"] for r in rows})
    accounts = {a.id: a for a in db.session.scalars(select(Account).where(Account.id.in_(account_ids)))}
    realm_ids = {a.realm_id for a in accounts.values()}
    index = _Pools(realm_ids)
    pools = index.pools
    if not pools:
        return 0
    plans = enforcement.account_plans(account_ids)

    def cascade(account: Account) -> list[QuotaPool]:
        plan = plans.get(account.id)
        try:
            order = parse_cascade(plan.quota_cascade if plan else None)
        except Invalid:
            order = DEFAULT_CASCADE
        return index.cascade(account, order)

    # Usage per (account, dimension, period of the leading pool), in the leading pool's unit:
    # the first pool of a matching unit in the account's cascade leads that usage's draw.
    demand: dict[tuple[int, int, date], Decimal] = defaultdict(lambda: ZERO)
    chains: dict[int, list[QuotaPool]] = {}
    for row in rows:
        account = accounts[row["account_id"]]
        chain = chains.setdefault(account.id, cascade(account))
        day = row["event_time"].astimezone(UTC).date()
        for pool in chain:
            quantity = _usage_in(pool.unit, row)
            if quantity > 0:
                demand[(account.id, pool.id, period_containing(pool.anchor, pool.period, day).start)] += quantity
                break
    if not demand:
        return 0
    pool_by_id = {p.id: p for p in pools}
    # Every balance row a draw may touch, created first, then all locked at once in id order.
    balance_ids: dict[tuple[int, date], int] = {}
    for account_id, lead_id, start in demand:
        for pool in _same_dimension(chains[account_id], pool_by_id[lead_id]):
            if (pool.id, start) not in balance_ids:
                balance_ids[(pool.id, start)] = _balance_id(pool, start)
    table = QuotaBalance.__table__
    locked = {b["id"]: b for b in _lock(table.c.id.in_(sorted(set(balance_ids.values()))))}
    used_before = {balance_id: balance["used"] for balance_id, balance in locked.items()}

    draws: dict[tuple[int, int], Decimal] = defaultdict(lambda: ZERO)
    for (account_id, lead_id, start), quantity in sorted(demand.items()):
        lead_unit = lookup(pool_by_id[lead_id].unit)
        chain = _same_dimension(chains[account_id], pool_by_id[lead_id])
        states = []
        for pool in chain:
            balance = locked[balance_ids[(pool.id, start)]]
            remaining = balance["opening"] + balance["topped_up"] - balance["used"]
            states.append(PoolState(balance["id"], pool.unit, remaining * lookup(pool.unit).size / lead_unit.size))
        for balance_id, taken in draw(states, quantity).absorbed:
            balance = locked[balance_id]
            in_pool_unit = _units(taken * lead_unit.size / lookup(pool_by_id[balance["pool_id"]].unit).size)
            balance["used"] += in_pool_unit
            draws[(balance_id, account_id)] += in_pool_unit
    for balance in locked.values():
        db.session.execute(update(table).where(table.c.id == balance["id"]).values(used=balance["used"]))
    _record_draws(draws, locked)
    # Thresholds, exhaustion and the plans' policies, decided on the locked figures.
    exhausted = []
    for account_id, lead_id, start in sorted(demand):
        chain = _same_dimension(chains[account_id], pool_by_id[lead_id])
        left = [locked[balance_ids[(pool.id, start)]] for pool in chain]
        if all(b["opening"] + b["topped_up"] - b["used"] <= 0 for b in left):
            exhausted.append(enforcement.Exhaustion(
                account=accounts[account_id], dimension=lookup(pool_by_id[lead_id].unit).dimension,
                period_start=start, period_end=left[0]["period_end"], pool_id=chain[-1].id))
    drawers = defaultdict(set)
    for balance_id, account_id in draws:
        drawers[balance_id].add(account_id)
    enforcement.after_draw(
        [(pool_by_id[b["pool_id"]], b, used_before[b["id"]], drawers[b["id"]]) for b in locked.values()],
        exhausted, plans)
    return len(locked)


def _same_dimension(chain: list[QuotaPool], lead: QuotaPool) -> list[QuotaPool]:
    dimension = lookup(lead.unit).dimension
    return [p for p in chain if lookup(p.unit).dimension == dimension]


def _units(quantity: Decimal) -> Decimal:
    """Pool figures are kept to 6 decimals of their unit (1e-6 hour is 3.6 ms)."""
    return quantity.quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP)


def _record_draws(draws: dict[tuple[int, int], Decimal], locked: dict[int, dict]) -> None:
    table = QuotaDraw.__table__
    for (balance_id, account_id), quantity in sorted(draws.items()):
        existing = db.session.execute(select(table.c.id, table.c.quantity).where(
            table.c.balance_id == balance_id, table.c.account_id == account_id)).first()
        if existing is None:
            db.session.execute(insert(table).values(
                balance_id=balance_id, account_id=account_id, realm_id=locked[balance_id]["realm_id"],
                quantity=quantity, records=1))
        else:
            db.session.execute(update(table).where(table.c.id == existing.id).values(
                quantity=existing.quantity + quantity, records=table.c.records + 1))


def absorbed_by_pools(account_id: int, start: date, end: date) -> dict[str, Decimal]:
    """What the pools absorbed of an account's usage in balances starting in ``[start, end)``,
    per dimension in the base rating unit (``MB`` for data, ``hour`` for time)."""
    rows = db.session.execute(
        select(QuotaPool.unit, QuotaDraw.quantity)
        .join(QuotaBalance, QuotaBalance.id == QuotaDraw.balance_id)
        .join(QuotaPool, QuotaPool.id == QuotaBalance.pool_id)
        .where(QuotaDraw.account_id == account_id, QuotaBalance.period_start >= start,
               QuotaBalance.period_start < end)
    ).all()
    totals: dict[str, Decimal] = {}
    for unit_name, quantity in rows:
        unit = lookup(unit_name)
        target = {"data": "MB", "time": "hour"}.get(unit.dimension, unit.name)
        totals[target] = totals.get(target, ZERO) + quantity * unit.size / lookup(target).size
    return totals
