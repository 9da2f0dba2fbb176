"""RADIUS accounting attributes -> UsageEvent: shared by the detail parser and the server.

Both :mod:`~app.mediation.radius_detail` and
:mod:`~app.mediation.radius_acct_server` decode a record into a mapping of
attribute name -> first value (ints for integer attributes, str for strings,
Event-Timestamp as Unix seconds) and call :func:`build_event`.

Events are *cumulative* (``counting`` ``"cumulative"`` when the record had a
gigawords attribute, else ``"cumulative32"``): ``bytes_in``/``bytes_out`` are the
session totals Acct-Input/Output-Octets combined with their gigawords, and
``duration_s`` is Acct-Session-Time. :func:`app.mediation.counters.to_delta`
turns them into per-record usage.

Session key (``UsageEvent.session_key``)
    Acct-Unique-Session-Id if the record has one (FreeRADIUS adds it in detail
    files), else ``"<nas>/<Acct-Session-Id>"``.

NAS (``UsageEvent.nas``)
    NAS-IP-Address, else NAS-Identifier, else the address the packet came from.

source_record_id
    32 hex digits: the first 128 bits of SHA-256 over the fields below joined
    with U+001F, so a retransmitted packet (same counters, whatever its
    Acct-Delay-Time, Identifier or arrival time) maps to the same id, and any
    change of counters gives a new one:

    - with Acct-Unique-Session-Id: ``"u", unique-id, status, in, out, time``
    - else: ``"s", nas, Acct-Session-Id, status, in, out, time``
    - Accounting-On/Off: ``"n", nas, status, Acct-Session-Id or "", event time``

    where status is the :class:`UsageEvent` status word, in/out the combined
    64-bit totals and time Acct-Session-Time (0 when absent), all in decimal.
    :func:`record_id` computes it.

event_time
    Event-Timestamp if present, else the time the server received the record
    minus Acct-Delay-Time. ``start`` is event_time minus Acct-Session-Time.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from app.mediation.records import Source, Status, UsageEvent

#: Acct-Status-Type values (RFC 2866, 2867) and what they become.
STATUS_CODES: dict[int, str] = {
    1: "Start",
    2: "Stop",
    3: "Interim-Update",
    7: "Accounting-On",
    8: "Accounting-Off",
    9: "Tunnel-Start",
    10: "Tunnel-Stop",
    11: "Tunnel-Reject",
    12: "Tunnel-Link-Start",
    13: "Tunnel-Link-Stop",
    14: "Tunnel-Link-Reject",
    15: "Failed",
}
STATUS_NAMES: dict[str, Status] = {
    "Start": "start",
    "Stop": "stop",
    "Interim-Update": "interim",
    "Alive": "interim",
    "Accounting-On": "accounting-on",
    "Accounting-Off": "accounting-off",
}

MAX32 = (1 << 32) - 1
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class RecordError(ValueError):
    """A record that cannot become a UsageEvent; the caller makes it a Reject."""

    def __init__(self, field: str | None, reason: str, code: str):
        super().__init__(reason)
        self.field = field
        self.reason = reason
        self.code = code


def record_id(*parts: object) -> str:
    """The source_record_id of a RADIUS record from its identifying parts (see module docs)."""
    text = "\x1f".join(str(p) for p in parts)
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()[:32]


def _int(attrs: Mapping[str, Any], name: str, default: int | None = 0) -> int | None:
    value = attrs.get(name)
    if value is None:
        return default
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.isascii() and value.isdigit():
        number = int(value)
    else:
        raise RecordError(name, f"{name} {value!r} is not an unsigned integer", "not_an_integer")
    if not 0 <= number <= MAX32:
        raise RecordError(name, f"{name} {number} is out of the 32-bit range", "out_of_range")
    return number


def _str(attrs: Mapping[str, Any], name: str) -> str | None:
    value = attrs.get(name)
    if value is None:
        return None
    if isinstance(value, bytes):
        value = value.decode("utf-8", "backslashreplace")
    value = str(value)
    return value if value != "" else None


def status_of(value: Any) -> Status:
    """The UsageEvent status of an Acct-Status-Type value (name or number)."""
    if isinstance(value, int) or (isinstance(value, str) and value.isascii() and value.isdigit()):
        name = STATUS_CODES.get(int(value), str(value))
    else:
        name = str(value)
    status = STATUS_NAMES.get(name)
    if status is None:
        raise RecordError(
            "Acct-Status-Type", f"Acct-Status-Type {name} is not usage accounting", "unsupported"
        )
    return status


def build_event(
    attrs: Mapping[str, Any],
    *,
    source: Source,
    received: datetime,
    fallback_nas: str | None = None,
    file: str | None = None,
    line: int | None = None,
) -> UsageEvent:
    """One UsageEvent from decoded accounting attributes; raises :class:`RecordError`.

    ``received`` is when the record reached the RADIUS server (aware), used when
    there is no Event-Timestamp.
    """
    if "Acct-Status-Type" not in attrs:
        raise RecordError("Acct-Status-Type", "no Acct-Status-Type", "missing")
    status = status_of(attrs["Acct-Status-Type"])
    nas = _str(attrs, "NAS-IP-Address") or _str(attrs, "NAS-Identifier") or fallback_nas
    acct_session_id = _str(attrs, "Acct-Session-Id")

    stamp = _int(attrs, "Event-Timestamp", None)
    if stamp is not None:
        event_time = EPOCH + timedelta(seconds=stamp)
    else:
        delay = _int(attrs, "Acct-Delay-Time") or 0
        event_time = received.astimezone(UTC).replace(microsecond=0) - timedelta(seconds=delay)

    if status in ("accounting-on", "accounting-off"):
        if nas is None:
            raise RecordError("NAS-IP-Address", "Accounting-On/Off without NAS identity", "missing")
        rid = record_id("n", nas, status, acct_session_id or "", int(event_time.timestamp()))
        return UsageEvent(
            source=source,
            source_record_id=rid,
            username=_str(attrs, "User-Name"),
            ip=None,
            nas=nas,
            session_id=acct_session_id,
            status=status,
            event_time=event_time,
            start=event_time,
            duration_s=0,
            bytes_in=0,
            bytes_out=0,
            file=file,
            line=line,
        )

    if acct_session_id is None:
        raise RecordError("Acct-Session-Id", "no Acct-Session-Id", "missing")
    in_gw = _int(attrs, "Acct-Input-Gigawords", None)
    out_gw = _int(attrs, "Acct-Output-Gigawords", None)
    bytes_in = (_int(attrs, "Acct-Input-Octets") or 0) + (in_gw or 0) * (MAX32 + 1)
    bytes_out = (_int(attrs, "Acct-Output-Octets") or 0) + (out_gw or 0) * (MAX32 + 1)
    session_time = _int(attrs, "Acct-Session-Time") or 0
    unique = _str(attrs, "Acct-Unique-Session-Id")
    if unique is not None:
        session_key = unique
        rid = record_id("u", unique, status, bytes_in, bytes_out, session_time)
    else:
        if nas is None:
            raise RecordError("NAS-IP-Address", "no NAS-IP-Address or NAS-Identifier", "missing")
        session_key = f"{nas}/{acct_session_id}"
        rid = record_id("s", nas, acct_session_id, status, bytes_in, bytes_out, session_time)
    start = event_time if status == "start" else event_time - timedelta(seconds=session_time)
    return UsageEvent(
        source=source,
        source_record_id=rid,
        username=_str(attrs, "User-Name"),
        ip=_str(attrs, "Framed-IP-Address"),
        nas=nas,
        session_id=acct_session_id,
        status=status,
        event_time=event_time,
        start=start,
        duration_s=session_time,
        bytes_in=bytes_in,
        bytes_out=bytes_out,
        file=file,
        line=line,
        session_key=session_key,
        counting="cumulative" if in_gw is not None or out_gw is not None else "cumulative32",
    )
