"""Usage records sent through the API: checked one by one, ingested by the bulk path.

Each record carries the client's id; stored as ``<realm id>:<id>`` under source ``api`` so
ids of different realms never collide, and sending a record again is a duplicate, never a
second charge. The answer says, per record, what became of it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from sqlalchemy import ARRAY, String, bindparam, func, select

from app.extensions import db
from app.mediation.records import UsageEvent
from app.models import UsageImport, UsageRecord, UsageReject
from tenants import require_realm_id

from ..usage.ingest import _describe, ingest

SOURCE = "api"
MAX_RECORDS = 10_000


@dataclass
class BatchResult:
    import_id: int
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    errors: list[dict] = field(default_factory=list)
    duplicate_ids: list[str] = field(default_factory=list)


def _moment(value, name: str, errors: list) -> datetime | None:
    if not isinstance(value, str):
        errors.append((name, "required" if value is None else "wrong_type"))
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        errors.append((name, "bad_timestamp"))
        return None
    if moment.tzinfo is None:
        errors.append((name, "no_time_zone"))
        return None
    return moment.astimezone(UTC)


def _event(record: dict, realm_id: int) -> tuple[UsageEvent | None, list[tuple[str, str]]]:
    errors: list[tuple[str, str]] = []
    event_time = _moment(record.get("event_time"), "event_time", errors)
    start = _moment(record["start"], "start", errors) if record.get("start") is not None else event_time
    numbers = {}
    for name in ("duration_s", "bytes_in", "bytes_out"):
        value = record.get(name, 0)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0 or value >= 2**53:
            errors.append((name, "invalid"))
        numbers[name] = value
    quantity = None
    if record.get("quantity") is not None:
        try:
            quantity = Decimal(str(record["quantity"]))
            if not quantity.is_finite() or quantity < 0 or quantity.as_tuple().exponent < -6 or quantity >= 10**12:
                raise InvalidOperation
        except (InvalidOperation, ValueError):
            errors.append(("quantity", "invalid"))
        if not record.get("unit"):
            errors.append(("unit", "required"))
    if not record.get("username") and not record.get("ip"):
        errors.append(("username", "required"))
    if errors:
        return None, errors
    return UsageEvent(
        source=SOURCE, source_record_id=f"{realm_id}:{record['id']}", username=record.get("username"),
        ip=record.get("ip"), nas=record.get("nas"), session_id=record.get("session_id"), status="cdr",
        event_time=event_time, start=start, duration_s=numbers["duration_s"], bytes_in=numbers["bytes_in"],
        bytes_out=numbers["bytes_out"], quantity=quantity, unit=record.get("unit") if quantity is not None else None,
        destination=record.get("destination"), file="api", line=None,
    ), []


def _stored(ids: list[str]) -> set[str]:
    """Which of ``ids`` are stored. Records attributed to a realm below this one are stored
    there, so every realm is searched (the ids carry this realm's id: no other realm matches)."""
    if not ids:
        return set()
    query = select(UsageRecord.source_record_id).where(UsageRecord.source == SOURCE)
    if db.session.connection().dialect.name == "postgresql":
        # One array parameter, joined as a set (a long IN list is compared row by row).
        wanted = select(func.unnest(bindparam("ids", ids, type_=ARRAY(String)))).scalar_subquery()
        return set(db.session.scalars(query.where(UsageRecord.source_record_id.in_(wanted))
                                      .execution_options(all_realms=True)))
    found: set[str] = set()
    for start in range(0, len(ids), 500):
        found.update(db.session.scalars(
            query.where(UsageRecord.source_record_id.in_(ids[start:start + 500]))
            .execution_options(all_realms=True)))
    return found


def ingest_api_batch(records: list[dict], *, name: str = "API batch") -> BatchResult:
    """Check and ingest up to 10,000 records of the current realm."""
    realm_id = require_realm_id()
    batch = UsageImport(source=SOURCE, name=name[:300])
    db.session.add(batch)
    db.session.flush()
    result = BatchResult(batch.id)
    events: list[tuple[int, dict, UsageEvent]] = []
    seen: set[str] = set()
    for index, record in enumerate(records[:MAX_RECORDS]):
        event, problems = _event(record, realm_id)
        if event is None:
            result.rejected += 1
            result.errors.extend({"index": index, "id": record.get("id"), "field": f, "code": c}
                                 for f, c in problems)
            continue
        if event.source_record_id in seen:
            result.duplicates += 1
            result.duplicate_ids.append(record["id"])
            continue
        seen.add(event.source_record_id)
        events.append((index, record, event))
    ids = [e.source_record_id for _, _, e in events]
    before = _stored(ids)
    fresh = [(i, r, e) for i, r, e in events if e.source_record_id not in before]
    for _, record, _ in (x for x in events if x[2].source_record_id in before):
        result.duplicates += 1
        result.duplicate_ids.append(record["id"])
    if fresh:
        ingest([e for _, _, e in fresh], import_id=batch.id)
    after = _stored([e.source_record_id for _, _, e in fresh])
    missing = [(i, r, e) for i, r, e in fresh if e.source_record_id not in after]
    result.accepted = len(fresh) - len(missing)
    if missing:
        reasons = {row.raw: row for row in db.session.scalars(select(UsageReject).where(
            UsageReject.raw.in_([_describe(e)[:2000] for _, _, e in missing])))}
        for index, record, event in missing:
            reason = reasons.get(_describe(event)[:2000])
            result.rejected += 1
            result.errors.append({"index": index, "id": record["id"],
                                  "field": reason.field if reason else None,
                                  "code": reason.code if reason else "not_stored"})
    batch.accepted, batch.duplicates, batch.rejected = result.accepted, result.duplicates, result.rejected
    batch.status, batch.finished_at = "done", datetime.now(UTC)
    db.session.flush()
    return result
