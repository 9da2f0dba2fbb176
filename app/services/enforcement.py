"""Quota enforcement: thresholds, exhaustion and the plan's policy, in a closed loop.

As usage is drawn from the pools (app/services/quotas.py calls ``after_draw`` with the
balance rows it holds locked):

- crossing one of the plan's threshold percentages (default 80 and 100) of a pool records a
  ``QuotaNotice`` (unique per pool, period, kind and percent, so concurrent ingesters raise
  it once) and emits ``quota.threshold``; a pool running out emits ``quota.exhausted`` once;
- an account whose whole cascade of one unit is empty gets one ``Enforcement`` per period
  (unique key) under its plan's policy: ``shape`` (RFC 5176 CoA-Request with the plan's
  shaped rate to the NAS carrying each open session, Disconnect-Request when the NAS NAKs),
  ``suspend`` (suspend_account, open sessions disconnected) or ``overage`` (nothing: the
  bands rate it). The network work runs after commit (``workers.enforcement``).

Closed loop: an enforcement is done (``confirmed``) only when accounting shows it — an
Accounting-Stop of the session, or interim updates at no more than the shaped rate. A NAK
with Error-Cause 503 (session not found) counts as done. ``check_enforcements`` (periodic)
re-sends unconfirmed requests, then disconnects the session; the next login is refused
(suspension) or shaped (``login_attributes`` for the users file). A top-up, a voucher or a
new period lifts the enforcement (``lifted``) and restores the normal rate by CoA.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, insert, select

from app.extensions import db
from app.mediation import coa
from app.models import (
    Account,
    Plan,
    PlanVersion,
    QuotaPool,
    RadiusSession,
    Realm,
    Subscription,
    UsageRecord,
)
from app.models.enforcement import QUOTA_POLICIES, Enforcement, EnforcementTarget, QuotaNotice
from app.models.network import NasClient
from app.rating.units import lookup
from app.security.secrets import secret_box
from tenants import all_realms, realm_context, require_realm_id

from .errors import FieldErrors, NotAllowed, NotFound
from .events import emit
from .lookups import get_or_not_found
from .uow import after_commit

log = logging.getLogger(__name__)

DEFAULT_THRESHOLDS = (80, 100)
RETRY_AFTER = timedelta(minutes=5)  # unconfirmed this long after sending: send again
MAX_ATTEMPTS = 3  # CoA attempts before the session is disconnected
RATE_TOLERANCE = Decimal("1.10")  # interim updates within 10 % of the shaped rate confirm it
OPEN_STATES = ("pending", "sent", "retrying", "disconnected")
LIVE_STATES = ("pending", "sent", "confirmed", "retrying", "disconnected", "failed")


@dataclass(frozen=True)
class Exhaustion:
    account: Account
    dimension: str
    period_start: date
    period_end: date
    pool_id: int


def _now() -> datetime:
    return datetime.now(UTC)


# -- plans --------------------------------------------------------------------------------
def account_plans(account_ids: list[int]) -> dict[int, Plan]:
    """The plan of each account's current subscription (the latest one not ended)."""
    if not account_ids:
        return {}
    with all_realms():
        rows = db.session.execute(
            select(Subscription.account_id, Plan)
            .join(PlanVersion, PlanVersion.id == Subscription.plan_version_id)
            .join(Plan, Plan.id == PlanVersion.plan_id)
            .where(Subscription.account_id.in_(sorted(set(account_ids))),
                   Subscription.status.not_in(("cancelled", "ended")))
            .order_by(Subscription.starts_on, Subscription.id)
        ).all()
    return {account_id: plan for account_id, plan in rows}


def parse_thresholds(text: str | None) -> tuple[int, ...]:
    if not text or not text.strip():
        return DEFAULT_THRESHOLDS
    values = []
    for part in text.split(","):
        part = part.strip()
        if not part.isdigit() or not 1 <= int(part) <= 100:
            raise ValueError("threshold")
        values.append(int(part))
    return tuple(sorted(set(values)))


def _thresholds(plan: Plan | None) -> tuple[int, ...]:
    try:
        return parse_thresholds(plan.quota_thresholds if plan else None)
    except ValueError:
        return DEFAULT_THRESHOLDS


