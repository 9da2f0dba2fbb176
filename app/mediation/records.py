"""The normalized usage record every mediation source produces, and its rejects.

Every parser in :mod:`app.mediation` turns its input into a stream of
:class:`UsageEvent` (a record to store) and :class:`Reject` (a part of the input
that could not be read, with the place and the reason). A problem that makes a
whole file unreadable (a bad CSV header) raises :class:`MediationFileError`
before anything is yielded.

Counters: ``bytes_in``, ``bytes_out`` and ``duration_s`` are ints. What they
count is told by :attr:`UsageEvent.counting`:

``"record"``
    the usage of this record alone (a CDR line, a computed delta). Rating adds
    these up.
``"cumulative"``
    session totals so far, exact (a RADIUS packet that carried
    Acct-Input-Gigawords / Acct-Output-Gigawords). Turn them into a delta with
    :func:`app.mediation.counters.to_delta`.
``"cumulative32"``
    session totals so far as 32-bit counters without gigawords: they may have
    wrapped at 2**32; :func:`app.mediation.counters.to_delta` corrects that.

Directions follow RADIUS: ``bytes_in`` is Acct-Input-Octets, what the NAS
received *from* the subscriber (upload); ``bytes_out`` is what it sent to the
subscriber (download).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Literal

Source = Literal["cdr", "radius", "detail", "meter"]
Status = Literal["start", "interim", "stop", "cdr", "reading", "accounting-on", "accounting-off"]
Counting = Literal["record", "cumulative", "cumulative32"]

#: Status values of records that belong to an accounting session.
SESSION_STATUSES = frozenset({"start", "interim", "stop"})


@dataclass(frozen=True, slots=True)
class UsageEvent:
    """One usage record, normalized.

    ``source_record_id`` is the idempotency key: the same input record always
    gives the same id (a retransmitted RADIUS packet, a CDR file imported twice),
    so storing events with a unique (source, source_record_id) makes ingestion
    idempotent. How each source builds it is documented in its module
    (:mod:`~app.mediation.cdr_csv`, :mod:`~app.mediation.radius_records`).

    ``session_key`` identifies the accounting session across its start, interim
    and stop records (None for records outside a session); ``session_id`` is the
    NAS's own Acct-Session-Id, kept for display and for CoA / Disconnect requests.

    ``status`` ``"accounting-on"`` / ``"accounting-off"`` are NAS reboots
    (RADIUS Accounting-On/Off): they carry no usage, only ``nas`` and the time,
    and mean every open session of that NAS has ended.

    ``event_time`` is when the record's usage was measured up to (the end of a
    call, the time of an interim update or stop); ``start`` is when the call or
    session began. Both are aware datetimes in UTC.
    """

    source: Source
    source_record_id: str
    username: str | None
    ip: str | None
    nas: str | None
    session_id: str | None
    status: Status
    event_time: datetime
    start: datetime
    duration_s: int
    bytes_in: int
    bytes_out: int
    quantity: Decimal | None = None
    unit: str | None = None
    destination: str | None = None
    file: str | None = None
    line: int | None = None
    notes: tuple[str, ...] = ()
    session_key: str | None = None
    counting: Counting = "record"


@dataclass(frozen=True, slots=True)
class Reject:
    """A record that could not be read.

    ``line`` is the 1-based line where the record starts (the block's first
    line for a detail file; None for a datagram). ``field`` names the column or
    attribute at fault (None when the record as a whole is at fault).
    ``reason`` is a sentence for people; ``code`` a stable machine word for
    grouping (``not_an_integer``, ``negative``, ``bad_timestamp``, ``missing``,
    ``duplicate``, ``column_count``, ...). ``raw`` is the record's text.
    """

    file: str | None
    line: int | None
    field: str | None
    reason: str
    raw: str
    code: str = "invalid"


class MediationFileError(Exception):
    """A whole input file cannot be read (e.g. its CSV header is wrong).

    Raised before any record of the file is yielded, so nothing of it is stored.
    """

    def __init__(self, file: str | None, line: int | None, field: str | None, reason: str):
        self.file = file
        self.line = line
        self.field = field
        self.reason = reason
        where = f"{file}:{line}" if line is not None else str(file)
        column = f" [{field}]" if field else ""
        super().__init__(f"{where}{column}: {reason}")


def split_username(name: str) -> tuple[str, str | None]:
    """Split a service username into (user, realm), RADIUS realm syntax.

    - ``"alice@visp1.example"`` -> ``("alice", "visp1.example")`` (suffix form;
      the *last* ``@`` separates, so ``"a@b@visp1.example"`` gives
      ``("a@b", "visp1.example")``, as FreeRADIUS's suffix realms do);
    - ``"visp1.example/alice"`` -> ``("alice", "visp1.example")`` (prefix form,
      first ``/``, used by some NASes), only when there is no ``@``;
    - ``"alice"`` -> ``("alice", None)``.

    The realm is lowercased (domain names are case-insensitive); the user part
    is kept as written. NT-style ``DOMAIN\\user`` is not a realm and is left
    whole. An empty user or realm part (``"@x"``, ``"alice@"``, ``"/alice"``)
    raises ValueError.
    """
    if "@" in name:
        user, _, realm = name.rpartition("@")
    elif "/" in name:
        realm, _, user = name.partition("/")
    else:
        if not name:
            raise ValueError("empty username")
        return name, None
    if not user or not realm:
        raise ValueError(f"malformed username {name!r}: empty user or realm part")
    return user, realm.lower()


def _event_factory() -> Callable[..., UsageEvent]:
    """A positional constructor of UsageEvent for parsers' hot loops.

    Same result as ``UsageEvent(*values)`` with all 20 fields given in
    declaration order, without checks, about twice as fast: a frozen dataclass's
    ``__init__`` sets each slot through ``object.__setattr__`` by name, this sets
    the slot descriptors directly.
    """
    new = object.__new__
    (
        s_source,
        s_id,
        s_user,
        s_ip,
        s_nas,
        s_sess,
        s_status,
        s_time,
        s_start,
        s_dur,
        s_in,
        s_out,
        s_qty,
        s_unit,
        s_dest,
        s_file,
        s_line,
        s_notes,
        s_key,
        s_counting,
    ) = (getattr(UsageEvent, f).__set__ for f in UsageEvent.__slots__)

    def make(
        source,
        source_record_id,
        username,
        ip,
        nas,
        session_id,
        status,
        event_time,
        start,
        duration_s,
        bytes_in,
        bytes_out,
        quantity,
        unit,
        destination,
        file,
        line,
        notes,
        session_key,
        counting,
    ):
        event = new(UsageEvent)
        s_source(event, source)
        s_id(event, source_record_id)
        s_user(event, username)
        s_ip(event, ip)
        s_nas(event, nas)
        s_sess(event, session_id)
        s_status(event, status)
        s_time(event, event_time)
        s_start(event, start)
        s_dur(event, duration_s)
        s_in(event, bytes_in)
        s_out(event, bytes_out)
        s_qty(event, quantity)
        s_unit(event, unit)
        s_dest(event, destination)
        s_file(event, file)
        s_line(event, line)
        s_notes(event, notes)
        s_key(event, session_key)
        s_counting(event, counting)
        return event

    return make


new_event = _event_factory()
