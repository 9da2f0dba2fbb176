"""CSV call/usage detail records (CDR) -> UsageEvent.

File format
===========

UTF-8 (a byte-order mark is allowed), comma separated, RFC 4180 quoting, one
record per row, and a header row naming the columns (any order; names are
matched case-insensitively, surrounding blanks ignored)::

    record_id,username,ip,start,duration_s,bytes_in,bytes_out,unit,quantity,destination

================  ========  ==================================================
column            header    value
================  ========  ==================================================
``record_id``     required  non-empty, unique in the file; the idempotency key
                            (see below)
``start``         required  ISO-8601 date *and* time, ``2026-11-24T10:00:00Z``,
                            ``2026-11-24 10:00:00+01:00``, fractions allowed; a
                            timestamp without offset is local time in the
                            ``default_tz`` given to :func:`parse_cdr`
``username``      one of    service username (``alice@visp1.example``)
``ip``            these     subscriber IPv4/IPv6 address (normalized); each row
                  two       needs a username or an ip (or both)
``duration_s``    optional  whole seconds >= 0; empty or no column = 0
``bytes_in``      optional  whole bytes >= 0 received from the subscriber
                            (upload); empty or no column = 0
``bytes_out``     optional  whole bytes >= 0 sent to the subscriber (download)
``unit``          optional  for non-network usage: the unit of ``quantity``
                            (``SMS``, ``kWh``, ``call``, ...), no blanks, at most
                            32 characters
``quantity``      optional  decimal >= 0 (``3``, ``12.75``); ``unit`` and
                            ``quantity`` are given together or both left empty
``destination``   optional  called number, SMS recipient, remote host, ...
``nas``           optional  the network element that produced the record
``session_id``    optional  the producer's session/call id
================  ========  ==================================================

An unknown, duplicated or missing required header column, or an empty file,
raises :class:`~app.mediation.records.MediationFileError` (line 1) before any
row is yielded. Every bad row becomes a :class:`~app.mediation.records.Reject`
with its line number, the column at fault, a reason and the row as CSV; the
rest of the file goes on. Blank lines are skipped.

Each event has ``source="cdr"``, ``status="cdr"``, ``counting="record"``,
``start`` = the row's start in UTC and ``event_time`` = start + duration_s
(when the call ended). ``file`` and ``line`` tell where it came from.

source_record_id
    ``record_id`` exactly as written. It is *not* combined with the file name,
    so the same rows imported again from a re-cut or renamed file are not stored
    twice; the producer must keep ids unique across its files (e.g. switch id +
    sequence number). A second row with the same id in one file is rejected
    (``duplicate``).

Naive timestamps that fall into a daylight-saving gap or overlap of
``default_tz`` are taken with ``fold=0`` (the first occurrence) and noted.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, tzinfo
from decimal import Decimal, InvalidOperation
from socket import AF_INET, AF_INET6, inet_ntop, inet_pton
from typing import Any, TextIO

from app.mediation.records import MediationFileError, Reject, UsageEvent, new_event

COLUMNS = (
    "record_id",
    "username",
    "ip",
    "start",
    "duration_s",
    "bytes_in",
    "bytes_out",
    "unit",
    "quantity",
    "destination",
    "nas",
    "session_id",
)
REQUIRED = ("record_id", "start")
MAX_INT = (1 << 63) - 1
MAX_TEXT = 253


class _Bad(Exception):
    def __init__(self, field: str | None, reason: str, code: str):
        self.field = field
        self.reason = reason
        self.code = code


def _header(row: list[str], filename: str) -> dict[str, int]:
    index: dict[str, int] = {}
    for i, cell in enumerate(row):
        name = cell.lstrip("\ufeff").strip().lower() if i == 0 else cell.strip().lower()
        if name not in COLUMNS:
            raise MediationFileError(
                filename, 1, cell, f"unknown column {cell!r}; known: {', '.join(COLUMNS)}"
            )
        if name in index:
            raise MediationFileError(filename, 1, name, f"column {name!r} appears twice")
        index[name] = i
    for name in REQUIRED:
        if name not in index:
            raise MediationFileError(filename, 1, name, f"required column {name!r} is missing")
    if "username" not in index and "ip" not in index:
        raise MediationFileError(
            filename, 1, "username", "the header needs a 'username' or an 'ip' column"
        )
    return index


def _count(value: str, field: str) -> int:
    """A non-negative integer field; empty = 0. Only ASCII digits are accepted."""
    if value.isdigit() and value.isascii():
        number = int(value)
    else:
        stripped = value.strip()
        if stripped == "":
            return 0
        if stripped.isdigit() and stripped.isascii():
            number = int(stripped)
        elif stripped[:1] == "-" and stripped[1:].isdigit() and stripped.isascii():
            raise _Bad(field, f"{field} {stripped} is negative", "negative")
        else:
            raise _Bad(field, f"{field} {value!r} is not a whole number", "not_an_integer")
    if number > MAX_INT:
        raise _Bad(field, f"{field} {number} is too large", "too_large")
    return number


def _ip(value: str, cache: dict[str, str]) -> str:
    """The normalized form of an IP address (cached: a file repeats its addresses)."""
    try:
        return cache[value]
    except KeyError:
        pass
    text = value.strip()
    if not text:
        return ""
    family = AF_INET6 if ":" in text else AF_INET
    try:
        normal = inet_ntop(family, inet_pton(family, text))
    except (OSError, ValueError):
        raise _Bad("ip", f"ip {value!r} is not an IP address", "bad_ip") from None
    if len(cache) > 100_000:
        cache.clear()
    cache[value] = normal
    return normal


def _timestamp(value: str, tz: tzinfo) -> tuple[datetime, tuple[str, ...]]:
    """The slow path of the start column: blanks around it, or an error to report."""
    text = value.strip()
    if len(text) < 16 or text[4] != "-" or text[10] not in "Tt ":
        raise _Bad("start", f"start {value!r} is not an ISO-8601 date and time", "bad_timestamp")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise _Bad(
            "start", f"start {value!r} is not an ISO-8601 date and time", "bad_timestamp"
        ) from None
    if moment.tzinfo is None:
        return _local(moment, text, tz)
    return moment.astimezone(UTC), ()


def _local(moment: datetime, text: str, tz: tzinfo) -> tuple[datetime, tuple[str, ...]]:
    """A naive timestamp taken as local time in ``tz``, in UTC."""
    local = moment.replace(tzinfo=tz)
    if local.utcoffset() != local.replace(fold=1).utcoffset():
        note = f"local time {text.strip()} is ambiguous or skipped in {tz}: first occurrence used"
        return local.astimezone(UTC), (note,)
    return local.astimezone(UTC), ()


def _as_csv(row: list[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow(row)
    return buffer.getvalue()


def parse_cdr(
    stream: TextIO, filename: str, default_tz: tzinfo = UTC, *, fields: bool = False
) -> Iterator[UsageEvent | Reject | tuple]:
    """Read a CDR CSV file (see module docs): events and rejects in file order.

    ``stream`` is a text stream, best opened with ``newline=""`` and
    ``encoding="utf-8"`` (or ``"utf-8-sig"``). The header is read and checked
    right away, so a bad one raises MediationFileError from this call, before an
    iterator exists; the rows are then read lazily by the returned iterator
    (memory stays flat but for the set of record ids seen, for the duplicate check).

    ``fields=True``: each good row comes out as a plain tuple of its values (see
    :data:`FIELDS`) instead of a UsageEvent, for bulk loaders that need no event object;
    :func:`event_of` turns such a tuple into exactly the event ``fields=False`` gives.
    Validation, rejects and line numbers are the same code either way.
    """
    reader = csv.reader(stream, strict=True)
    try:
        header = next(reader)
    except StopIteration:
        raise MediationFileError(filename, 1, None, "empty file: no header row") from None
    except csv.Error as exc:
        raise MediationFileError(filename, 1, None, f"unreadable header: {exc}") from None
    index = _header(header, filename)
    return _rows(reader, index, len(header), filename, default_tz, fields)


#: The values of a good row with ``parse_cdr(..., fields=True)``, in this order.
#: ``start_text``: the start column as written when it is exactly ``YYYY-MM-DDTHH:MM:SSZ``
#: (or with a blank for the T), which every ISO-8601 reader takes for the same instant;
#: None otherwise. The event time (start + duration_s) is left to the consumer.
FIELDS = ("source_record_id", "username", "ip", "nas", "session_id", "start", "start_text",
          "duration_s", "bytes_in", "bytes_out", "quantity", "unit", "destination", "line", "notes",
          "file")


def event_of(values: tuple) -> UsageEvent:
    """The UsageEvent of a row read with ``fields=True`` (what ``fields=False`` yields)."""
    (rid, username, ip, nas, session_id, start, _, duration, bytes_in, bytes_out,
     quantity, unit, destination, line, notes, filename) = values
    event_time = start + timedelta(seconds=duration) if duration else start
    return new_event("cdr", rid, username, ip, nas, session_id, "cdr", event_time, start, duration,
                     bytes_in, bytes_out, quantity, unit, destination, filename, line, notes, None,
                     "record")


def _rows(
    reader: Any, index: dict[str, int], ncols: int, filename: str, default_tz: tzinfo,
    fields: bool = False,
) -> Iterator[UsageEvent | Reject | tuple]:

    i_id = index["record_id"]
    i_start = index["start"]
    i_user = index.get("username", -1)
    i_ip = index.get("ip", -1)
    i_dur = index.get("duration_s", -1)
    i_in = index.get("bytes_in", -1)
    i_out = index.get("bytes_out", -1)
    i_unit = index.get("unit", -1)
    i_qty = index.get("quantity", -1)
    i_dest = index.get("destination", -1)
    i_nas = index.get("nas", -1)
    i_sess = index.get("session_id", -1)

    seen: set[str] = set()
    ip_cache: dict[str, str] = {}
    last_line = reader.line_num
    event = new_event
    fromiso = datetime.fromisoformat
    utc = UTC

    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            line = last_line + 1
            last_line = reader.line_num
            yield Reject(filename, line, None, f"unreadable CSV: {exc}", "", "bad_csv")
            continue
        line = last_line + 1
        last_line = reader.line_num
        if not row:
            continue
        try:
            if len(row) != ncols:
                raise _Bad(None, f"{len(row)} columns, the header has {ncols}", "column_count")
            rid = row[i_id].strip()
            if not rid:
                raise _Bad("record_id", "record_id is empty", "missing")
            if len(rid) > MAX_TEXT:
                raise _Bad("record_id", f"record_id is longer than {MAX_TEXT}", "too_long")
            username = (row[i_user].strip() or None) if i_user >= 0 else None
            ip = row[i_ip] if i_ip >= 0 else ""
            ip = (_ip(ip, ip_cache) or None) if ip else None
            if username is None and ip is None:
                raise _Bad("username", "neither username nor ip is given", "missing")
            notes: tuple[str, ...] = ()
            start_text = None
            text = row[i_start]
            try:
                start = fromiso(text)
            except ValueError:
                start = None
            if start is None or len(text) < 16 or text[4] != "-" or text[10] not in "Tt ":
                if not text.strip():
                    raise _Bad("start", "start is empty", "missing")
                start, notes = _timestamp(text, default_tz)
            else:
                zone = start.tzinfo
                if zone is None:
                    start, notes = _local(start, text, default_tz)
                elif zone is not utc:
                    start = start.astimezone(utc)
                elif len(text) == 20 and text[19] == "Z" and text[10] != "t" and text[13] == ":" and text[16] == ":":
                    start_text = text
            # fast path for plain digits of sane length, else the checking _count()
            value = row[i_dur] if i_dur >= 0 else "0"
            duration = (
                int(value)
                if value.isdigit() and len(value) < 19 and value.isascii()
                else _count(value, "duration_s")
            )
            value = row[i_in] if i_in >= 0 else "0"
            bytes_in = (
                int(value)
                if value.isdigit() and len(value) < 19 and value.isascii()
                else _count(value, "bytes_in")
            )
            value = row[i_out] if i_out >= 0 else "0"
            bytes_out = (
                int(value)
                if value.isdigit() and len(value) < 19 and value.isascii()
                else _count(value, "bytes_out")
            )
            unit = (row[i_unit].strip() or None) if i_unit >= 0 else None
            qty_raw = row[i_qty].strip() if i_qty >= 0 else ""
            quantity = None
            if qty_raw:
                try:
                    quantity = Decimal(qty_raw)
                except InvalidOperation:
                    raise _Bad(
                        "quantity", f"quantity {qty_raw!r} is not a decimal number", "not_a_number"
                    ) from None
                if not quantity.is_finite():
                    raise _Bad(
                        "quantity", f"quantity {qty_raw!r} is not a decimal number", "not_a_number"
                    )
                if quantity < 0:
                    raise _Bad("quantity", f"quantity {qty_raw} is negative", "negative")
                if unit is None:
                    raise _Bad("unit", "quantity is given without a unit", "missing")
            if unit is not None:
                if quantity is None:
                    raise _Bad("quantity", f"unit {unit!r} is given without a quantity", "missing")
                if len(unit) > 32 or not unit.isprintable() or " " in unit:
                    raise _Bad("unit", f"unit {unit!r} is not a short word", "bad_unit")
            if rid in seen:
                raise _Bad(
                    "record_id", f"record_id {rid!r} appears earlier in this file", "duplicate"
                )
            seen.add(rid)
        except _Bad as bad:
            yield Reject(filename, line, bad.field, bad.reason, _as_csv(row), bad.code)
            continue
        destination = (row[i_dest] or None) if i_dest >= 0 else None
        if fields:
            yield (
                rid,
                username,
                ip,
                (row[i_nas] or None) if i_nas >= 0 else None,
                (row[i_sess] or None) if i_sess >= 0 else None,
                start,
                start_text,
                duration,
                bytes_in,
                bytes_out,
                quantity,
                unit,
                destination,
                line,
                notes,
                filename,
            )
            continue
        yield event(
            "cdr",
            rid,
            username,
            ip,
            (row[i_nas] or None) if i_nas >= 0 else None,
            (row[i_sess] or None) if i_sess >= 0 else None,
            "cdr",
            start + timedelta(seconds=duration) if duration else start,
            start,
            duration,
            bytes_in,
            bytes_out,
            quantity,
            unit,
            destination,
            filename,
            line,
            notes,
            None,
            "record",
        )