def set_plan_enforcement(plan_id: int, *, policy: str, thresholds: str, cascade: str,
                         rate_limit: str, shaped_rate_limit: str) -> Plan:
    """Change a plan's quota policy, thresholds, cascade order and rate limits."""
    from .quotas import parse_cascade

    plan = get_or_not_found(Plan, plan_id, "plan")
    errors = FieldErrors()
    if policy not in QUOTA_POLICIES:
        errors.add("quota_policy", "invalid")
    try:
        thresholds = ",".join(str(t) for t in parse_thresholds(thresholds))
    except ValueError:
        errors.add("quota_thresholds", "invalid")
    try:
        parse_cascade(cascade)
    except Exception:  # Invalid
        errors.add("quota_cascade", "invalid")
    for field, value in (("rate_limit", rate_limit), ("shaped_rate_limit", shaped_rate_limit)):
        if value and value.strip():
            try:
                coa.rate_attributes(value.strip())
            except ValueError:
                errors.add(field, "invalid")
    if policy == "shape" and not (shaped_rate_limit or "").strip():
        errors.add("shaped_rate_limit", "required")
    errors.raise_if_any()
    plan.quota_policy = policy
    plan.quota_thresholds = thresholds
    plan.quota_cascade = (cascade or "").strip() or None
    plan.rate_limit = (rate_limit or "").strip() or None
    plan.shaped_rate_limit = (shaped_rate_limit or "").strip() or None
    db.session.flush()
    return plan


# -- after a draw (inside the ingesting transaction, balances locked) ---------------------
def after_draw(touched: list[tuple[QuotaPool, dict, Decimal, set[int]]], exhausted: list[Exhaustion],
               plans: dict[int, Plan]) -> None:
    for pool, balance, used_before, drawers in touched:
        available = balance["opening"] + balance["topped_up"]
        used_after = balance["used"]
        if used_after <= used_before:
            continue
        account_id = pool.account_id if pool.scope == "account" else (min(drawers) if len(drawers) == 1 else None)
        percents = set()
        try:
            percents.update(parse_thresholds(pool.thresholds) if pool.thresholds else ())
        except ValueError:
            pass
        if not percents:  # the pool's own percentages, else those of the drawing accounts' plans
            for drawer in drawers or {None}:
                percents.update(_thresholds(plans.get(drawer)))
        if available > 0:
            for percent in sorted(percents):
                mark = available * percent / 100
                if used_before < mark <= used_after and _notice(pool, balance, "threshold", percent, account_id):
                    with realm_context(pool.realm_id):
                        emit("quota.threshold", account=account_id, data={
                            "pool_id": pool.id, "pool": pool.name, "percent": percent, "unit": pool.unit,
                            "period_start": balance["period_start"], "used": used_after, "available": available})
        if available - used_before > 0 >= available - used_after and _notice(pool, balance, "exhausted", 100, account_id):
            with realm_context(pool.realm_id):
                emit("quota.exhausted", account=account_id, data={
                    "pool_id": pool.id, "pool": pool.name, "unit": pool.unit,
                    "period_start": balance["period_start"], "used": used_after, "available": available})
    # overage: the bands rate what the pools did not cover; nothing to enforce.
    enforced = [item for item in exhausted
                if plans.get(item.account.id) is not None and plans[item.account.id].quota_policy in ("shape", "suspend")]
    if not enforced:
        return
    table = Enforcement.__table__
    known = set()
    ids = sorted({item.account.id for item in enforced})
    for start in range(0, len(ids), 500):  # one look-up per batch, not one per account
        known.update(db.session.execute(select(table.c.account_id, table.c.dimension, table.c.period_start).where(
            table.c.account_id.in_(ids[start:start + 500]))).all())
    for item in enforced:
        if (item.account.id, item.dimension, item.period_start) not in known:
            _open(item, plans[item.account.id])


