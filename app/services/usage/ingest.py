"""Ingest usage: parsed records in, attributed and idempotent rows out, rejects kept.

One function serves every source (CDR files, FreeRADIUS detail files, the RADIUS
accounting listener, the API): records are processed in batches; each batch is attributed
with a few queries, RADIUS sessions are advanced (cumulative counters → per-record
deltas, app/mediation/counters.py) with their state stored in ``radius_sessions``, and the
rows are written in bulk (writer.py). Nothing here creates one ORM object per record.
"""

from __future__ import annotations

import hashlib
import json
import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta, tzinfo
from decimal import Decimal
from pathlib import Path

from sqlalchemy import String, any_, bindparam, insert, select, update
from sqlalchemy.dialects.postgresql import ARRAY

from app.extensions import db
from app.mediation.cdr_csv import event_of
from app.mediation.counters import CounterError, SessionCounters, meter_delta, to_delta
from app.mediation.records import MediationFileError, Reject, UsageEvent
from app.models import Meter, QuotaPool, RadiusSession, UsageImport, UsageRecord, UsageReject
from tenants import all_realms, require_realm_id

from ..quotas import draw_usage
from .attribution import Attributor, Unattributable
from .writer import UsageWriter, as_dicts

BATCH_SIZE = 20000
_NULL = "\\N"  # NULL in COPY text format
SESSION_STATUSES = {"start", "interim", "stop"}


@dataclass
class IngestCounts:
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    inserted_rows: list[dict] = field(default_factory=list, repr=False)

    @property
    def seen(self) -> int:
        return self.accepted + self.duplicates + self.rejected


