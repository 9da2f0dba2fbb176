"""The audit log: every change made through the ORM is recorded once, centrally.

Rather than asking each service to remember to log, one ``after_flush`` hook looks at what
the unit of work inserted, updated or deleted and writes an ``AuditEntry`` per row in the
same transaction (so a rolled-back change leaves no entry, and a committed one always has
one). Who did it comes from ``current_actor()``: the signed-in staff user or subscriber, the
API key of the request, or the job/CLI that declared itself with ``acting_as``. Bulk paths
that bypass the ORM (billing runs, usage imports) call ``record`` with a summary instead.

Secrets never reach the log: columns whose names mark them as secret are recorded as
changed, with their values replaced by a marker. High-volume bookkeeping tables (usage,
counters, the log itself) are left out; they have their own idempotent records.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import event, insert, inspect, select
from sqlalchemy.orm import Session

from app.extensions import db
from app.models.audit import AuditEntry
from tenants import current_realm_id
from tenants.scoping import RealmScoped

REDACTED = "[secret]"
_SECRET_COLUMN = re.compile(r"(password|secret|token|pin|hash|cipher|encrypted|private|api_key|key_)", re.I)
# Bookkeeping that changes with every record ingested or job step: audited by summary instead.
UNAUDITED_TABLES = frozenset({
    "audit_entries", "usage_records", "usage_rejects", "usage_imports", "radius_sessions",
    "quota_draws", "quota_balances", "invoice_counters", "billing_runs", "meters",
    "idempotency_keys", "events", "mail_log", "operation_attempts", "webhook_deliveries",
})
LIST_LIMIT = 200


@dataclass(frozen=True)
class Actor:
    kind: str  # staff | subscriber | api_key | system
    id: int | None
    label: str
    source: str


_declared_actor: ContextVar[Actor | None] = ContextVar("realmbill_audit_actor", default=None)


@contextmanager
def acting_as(kind: str, label: str, *, actor_id: int | None = None, source: str = "") -> Iterator[Actor]:
    """Declare who is acting for the enclosed block (jobs, CLI commands, API requests)."""
    actor = Actor(kind, actor_id, label, source or kind)
    token = _declared_actor.set(actor)
    try:
        yield actor
    finally:
        _declared_actor.reset(token)


def current_actor() -> Actor:
    declared = _declared_actor.get()
    if declared is not None:
        return declared
    from flask import has_request_context, request

    if has_request_context():
        from flask import g
        from flask_login import current_user

        source = (request.remote_addr or "")[:100]
        api_key = g.get("api_key")
        if api_key is not None:
            label = getattr(api_key, "name", None) or getattr(api_key, "prefix", "api key")
            return Actor("api_key", getattr(api_key, "id", None), str(label)[:200], source)
        user = current_user._get_current_object() if current_user else None
        if user is not None and getattr(user, "is_authenticated", False):
            kind = "staff" if getattr(user, "kind", "") == "staff" else "subscriber"
            label = getattr(user, "email", None) or getattr(user, "username", "") or str(user.id)
            return Actor(kind, _numeric_id(user), str(label)[:200], source)
        return Actor("system", None, "anonymous", source)
    return Actor("system", None, "system", "process")


def _numeric_id(user) -> int | None:
    value = getattr(user, "id", None)
    return value if isinstance(value, int) else None


def record(action: str, *, entity: str, entity_id=None, changes: dict | None = None) -> None:
    """Record a change that did not go through the ORM (bulk paths), in the current transaction."""
    realm_id = current_realm_id()
    if realm_id is None:
        return
    _write(db.session, [_row(realm_id, action, entity, entity_id, changes or {})])


def list_entries(*, entity: str = "", actor_kind: str = "", action: str = "", text: str = "",
                 since: date | None = None, until: date | None = None,
                 limit: int | None = LIST_LIMIT) -> list[AuditEntry]:
    query = select(AuditEntry).order_by(AuditEntry.id.desc())
    if entity:
        query = query.where(AuditEntry.entity == entity)
    if actor_kind:
        query = query.where(AuditEntry.actor_kind == actor_kind)
    if action:
        query = query.where(AuditEntry.action == action)
    if text:
        like = f"%{text}%"
        query = query.where(AuditEntry.actor_label.ilike(like) | AuditEntry.entity_id.ilike(like))
    if since:
        query = query.where(AuditEntry.occurred_at >= datetime.combine(since, datetime.min.time(), UTC))
    if until:
        query = query.where(AuditEntry.occurred_at < datetime.combine(until, datetime.max.time(), UTC))
    if limit:
        query = query.limit(limit)
    return list(db.session.scalars(query))


def entities() -> list[str]:
    return list(db.session.scalars(select(AuditEntry.entity).distinct().order_by(AuditEntry.entity)))


def export_csv(**filters) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["id", "occurred_at", "actor_kind", "actor", "source", "action", "entity",
                     "entity_id", "field", "before", "after"])
    for entry in list_entries(limit=None, **filters):
        base = [entry.id, entry.occurred_at.isoformat(), entry.actor_kind, entry.actor_label,
                entry.source, entry.action, entry.entity, entry.entity_id or ""]
        fields = entry.changes or {}
        if not fields:
            writer.writerow([*base, "", "", ""])
        for field, (before, after) in sorted(fields.items()):
            writer.writerow([*base, field, _cell(before), _cell(after)])
    return out.getvalue()


def _cell(value) -> str:
    return "" if value is None else str(value)


# ---------------------------------------------------------------- the hook
def _plain(value):
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes):
        return REDACTED
    if isinstance(value, dict | list | str | int | float | bool) or value is None:
        return value
    return str(value)


def _is_secret(column_name: str) -> bool:
    return bool(_SECRET_COLUMN.search(column_name))


def _changes(obj, action: str) -> dict:
    state = inspect(obj)
    changes = {}
    for attr in state.mapper.column_attrs:
        key = attr.key
        if key in ("id", "realm_id", "created_at", "updated_at"):
            continue
        history = state.attrs[key].history
        if action == "update" and not history.has_changes():
            continue
        if action == "delete":
            before, after = state.attrs[key].value, None
        elif action == "create":
            before, after = None, state.attrs[key].value
            if after is None:
                continue
        else:
            before = history.deleted[0] if history.deleted else None
            after = history.added[0] if history.added else None
        if _is_secret(key):
            before = REDACTED if before is not None else None
            after = REDACTED if after is not None else None
        else:
            before, after = _plain(before), _plain(after)
        if before != after or action != "update":
            changes[key] = [before, after]
    return changes


def _row(realm_id: int, action: str, entity: str, entity_id, changes: dict) -> dict:
    actor = current_actor()
    return {
        "realm_id": realm_id, "occurred_at": datetime.now(UTC), "actor_kind": actor.kind,
        "actor_id": actor.id, "actor_label": actor.label, "source": actor.source[:100],
        "action": action, "entity": entity[:60],
        "entity_id": None if entity_id is None else str(entity_id)[:40], "changes": changes,
    }


def _audited(obj) -> bool:
    return isinstance(obj, RealmScoped) and obj.__table__.name not in UNAUDITED_TABLES


def _collect(session: Session, flush_context) -> None:
    rows = []
    for action, objects in (("create", session.new), ("update", session.dirty),
                            ("delete", session.deleted)):
        for obj in objects:
            if not _audited(obj):
                continue
            if action == "update" and not session.is_modified(obj, include_collections=False):
                continue
            changes = _changes(obj, action)
            if action == "update" and not changes:
                continue
            realm_id = obj.realm_id or current_realm_id()
            if realm_id is None:
                continue
            key = inspect(obj).mapper.primary_key_from_instance(obj)
            entity_id = key[0] if len(key) == 1 else "/".join(map(str, key))
            rows.append(_row(realm_id, action, obj.__table__.name, entity_id, changes))
    if rows:
        _write(session, rows)


def _write(session: Session, rows: list[dict]) -> None:
    session.connection().execute(insert(AuditEntry.__table__), rows)


def install_audit_log(session_class=Session) -> None:
    """Idempotently attach the audit hook to a Session class."""
    if not event.contains(session_class, "after_flush", _collect):
        event.listen(session_class, "after_flush", _collect)