def _insert_once(table, values: dict, keys: list[str]) -> int | None:
    """Insert ``values`` unless a row with the same unique ``keys`` exists; the new id or None.

    Looked up first: callers hold the pool balances locked, so a concurrent ingester
    that drew before us has committed its row and we see it without inserting (an insert
    that conflicts would wait for a job that holds the row locked). The conflict clause
    covers the rest."""
    condition = [table.c[k] == values[k] for k in keys]
    if db.session.execute(select(table.c.id).where(*condition)).first() is not None:
        return None
    if db.session.connection().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return db.session.execute(pg_insert(table).values(values).on_conflict_do_nothing(
            index_elements=keys).returning(table.c.id)).scalar()
    return db.session.execute(insert(table).values(values)).inserted_primary_key[0]


def _notice(pool: QuotaPool, balance: dict, kind: str, percent: int, account_id: int | None) -> bool:
    return _insert_once(QuotaNotice.__table__, {
        "pool_id": pool.id, "period_start": balance["period_start"], "kind": kind, "percent": percent,
        "account_id": account_id, "realm_id": pool.realm_id, "created_at": _now(),
    }, ["pool_id", "period_start", "kind", "percent"]) is not None


def _open(item: Exhaustion, plan: Plan) -> None:
    account = item.account
    new_id = _insert_once(Enforcement.__table__, {
        "account_id": account.id, "pool_id": item.pool_id, "dimension": item.dimension,
        "period_start": item.period_start, "period_end": item.period_end, "policy": plan.quota_policy,
        "state": "pending", "rate_limit": plan.shaped_rate_limit, "normal_rate_limit": plan.rate_limit,
        "attempts": 0, "realm_id": account.realm_id, "created_at": _now(),
    }, ["account_id", "dimension", "period_start"])
    if new_id is None:
        return
    realm_id = account.realm_id

    def enqueue_apply() -> None:
        from workers.enforcement import apply_enforcement_job
        from workers.queues import enqueue

        enqueue(apply_enforcement_job, realm_id, new_id, queue="default", job_id=f"enforcement-{new_id}")

    after_commit(enqueue_apply)


# -- reading ------------------------------------------------------------------------------
def get_enforcement(enforcement_id: int, *, lock: bool = False) -> Enforcement:
    query = select(Enforcement).where(Enforcement.id == enforcement_id)
    if lock and db.session.connection().dialect.name == "postgresql":
        query = query.with_for_update()
    enforcement = db.session.scalar(query)
    if enforcement is None:
        raise NotFound("enforcement")
    return enforcement


def list_enforcements(*, state: str | None = None, limit: int = 200) -> list[Enforcement]:
    query = select(Enforcement).order_by(Enforcement.id.desc()).limit(limit)
    if state:
        query = query.where(Enforcement.state == state)
    return list(db.session.scalars(query))


def login_attributes(account_id: int) -> dict:
    """Attributes a login of the account should get now, for the provisioning service spec
    (the radius_file users file): while shaped, ``rate_limit`` is the shaped downstream rate
    in bit/s — a bare figure, which both Mikrotik-Rate-Limit and WISPr-Bandwidth-Max-Down
    accept."""
    shaped = db.session.scalar(select(Enforcement.rate_limit).where(
        Enforcement.account_id == account_id, Enforcement.policy == "shape",
        Enforcement.state.in_(LIVE_STATES)).order_by(Enforcement.id.desc()).limit(1))
    if not shaped:
        return {}
    try:
        return {"rate_limit": str(coa.parse_rate(shaped)[1])}
    except ValueError:
        return {}


# -- talking to the NAS -------------------------------------------------------------------
def _nas_for(address: str | None) -> tuple[NasClient, str] | None:
    """The NAS of the current realm (or of a realm above it, whose network it resells)
    at ``address``, with its decrypted secret. Never a NAS of an unrelated realm."""
    if not address:
        return None
    realm_id = require_realm_id()
    seen = set()
    while realm_id is not None and realm_id not in seen:
        seen.add(realm_id)
        with realm_context(realm_id):
            nas = db.session.scalar(select(NasClient).where(NasClient.address == address))
            if nas is not None:
                secret = secret_box().decrypt(nas.secret_enc, context=f"realm:{realm_id}:nas.secret")
                return nas, secret
        realm_id = db.session.scalar(select(Realm.parent_id).where(Realm.id == realm_id))
    return None