def import_usage_file(
    path: str | Path,
    *,
    kind: str,
    default_tz: tzinfo = UTC,
    progress: Callable[[int], None] | None = None,
    bulk: bool = True,
) -> UsageImport:
    """Import a CDR (``kind="cdr"``), FreeRADIUS detail (``"detail"``) or meter-readings
    (``"meter"``) file.

    A file that cannot be read as a whole (bad header) raises MediationFileError before
    anything is written; bad or unattributable records become rejects with file and line.

    ``bulk=False`` reads a CDR file record by record as UsageEvents through the general
    path: the reference the bulk path (plain tuples, staged rows) is tested against.
    """
    from app.mediation.cdr_csv import parse_cdr
    from app.mediation.meter_csv import parse_readings
    from app.mediation.radius_detail import parse_detail

    path = Path(path)
    raw = path.read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    if b"\x00" in raw:
        # Text files never hold NUL; PostgreSQL text refuses it, so say so before writing.
        line = raw[:raw.index(b"\x00")].count(b"\n") + 1
        raise MediationFileError(path.name, line, None, "contains a NUL byte: not a text file")
    with path.open(encoding="utf-8-sig", newline="", errors="strict") as stream:
        if kind == "cdr":
            # Good rows as plain tuples of their values: no event object per record (see _process).
            items = parse_cdr(stream, path.name, default_tz, fields=bulk)
        elif kind == "meter":
            items = parse_readings(stream, path.name, default_tz)
        elif kind == "detail":
            items = parse_detail(stream, path.name, default_tz)
        else:
            raise ValueError(f"unknown usage file kind {kind!r}")
        header = None
        if kind == "cdr":
            with path.open(encoding="utf-8-sig", newline="") as head:
                header = head.readline().rstrip("\r\n")
        batch = UsageImport(source=kind, name=path.name, sha256=digest, header=header)
        db.session.add(batch)
        db.session.flush()
        # The parser runs up to a whole batch ahead, so it parses the next batch while this
        # one is written (the database work releases the GIL).
        staging = None
        if kind == "cdr" and bulk:
            staging = _postgres_tails if db.session.connection().dialect.name == "postgresql" else _sqlite_tails
        counts = ingest(read_ahead_chunks(items, depth=BATCH_SIZE // 2000 + 2, transform=staging),
                        import_id=batch.id, progress=progress, chunked=True)
    batch.accepted, batch.duplicates, batch.rejected = counts.accepted, counts.duplicates, counts.rejected
    batch.status = "done"
    batch.finished_at = datetime.now(UTC)
    db.session.flush()
    return batch


def _with_tails(chunk: list, tail_of) -> list:
    """A chunk with each CDR tuple extended by ``tail_of(tuple)`` (its staging values, or
    None where the row is not for the staged path); rejects and events pass unchanged."""
    return [(*item, tail_of(item)) if type(item) is tuple else item for item in chunk]


def _postgres_tails(chunk: list) -> list:
    """CDR tuples of a chunk with their staging line after realm and account appended
    (writer.CDR_STAGING_COLUMNS, COPY text format), or None where the row is not for the
    staged path (a note, a long duration, a value COPY would need escaped)."""
    return _with_tails(chunk, _postgres_tail)


def _postgres_tail(item: tuple) -> str | None:
    (rid, username, ip, nas, _, start, start_text, duration, bytes_in, bytes_out,
     quantity, unit, destination, _, notes, _) = item
    if notes or duration >= 1_000_000_000:
        return None
    text = f"{rid}{username or ''}{nas or ''}{destination or ''}{unit or ''}"
    if not text.isprintable() or "\\" in text:  # COPY would need it escaped
        return None
    return (f"{rid}\t{username or _NULL}\t{ip or _NULL}\t{nas or _NULL}\t"
            f"{start_text or start.isoformat()}\t"
            f"{duration}\t{bytes_in}\t{bytes_out}\t{_NULL if quantity is None else quantity}\t"
            f"{unit or _NULL}\t{destination or _NULL}\n")


def _sqlite_tails(chunk: list) -> list:
    """CDR tuples of a chunk with their staging values after realm and account appended:
    UTCDateTime's SQLite text of a whole-second UTC start (SQLite computes the event time
    from it exactly), the quantity in micro-units; None where the row is not for the
    staged path."""
    from sqlalchemy.dialects import sqlite

    to_micro = UsageRecord.__table__.c.quantity.type._cached_bind_processor(sqlite.dialect())

    def tail_of(item: tuple) -> tuple | None:
        (rid, username, ip, nas, _, _, start_text, duration, bytes_in, bytes_out,
         quantity, unit, destination, _, notes, _) = item
        if not start_text or duration >= 1_000_000_000:
            return None
        return (rid, username, ip, nas, f"{start_text[:10]} {start_text[11:19]}.000000", duration,
                bytes_in, bytes_out, None if quantity is None else to_micro(quantity), unit, destination)

    return _with_tails(chunk, tail_of)


def read_ahead(items: Iterable, chunk: int = 2000, depth: int = 4,
               transform: Callable[[list], list] | None = None) -> Iterator:
    """``items``, produced by a thread up to ``depth`` chunks ahead of the consumer.

    ``transform``: applied to each chunk in the producing thread (work taken off the
    consumer's thread). See read_ahead_chunks.
    """
    chunks = read_ahead_chunks(items, chunk, depth, transform)
    try:
        for got in chunks:
            yield from got
    finally:
        chunks.close()


def read_ahead_chunks(items: Iterable, chunk: int = 2000, depth: int = 4,
                      transform: Callable[[list], list] | None = None) -> Iterator[list]:
    """Like read_ahead, the items in lists of up to ``chunk``.

    A file parser is pure Python, and the ingest loop spends much of its time waiting for
    the database (with the GIL released): parsing the next records meanwhile keeps both
    cores busy. The items come out in the same order; an exception of the parser is
    raised here at the same place; closing this generator early stops the thread.
    """
    chunks: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    done = object()

    def produce() -> None:
        outcome: object = done
        buffer: list = []
        try:
            for item in items:
                buffer.append(item)
                if len(buffer) >= chunk:
                    if not _put(chunks, transform(buffer) if transform else buffer, stop):
                        return
                    buffer = []
            if transform and buffer:
                buffer = transform(buffer)
        except BaseException as exc:  # handed to the consumer, raised there
            outcome = exc
        if buffer and not _put(chunks, buffer, stop):
            return
        _put(chunks, outcome, stop)

    thread = threading.Thread(target=produce, name="usage-read-ahead", daemon=True)
    thread.start()
    try:
        while True:
            got = chunks.get()
            if got is done:
                return
            if isinstance(got, BaseException):
                raise got
            yield got
    finally:
        stop.set()
        thread.join()


def _put(chunks: queue.Queue, value: object, stop: threading.Event) -> bool:
    while not stop.is_set():
        try:
            chunks.put(value, timeout=0.1)
            return True
        except queue.Full:
            continue
    return False


def ingest(
    items: Iterable[UsageEvent | Reject],
    *,
    import_id: int | None = None,
    progress: Callable[[int], None] | None = None,
    keep_inserted: bool = False,
    attributor: Attributor | None = None,
    chunked: bool = False,
) -> IngestCounts:
    """Store parsed records for the current realm (and the realms below it).

    ``attributor``: one kept by a caller that ingests many small batches (the RADIUS
    listener), so realms, domains and accounts are not looked up again for each batch.
    ``chunked``: ``items`` yields lists of items (read_ahead_chunks).
    """
    realm_id = require_realm_id()
    if attributor is None or attributor.realm_id != realm_id:
        attributor = Attributor(realm_id)
    counts = IngestCounts()
    # One writer for the whole call (one transaction): accounts locked once, rollup deltas
    # added up across batches and appended at the end.
    writer = UsageWriter()
    try:
        batch: list[UsageEvent | Reject | tuple] = []
        for item in items:
            if chunked:
                batch += item
            else:
                batch.append(item)
            if len(batch) >= BATCH_SIZE:
                _process(batch, attributor, realm_id, import_id, counts, keep_inserted, writer)
                if progress:
                    progress(len(batch))
                batch = []
        if batch:
            _process(batch, attributor, realm_id, import_id, counts, keep_inserted, writer)
            if progress:
                progress(len(batch))
        writer.finish()
    finally:
        writer.release()
    return counts


def _process(batch, attributor, realm_id, import_id, counts, keep_inserted, writer) -> None:
    """One batch: UsageEvents, Rejects, and CDR rows as plain tuples (parse_cdr ``fields=True``).

    A CDR tuple whose username resolves to an account is staged right here (its staging
    values were made by the read-ahead thread); an IP-only one is staged once the RADIUS
    sessions of the batch are loaded; any other (unknown name, a note, a value to escape, or
    quota pools that need the stored rows back) becomes the UsageEvent the parser would
    have given and takes the general path. Rejects read the same either way.
    """
    rejects: list[dict] = []
    events: list[UsageEvent] = []
    names = {item[1] for item in batch if type(item) is tuple and item[1]}
    resolved = attributor.resolve_names(names) if names else {}
    # Stored rows come back only when quota pools (or the caller) need them; without, the
    # CDR rows whose username resolved are staged (writer.write_cdr): COPY lines on
    # PostgreSQL, SQLite-typed tuples on SQLite, their rest made in the read-ahead thread.
    with all_realms():
        needs_rows = keep_inserted or _pools_exist(attributor.allowed)
    postgres = writer.postgres
    lines: list[str | None] | None = [] if postgres else None
    staged: list | None = None if needs_rows else []
    staged_ids: list[str] = []
    staged_accounts: set[int] = set()
    work: list[UsageEvent | Reject | tuple] = []
    by_ip: list[tuple[UsageEvent, object]] = []
    for item in batch:
        if type(item) is tuple:
            owner = resolved.get(item[1])
            if owner is not None:
                tail = item[16] if staged is not None and len(item) > 16 else None
                if tail is None:
                    work.append(item)
                elif postgres:
                    staged.append(f"{owner[0]}\t{owner[1]}\t{tail}")
                    staged_ids.append(item[0])
                    staged_accounts.add(owner[1])
                else:
                    staged.append((*owner, *tail))
                    staged_ids.append(item[0])
                    staged_accounts.add(owner[1])
                continue
            event = event_of(item[:16])
            if item[1] is None and staged is not None and len(item) > 16 and item[16] is not None:
                by_ip.append((event, item[16]))  # attributed after the prefetch, below
                events.append(event)
                continue
            item = event
        work.append(item)
        if isinstance(item, Reject):
            rejects.append(_reject_row(item, realm_id, import_id))
        else:
            events.append(item)
    attributor.prefetch(events)
    with all_realms():
        readings = [e for e in events if e.status == "reading"]
        meters = _Meters.load(readings, attributor.allowed) if readings else None
        sessions = _Sessions.load({e.session_key for e in events
                                   if e.session_key and e.status in SESSION_STATUSES})
        for event, tail in by_ip:
            # An IP-only CDR row: whoever held the address then, staged like the rest.
            try:
                owner_realm, account_id = attributor.account_for(event)
            except Unattributable as exc:
                rejects.append(_unattributable(event, exc, realm_id, import_id))
                continue
            staged.append(f"{owner_realm}\t{account_id}\t{tail}" if postgres else (owner_realm, account_id, *tail))
            staged_ids.append(event.source_record_id)
            staged_accounts.add(account_id)
        rows: list[tuple] = []
        seen_ids: set[tuple[str, str]] = set()
        for event in work:
            if type(event) is tuple:
                # A CDR row whose username has an account (ids are unique within the file:
                # the parser rejects a repeated one).
                owner_realm, account_id = resolved[event[1]]
                (rid, username, ip, nas, _, start, _, duration, bytes_in, bytes_out,
                 quantity, unit, destination, _, notes, _) = event[:16]
                rows.append((owner_realm, account_id, import_id, "cdr", rid, "cdr", None, username,
                             ip, nas, start + timedelta(seconds=duration) if duration else start, start,
                             duration, bytes_in, bytes_out, quantity, unit, destination,
                             "; ".join(notes) if notes else None))
                if lines is not None:
                    lines.append(None)
                continue
            if isinstance(event, Reject):
                continue
            if event.status in ("accounting-on", "accounting-off"):
                sessions.close_nas(event.nas, event.event_time)
                continue
            if event.status == "reading":
                outcome = meters.advance(event)
                if outcome is None:
                    counts.duplicates += 1
                elif isinstance(outcome, Reject):
                    rejects.append(_reject_row(outcome, realm_id, import_id))
                else:
                    owner_realm, account_id, event = outcome
                    rows.append(_row(event, owner_realm, account_id, import_id))
                    if lines is not None:
                        lines.append(None)
                continue
            try:
                owner_realm, account_id = attributor.account_for(event)
            except Unattributable as exc:
                rejects.append(_unattributable(event, exc, realm_id, import_id))
                continue
            if event.session_key and event.status in SESSION_STATUSES:
                event = sessions.advance(event, owner_realm, account_id)
            key = (event.source, event.source_record_id)
            if key in seen_ids:
                counts.duplicates += 1
                continue
            seen_ids.add(key)
            rows.append(_row(event, owner_realm, account_id, import_id))
            if lines is not None:
                lines.append(None)
        sessions.save()
        if meters is not None:
            meters.save()
        # Optimistic (straight insert) while batches come out all new; see writer.py.
        optimistic = counts.accepted == 0 or counts.duplicates == 0
        if needs_rows:
            inserted = as_dicts(writer.write(rows, lines=lines, optimistic=optimistic, returning=True))
            stored = len(inserted)
        else:
            inserted, stored = [], writer.write(rows, lines=lines, optimistic=optimistic)
        if staged:
            stored += writer.write_cdr(staged_ids, staged, staged_accounts, import_id,
                                       optimistic=optimistic)
        _insert_rejects(rejects)
    if inserted:
        draw_usage(inserted)
    counts.accepted += stored
    counts.duplicates += len(rows) + (len(staged) if staged else 0) - stored
    counts.rejected += len(rejects)
    if keep_inserted:
        counts.inserted_rows.extend(inserted)


def _unattributable(event: UsageEvent, exc: Unattributable, realm_id: int, import_id: int | None) -> dict:
    row = _reject_row(Reject(event.file, event.line, exc.field, exc.reason, _describe(event), exc.code),
                      realm_id, import_id)
    row["payload"] = event_to_json(event)
    return row


def _pools_exist(realm_ids: set[int]) -> bool:
    """Whether any quota pool draws on usage of these realms (asked per batch: cheap)."""
    return db.session.execute(
        select(QuotaPool.id).where(QuotaPool.realm_id.in_(sorted(realm_ids))).limit(1)
    ).first() is not None


def _row(event: UsageEvent, realm_id: int, account_id: int, import_id: int | None) -> tuple:
    return (
        realm_id, account_id, import_id, event.source, event.source_record_id,
        event.status, event.session_key, event.username, event.ip, event.nas,
        event.event_time, event.start, event.duration_s, event.bytes_in,
        event.bytes_out, event.quantity, event.unit, event.destination,
        "; ".join(event.notes) or None,
    )


class _Meters:
    """Meters a batch of readings touches, with their last readings (the delta state)."""

    def __init__(self, rows: dict[str, dict], stored_ids: set[str]) -> None:
        self.rows = rows
        self.stored_ids = stored_ids
        self.changed: set[str] = set()

    @classmethod
    def load(cls, readings: list[UsageEvent], realm_ids: set[int]) -> _Meters:
        table, usage = Meter.__table__, UsageRecord.__table__
        serials = sorted({e.session_key for e in readings if e.session_key})
        ids = sorted({e.source_record_id for e in readings})
        rows, stored = {}, set()
        for start in range(0, len(serials), 500):
            query = select(table).where(table.c.serial.in_(serials[start:start + 500]),
                                        table.c.realm_id.in_(realm_ids))
            if db.session.connection().dialect.name == "postgresql":
                query = query.with_for_update()
            rows.update({r["serial"]: dict(r) for r in db.session.execute(query).mappings()})
        for start in range(0, len(ids), 500):
            stored.update(db.session.scalars(select(usage.c.source_record_id).where(
                usage.c.source == "meter", usage.c.source_record_id.in_(ids[start:start + 500]))))
        return cls(rows, stored)

    def advance(self, event: UsageEvent) -> tuple[int, int, UsageEvent] | Reject | None:
        """(realm, account, consumption event), a Reject, or None for a reading already stored."""
        if event.source_record_id in self.stored_ids:
            return None
        meter = self.rows.get(event.session_key or "")
        if meter is None:
            return Reject(event.file, event.line, "meter", f"no meter {event.session_key!r}",
                          f"{event.source_record_id},{event.session_key},{event.quantity}", "unknown_meter")
        try:
            used, notes = meter_delta(meter["last_value"], event.quantity, meter["modulus"])
        except CounterError as exc:
            return Reject(event.file, event.line, "value", exc.reason,
                          f"{event.source_record_id},{event.session_key},{event.quantity}", exc.code)
        meter["last_value"], meter["last_read_at"] = event.quantity, event.event_time
        self.changed.add(meter["serial"])
        self.stored_ids.add(event.source_record_id)
        out = replace(event, quantity=used, unit=meter["unit"], counting="record",
                      notes=event.notes + notes)
        return meter["realm_id"], meter["account_id"], out

    def save(self) -> None:
        table = Meter.__table__
        for serial in sorted(self.changed):
            row = self.rows[serial]
            db.session.execute(update(table).where(table.c.id == row["id"]).values(
                last_value=row["last_value"], last_read_at=row["last_read_at"]))


class _Sessions:
    """The RADIUS sessions a batch touches: loaded once (locked on PostgreSQL), saved once."""

    def __init__(self, rows: dict[str, dict]) -> None:
        self.rows = rows
        self.new: dict[str, dict] = {}
        self.changed: set[str] = set()
        self.closed_nas: list[tuple[str, datetime]] = []

    @classmethod
    def load(cls, keys: set[str]) -> _Sessions:
        rows: dict[str, dict] = {}
        table = RadiusSession.__table__
        ordered = sorted(keys)
        postgres = db.session.connection().dialect.name == "postgresql"
        size = max(len(ordered), 1) if postgres else 500
        for start in range(0, len(ordered), size):
            chunk = ordered[start:start + size]
            if postgres:
                # One array parameter: no IN list of hundreds of parameters to parse and plan.
                # Locked in key order, so two listener workers never wait on each other in a circle.
                query = select(table).where(
                    table.c.session_key == any_(bindparam("keys", chunk, type_=ARRAY(String)))
                ).order_by(table.c.session_key).with_for_update()
            else:
                query = select(table).where(table.c.session_key.in_(chunk))
            for row in db.session.execute(query).mappings():
                rows[row["session_key"]] = dict(row)
        return cls(rows)

    def advance(self, event: UsageEvent, realm_id: int, account_id: int) -> UsageEvent:
        key = event.session_key
        row = self.rows.get(key)
        if row is None:
            row = {
                "session_key": key, "realm_id": realm_id, "account_id": account_id,
                "nas": event.nas, "session_id": event.session_id, "framed_ip": event.ip,
                "started_at": event.start, "stopped_at": None, "last_event_at": event.event_time,
                "total_in": 0, "total_out": 0, "total_time": 0,
            }
            self.rows[key] = row
            self.new[key] = row
            state = None
        else:
            state = SessionCounters(row["total_in"], row["total_out"], row["total_time"])
        if event.counting != "record":
            event, new_state = to_delta(state, event)
            row["total_in"], row["total_out"] = new_state.bytes_in, new_state.bytes_out
            row["total_time"] = new_state.session_time
        row["framed_ip"] = row["framed_ip"] or event.ip
        if event.event_time > row["last_event_at"]:
            row["last_event_at"] = event.event_time
        if event.status == "stop":
            row["stopped_at"] = event.event_time
        if key not in self.new:
            self.changed.add(key)
        return event

    def _update_postgres(self) -> None:
        """All changed sessions in one UPDATE … FROM unnest(arrays), not one statement each."""
        keys = sorted(self.changed)
        rows = [self.rows[key] for key in keys]
        columns = {
            "id": [r["id"] for r in rows],
            "framed_ip": [r["framed_ip"] for r in rows],
            "last_event_at": [r["last_event_at"] for r in rows],
            "stopped_at": [r["stopped_at"] for r in rows],
            "total_in": [r["total_in"] for r in rows],
            "total_out": [r["total_out"] for r in rows],
            "total_time": [r["total_time"] for r in rows],
        }
        raw = db.session.connection().connection.driver_connection
        with raw.cursor() as cursor:
            cursor.execute(
                "UPDATE radius_sessions AS s SET framed_ip = v.framed_ip, last_event_at = v.last_event_at, "
                "stopped_at = v.stopped_at, total_in = v.total_in, total_out = v.total_out, "
                "total_time = v.total_time "
                "FROM unnest(%(id)s::integer[], %(framed_ip)s::varchar[], %(last_event_at)s::timestamptz[], "
                "%(stopped_at)s::timestamptz[], %(total_in)s::bigint[], %(total_out)s::bigint[], "
                "%(total_time)s::bigint[]) AS v(id, framed_ip, last_event_at, stopped_at, total_in, "
                "total_out, total_time) WHERE s.id = v.id",
                columns,
            )

    def close_nas(self, nas: str | None, moment: datetime) -> None:
        if nas:
            self.closed_nas.append((nas, moment))

    def save(self) -> None:
        table = RadiusSession.__table__
        if self.new:
            db.session.execute(insert(table), list(self.new.values()))
        if self.changed and db.session.connection().dialect.name == "postgresql":
            self._update_postgres()
        elif self.changed:
            fields = ("framed_ip", "last_event_at", "stopped_at", "total_in", "total_out", "total_time")
            statement = update(table).where(table.c.id == bindparam("row_id")).values(
                {name: bindparam(f"new_{name}") for name in fields}
            )
            db.session.connection().execute(statement, [
                {"row_id": self.rows[key]["id"], **{f"new_{n}": self.rows[key][n] for n in fields}}
                for key in self.changed
            ])
        for nas, moment in self.closed_nas:
            # A NAS reboot (Accounting-On/Off) ends every session it still had open.
            db.session.execute(
                update(table)
                .where(table.c.nas == nas, table.c.stopped_at.is_(None), table.c.started_at <= moment)
                .values(stopped_at=moment)
            )


def _insert_rejects(rejects: list[dict]) -> None:
    """Store rejects once: a replayed file finds its rejects already there."""
    if not rejects:
        return
    table = UsageReject.__table__
    unique = {(r["realm_id"], r["fingerprint"]): r for r in rejects}
    existing = set()
    prints = sorted({fp for _, fp in unique})
    for start in range(0, len(prints), 500):
        existing.update(tuple(row) for row in db.session.execute(
            select(table.c.realm_id, table.c.fingerprint).where(
                table.c.fingerprint.in_(prints[start:start + 500]))
        ))
    fresh = [row for key, row in unique.items() if key not in existing]
    if fresh:
        db.session.execute(insert(table), fresh)


def _describe(event: UsageEvent) -> str:
    return (f"{event.source} {event.source_record_id} user={event.username or ''} "
            f"ip={event.ip or ''} at {event.event_time.isoformat()}")


def event_to_json(event: UsageEvent) -> str:
    data = {f: getattr(event, f) for f in event.__dataclass_fields__}
    for key in ("event_time", "start"):
        data[key] = data[key].isoformat()
    data["quantity"] = None if event.quantity is None else str(event.quantity)
    data["notes"] = list(event.notes)
    return json.dumps(data)


def event_from_json(text: str) -> UsageEvent:
    data = json.loads(text)
    data["event_time"] = datetime.fromisoformat(data["event_time"])
    data["start"] = datetime.fromisoformat(data["start"])
    data["quantity"] = None if data["quantity"] is None else Decimal(data["quantity"])
    data["notes"] = tuple(data["notes"])
    return UsageEvent(**data)


def _reject_row(reject: Reject, realm_id: int, import_id: int | None) -> dict:
    fingerprint = hashlib.sha256(
        f"{reject.file}\x1f{reject.line}\x1f{reject.raw}".encode()
    ).hexdigest()
    return {
        "fingerprint": fingerprint,
        "realm_id": realm_id, "import_id": import_id, "source": "usage", "file": reject.file,
        "line": reject.line, "field": reject.field, "code": reject.code,
        "reason": reject.reason, "raw": reject.raw[:2000], "status": "open",
        "created_at": datetime.now(UTC), "payload": None,
    }
