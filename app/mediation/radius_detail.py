"""FreeRADIUS ``detail`` accounting files -> UsageEvent.

FreeRADIUS's ``detail`` module writes one block per accounting packet::

    Wed Nov 25 06:45:21 2026
    \tUser-Name = "alice@visp1.example"
    \tAcct-Status-Type = Interim-Update
    \tAcct-Session-Id = "81a00001"
    \tNAS-IP-Address = 10.0.0.1
    \tAcct-Input-Octets = 4294967000
    \tAcct-Input-Gigawords = 1
    \tAcct-Session-Time = 300
    \tEvent-Timestamp = "Nov 25 2026 09:51:50 UTC"
    \tAcct-Unique-Session-Id = "94610e2f90e6cb068b0cb56ab922e442"
    \tTimestamp = 1795589121
    <blank line>

The first line is the time the server wrote the block (its local time, ctime
format); the others are ``<tab>Attribute = value`` with strings in double quotes
(``\\"``, ``\\\\``, ``\\n``, ``\\r``, ``\\t`` and ``\\ooo`` octal escapes),
integers either as numbers or as value names, ``Event-Timestamp`` as a date in
the server's time zone (``"Jul  1 2026 12:00:00 CEST"``) and ``Timestamp`` as Unix
seconds of arrival. Blocks are separated by blank lines; a new header line also
ends the previous block.

Each block becomes one event through :func:`app.mediation.radius_records.build_event`
(``source="detail"``, ``line`` = the block's first line; ids, session keys and
the event time are documented there). Events carry *cumulative* counters; apply
:func:`app.mediation.counters.to_delta` (or a
:class:`~app.mediation.counters.SessionTracker`) for per-record usage.

Times: an Event-Timestamp date is read in UTC/GMT, a numeric offset, or
``default_tz`` when its zone abbreviation is one of ``default_tz``'s (CET/CEST
for Europe/Berlin). With another abbreviation, or without Event-Timestamp, the
``Timestamp`` attribute (arrival) minus Acct-Delay-Time is used (noted), and
without that the header line, read in ``default_tz``.

A block that cannot be read (a line without `` = ``, a bad number, no
Acct-Status-Type or Acct-Session-Id, an unreadable header without any other
time) is yielded as a :class:`~app.mediation.records.Reject` with the block's
first line and its text; parsing goes on with the next block.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone, tzinfo

from app.mediation.radius_records import RecordError, build_event
from app.mediation.records import Reject, UsageEvent

MONTHS = {
    name: number
    for number, name in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
        start=1,
    )
}
_ESCAPES = {"n": 10, "r": 13, "t": 9, '"': 34, "\\": 92, "'": 39}


def unquote(value: str) -> str:
    """The text of a FreeRADIUS value: quotes removed, escapes decoded.

    Octal escapes are bytes; the result is decoded as UTF-8 (invalid bytes as
    ``\\xNN``).
    """
    if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
        value = value[1:-1]
    if "\\" not in value:
        return value
    out = bytearray()
    i = 0
    n = len(value)
    while i < n:
        char = value[i]
        if char == "\\" and i + 1 < n:
            following = value[i + 1]
            octal = value[i + 1 : i + 4]
            if len(octal) == 3 and all(c in "01234567" for c in octal):
                out.append(int(octal, 8) & 0xFF)
                i += 4
                continue
            if following in _ESCAPES:
                out.append(_ESCAPES[following])
                i += 2
                continue
        out += char.encode("utf-8", "surrogateescape")
        i += 1
    return out.decode("utf-8", "backslashreplace")


def _clock(text: str) -> tuple[int, int, int]:
    hour, minute, second = text.split(":")
    return int(hour), int(minute), int(second)


def parse_header(line: str, tz: tzinfo) -> datetime | None:
    """The block header (``Wed Nov 25 06:45:21 2026``, local time in ``tz``), or None."""
    parts = line.split()
    try:
        if len(parts) != 5:
            return None
        hour, minute, second = _clock(parts[3])
        local = datetime(int(parts[4]), MONTHS[parts[1]], int(parts[2]), hour, minute, second)
    except (KeyError, ValueError):
        return None
    return local.replace(tzinfo=tz).astimezone(UTC)


def parse_event_timestamp(text: str, tz: tzinfo) -> int | None:
    """Unix seconds of a detail-file Event-Timestamp, or None if its zone is unknown.

    Accepts Unix seconds, and ``"Nov 25 2026 09:46:40 UTC"``-style dates whose
    zone is UTC/GMT, ``+hhmm``/``-hhmm``, or an abbreviation used by ``tz``.
    Raises ValueError for text that is not a date at all.
    """
    text = text.strip()
    if text.isascii() and text.isdigit():
        return int(text)
    parts = text.split()
    if len(parts) not in (4, 5):
        raise ValueError(f"not a date: {text!r}")
    try:
        hour, minute, second = _clock(parts[3])
        naive = datetime(int(parts[2]), MONTHS[parts[0]], int(parts[1]), hour, minute, second)
    except (KeyError, ValueError):
        raise ValueError(f"not a date: {text!r}") from None
    zone = parts[4] if len(parts) == 5 else ""
    if zone in ("UTC", "GMT", "Z", ""):
        moment = naive.replace(tzinfo=UTC)
    elif zone[0] in "+-" and len(zone) == 5 and zone[1:].isdigit():
        offset = timedelta(hours=int(zone[1:3]), minutes=int(zone[3:]))
        moment = naive.replace(tzinfo=timezone(-offset if zone[0] == "-" else offset))
    else:
        for fold in (0, 1):
            candidate = naive.replace(tzinfo=tz, fold=fold)
            if candidate.tzname() == zone:
                moment = candidate
                break
        else:
            return None
    return int(moment.timestamp())


def parse_detail(
    stream: Iterable[str] | Iterable[bytes], filename: str, default_tz: tzinfo = UTC
) -> Iterator[UsageEvent | Reject]:
    """Read a detail file (see module docs): events and rejects in file order.

    ``stream`` yields lines: a text file (best opened with ``encoding="utf-8",
    errors="backslashreplace"``) or a binary one (decoded the same way).
    """
    header: str | None = None
    start_line = 0
    lines: list[str] = []
    number = 0
    for raw_line in stream:
        number += 1
        line = (
            raw_line.decode("utf-8", "backslashreplace")
            if isinstance(raw_line, bytes)
            else raw_line
        )
        line = line.rstrip("\r\n")
        if not line.strip():
            if header is not None or lines:
                yield _block(header, lines, filename, start_line, default_tz)
                header, lines = None, []
            continue
        if line[0] in " \t":
            if header is None and not lines:
                start_line = number
            lines.append(line)
            continue
        if header is not None or lines:
            yield _block(header, lines, filename, start_line, default_tz)
            lines = []
        header = line
        start_line = number
    if header is not None or lines:
        yield _block(header, lines, filename, start_line, default_tz)


def _block(
    header: str | None, lines: list[str], filename: str, line: int, tz: tzinfo
) -> UsageEvent | Reject:
    def reject(field: str | None, reason: str, code: str) -> Reject:
        text = "\n".join(([header] if header is not None else []) + lines)
        return Reject(filename, line, field, reason, text, code)

    if header is None:
        return reject(None, "attribute lines without a header line", "bad_block")
    attrs: dict[str, str | int] = {}
    for text in lines:
        name, sep, value = text.strip().partition(" = ")
        if not sep or not name:
            return reject(None, f"not an 'Attribute = value' line: {text.strip()!r}", "bad_line")
        name = name.partition(":")[0]  # a tag (Tunnel-Type:1) is not needed here
        if name not in attrs:
            attrs[name] = unquote(value)

    notes: tuple[str, ...] = ()
    if "Event-Timestamp" in attrs:
        try:
            stamp = parse_event_timestamp(str(attrs["Event-Timestamp"]), tz)
        except ValueError as exc:
            return reject("Event-Timestamp", str(exc), "bad_timestamp")
        if stamp is None:
            notes = (
                f"Event-Timestamp {attrs['Event-Timestamp']!r} is not in {tz}: "
                "arrival time minus Acct-Delay-Time used",
            )
            del attrs["Event-Timestamp"]
        else:
            attrs["Event-Timestamp"] = stamp

    arrival = attrs.get("Timestamp")
    if isinstance(arrival, str) and arrival.isascii() and arrival.isdigit():
        received = datetime.fromtimestamp(int(arrival), UTC)
    else:
        received = parse_header(header, tz)
        if received is None and "Event-Timestamp" not in attrs:
            return reject(
                None, f"unreadable header line {header!r} and no Timestamp", "bad_timestamp"
            )
    if received is None:
        received = datetime.fromtimestamp(int(attrs["Event-Timestamp"]), UTC)
    fallback = attrs.get("Packet-Src-IP-Address") or attrs.get("Client-IP-Address")
    try:
        event = build_event(
            attrs,
            source="detail",
            received=received,
            fallback_nas=str(fallback) if fallback else None,
            file=filename,
            line=line,
        )
    except RecordError as exc:
        return reject(exc.field, exc.reason, exc.code)
    if notes:
        event = replace(event, notes=event.notes + notes)
    return event