def _send(target: EnforcementTarget, session: RadiusSession, code: int, extra: list) -> coa.CoaReply | None:
    """One request for one session; the reply, or None (no answer / unknown NAS)."""
    found = _nas_for(session.nas)
    target.attempts += 1
    target.sent_at = _now()
    if found is None:
        target.state = "failed"
        return None
    nas, secret = found
    # The User-Name as the NAS knows it (e.g. alice@visp.example), from the session's accounting.
    username = db.session.scalar(select(UsageRecord.username).where(
        UsageRecord.session_key == session.session_key, UsageRecord.username.is_not(None)).limit(1))
    if username is None:
        account = db.session.get(Account, session.account_id)
        username = account.username if account else None
    attributes = coa.session_attributes(username=username, session_id=session.session_id,
                                        framed_ip=session.framed_ip) + extra
    try:
        reply = coa.send(code, host=nas.address, port=nas.coa_port, secret=secret, attributes=attributes,
                         timeout=current_timeout(), retries=1)
    except (coa.CoaError, OSError) as exc:
        log.warning("enforcement %s: %s to %s failed: %s", target.enforcement_id, code, nas.address,
                    getattr(exc, "code", type(exc).__name__))
        target.state = "unanswered"
        return None
    target.reply_code, target.error_cause = reply.code, reply.error_cause
    return reply


def current_timeout() -> float:
    from flask import current_app

    return float(current_app.config.get("COA_TIMEOUT", 2.0))


def _target(enforcement: Enforcement, session: RadiusSession, action: str) -> EnforcementTarget:
    for target in enforcement.targets:
        if target.session_id == session.id and target.action == action:
            return target
    target = EnforcementTarget(enforcement=enforcement, session_id=session.id, nas=session.nas,
                               action=action, state="pending", attempts=0, realm_id=enforcement.realm_id)
    db.session.add(target)
    return target


def _shape(target: EnforcementTarget, session: RadiusSession, rate_limit: str) -> None:
    reply = _send(target, session, coa.COA_REQUEST, coa.rate_attributes(rate_limit))
    if reply is None:
        return
    if reply.acked:
        target.state = "sent"
    elif reply.session_not_found:
        _confirm(target)
    else:
        # The NAS cannot change the session: end it (RFC 5176 Disconnect-Message).
        target.state = "rejected"
        _disconnect(target.enforcement, session)


def _disconnect(enforcement: Enforcement, session: RadiusSession) -> EnforcementTarget:
    target = _target(enforcement, session, "disconnect")
    reply = _send(target, session, coa.DISCONNECT_REQUEST, [])
    if reply is not None:
        if reply.acked:
            target.state = "sent"
        elif reply.session_not_found:
            _confirm(target)
        else:
            target.state = "failed"
    return target


def _confirm(target: EnforcementTarget) -> None:
    target.state = "confirmed"
    target.confirmed_at = target.confirmed_at or _now()


def _open_sessions(account_id: int) -> list[RadiusSession]:
    return list(db.session.scalars(select(RadiusSession).where(
        RadiusSession.account_id == account_id, RadiusSession.stopped_at.is_(None)).order_by(RadiusSession.id)))


# -- the job bodies -----------------------------------------------------------------------
def apply_enforcement(enforcement_id: int) -> Enforcement:
    """Carry out a pending enforcement (once: the row is locked and its state checked)."""
    enforcement = get_enforcement(enforcement_id, lock=True)
    if enforcement.state != "pending":
        return enforcement
    enforcement.attempts = 1
    enforcement.sent_at = _now()
    if enforcement.policy == "suspend":
        from .accounts import suspend_account

        try:
            suspend_account(enforcement.account_id, reason="quota_exhausted")
        except NotAllowed as exc:  # a closed account: nothing to suspend, nothing to retry
            enforcement.state, enforcement.last_error = "failed", exc.code
            db.session.flush()
            return enforcement
        for session in _open_sessions(enforcement.account_id):
            _disconnect(enforcement, session)
    elif enforcement.policy == "shape":
        for session in _open_sessions(enforcement.account_id):
            _shape(_target(enforcement, session, "coa"), session, enforcement.rate_limit)
        _reprovision(enforcement.account_id, reason="quota.exhausted")
    db.session.flush()
    _settle(enforcement)
    db.session.flush()
    return enforcement


def _reprovision(account_id: int, *, reason: str) -> None:
    """Regenerate what the providing systems hold (users file: shaped rate at next login)."""
    from app.models.provisioning import Service

    from .provisioning.operations import queue_operation

    for service_id in db.session.scalars(select(Service.id).where(
            Service.account_id == account_id, Service.status == "active", Service.module_id.is_not(None))):
        queue_operation(service_id, "update_details", reason=reason)


def _settle(enforcement: Enforcement) -> None:
    """Derive the enforcement's state from its targets."""
    targets = [t for t in enforcement.targets if t.action != "restore"]
    live = {}
    for target in targets:  # the latest action per session decides
        live[target.session_id] = target
    if all(t.state == "confirmed" for t in live.values()):
        enforcement.state = "confirmed"
        enforcement.confirmed_at = enforcement.confirmed_at or _now()
        return
    if any(t.action == "disconnect" for t in live.values() if t.state != "confirmed"):
        if all(t.state in ("failed", "unanswered") for t in live.values() if t.state != "confirmed"):
            enforcement.state = "failed"
            enforcement.last_error = "nas_unreachable"
        else:
            enforcement.state = "disconnected"
        return
    unanswered = all(t.state in ("failed", "unanswered") for t in live.values() if t.state != "confirmed")
    if enforcement.attempts <= 1 and not unanswered:
        enforcement.state = "sent"
    else:
        enforcement.state = "retrying"  # re-sent, or to be re-sent by the periodic check
    enforcement.last_error = "nas_unreachable" if unanswered else None


def _observe(target: EnforcementTarget, enforcement: Enforcement) -> None:
    """Confirm a target when accounting shows it: session stopped, or the shaped rate."""
    session = db.session.get(RadiusSession, target.session_id)
    if session is None or session.stopped_at is not None:
        _confirm(target)
        return
    if target.action != "coa" or target.sent_at is None or not enforcement.rate_limit:
        return
    up, down = coa.parse_rate(enforcement.rate_limit)
    row = db.session.execute(select(
        func.coalesce(func.sum(UsageRecord.bytes_in + UsageRecord.bytes_out), 0),
        func.coalesce(func.sum(UsageRecord.duration_s), 0), func.count(UsageRecord.id),
    ).where(UsageRecord.session_key == session.session_key, UsageRecord.status == "interim",
            UsageRecord.event_time > target.sent_at)).one()
    octets, seconds, count = row
    if count and seconds > 0 and Decimal(octets * 8) / Decimal(seconds) <= (up + down) * RATE_TOLERANCE:
        _confirm(target)


def check_enforcements(*, now: datetime | None = None) -> dict:
    """The closed loop for one realm: confirm from accounting, re-send, disconnect, lift
    enforcements of ended periods. Safe to run any number of times."""
    now = now or _now()
    counts = {"confirmed": 0, "retried": 0, "disconnected": 0, "lifted": 0}
    for enforcement in db.session.scalars(select(Enforcement).where(
            Enforcement.state.in_(LIVE_STATES)).order_by(Enforcement.id)):
        if enforcement.period_end <= now.date():
            lift(enforcement, reason="new_period")
            counts["lifted"] += 1
            continue
        if enforcement.state not in OPEN_STATES or enforcement.state == "pending":
            continue
        for target in enforcement.targets:
            if target.action != "restore" and target.state != "confirmed":
                _observe(target, enforcement)
        _settle(enforcement)
        if enforcement.state == "confirmed":
            counts["confirmed"] += 1
            continue
        last = max((t.sent_at for t in enforcement.targets if t.sent_at), default=enforcement.sent_at)
        if last is not None and now - last < RETRY_AFTER:
            continue
        open_targets = {t.session_id: t for t in enforcement.targets if t.action != "restore"}
        pending = [t for t in open_targets.values() if t.state != "confirmed"]
        if enforcement.state == "disconnected" or enforcement.state == "failed":
            continue
        enforcement.attempts += 1
        enforcement.sent_at = now
        if enforcement.policy == "shape" and enforcement.attempts <= MAX_ATTEMPTS:
            for target in pending:
                session = db.session.get(RadiusSession, target.session_id)
                _shape(target, session, enforcement.rate_limit)
            counts["retried"] += 1
        else:
            for target in pending:
                _disconnect(enforcement, db.session.get(RadiusSession, target.session_id))
            counts["disconnected"] += 1
        db.session.flush()
        _settle(enforcement)
    db.session.flush()
    return counts


# -- lifting ------------------------------------------------------------------------------
def lift_for_pool(pool: QuotaPool, *, on: date, reason: str) -> list[int]:
    """A pool grew (top-up, voucher): lift the enforcements it now covers."""
    from .quotas import remaining_for

    dimension = lookup(pool.unit).dimension
    query = select(Enforcement).where(Enforcement.state.in_(LIVE_STATES), Enforcement.dimension == dimension)
    if pool.scope == "account":
        query = query.where(Enforcement.account_id == pool.account_id)
    lifted = []
    for enforcement in db.session.scalars(query.order_by(Enforcement.id)):
        if remaining_for(enforcement.account, dimension=dimension, on=on) > 0:
            lift(enforcement, reason=reason)
            lifted.append(enforcement.id)
    return lifted


def lift(enforcement: Enforcement, *, reason: str) -> Enforcement:
    """The quota is back: normal service again (resume, or a CoA with the normal rate)."""
    if enforcement.state == "lifted":
        return enforcement
    enforcement.state = "lifted"
    enforcement.lifted_at = _now()
    enforcement.last_error = None
    db.session.flush()
    if enforcement.policy == "suspend":
        account = db.session.get(Account, enforcement.account_id)
        if account is not None and account.status == "suspended" and _suspended_for_quota(account.id):
            from .accounts import resume_account

            try:
                resume_account(account.id, reason=f"quota_{reason}")
            except NotAllowed:  # closed meanwhile: stays as it is
                pass
    else:
        _reprovision(enforcement.account_id, reason=f"quota.{reason}")
        realm_id, enforcement_id = enforcement.realm_id, enforcement.id

        def enqueue_restore() -> None:
            from workers.enforcement import restore_enforcement_job
            from workers.queues import enqueue

            enqueue(restore_enforcement_job, realm_id, enforcement_id, queue="default",
                    job_id=f"enforcement-restore-{enforcement_id}")

        after_commit(enqueue_restore)
    return enforcement


def _suspended_for_quota(account_id: int) -> bool:
    """Whether the account's latest suspension was ours (not, say, for an unpaid invoice)."""
    from app.models.events import Event

    data = db.session.scalar(select(Event.data).where(
        Event.account_id == account_id, Event.type == "account.suspended").order_by(Event.id.desc()).limit(1))
    return (data or {}).get("reason") == "quota_exhausted"


def restore_normal_rate(enforcement_id: int) -> Enforcement:
    """After a lift: a CoA with the normal rate to each open session (once per session);
    without a known normal rate the session is disconnected so it logs in unshaped."""
    enforcement = get_enforcement(enforcement_id, lock=True)
    if enforcement.state != "lifted" or enforcement.policy != "shape":
        return enforcement
    for session in _open_sessions(enforcement.account_id):
        if any(t.session_id == session.id and t.action == "restore" for t in enforcement.targets):
            continue
        target = _target(enforcement, session, "restore")
        if enforcement.normal_rate_limit:
            reply = _send(target, session, coa.COA_REQUEST, coa.rate_attributes(enforcement.normal_rate_limit))
        else:
            reply = _send(target, session, coa.DISCONNECT_REQUEST, [])
        if reply is not None:
            target.state = "confirmed" if reply.acked or reply.session_not_found else "failed"
    db.session.flush()
    return enforcement


def realms_with_open_enforcements() -> list[int]:
    with all_realms():
        return list(db.session.scalars(select(Enforcement.realm_id).where(
            Enforcement.state.in_(LIVE_STATES)).distinct().order_by(Enforcement.realm_id)))
