"""Cumulative counters: RADIUS accounting sessions and meter registers.

RADIUS
======

An accounting session reports *cumulative* counters: every Interim-Update and
the Stop carry the totals since the session started. Rating needs the usage of
each record, so consecutive records of a session are turned into deltas:

    (delta, new_state, notes) = delta(prev_state, packet_counters)

``prev_state`` is the :class:`SessionCounters` left by the previous record of
the same session (None for the first one seen), ``new_state`` is the state to
keep with this record. The state is nothing but the corrected cumulative
totals (bytes in, bytes out, session time), so the database side can store it
as three integer columns on each record and rebuild it from the last stored
record of a session: no process has to keep it in memory (see
:mod:`app.mediation.radius_acct_server` for why deltas are computed there).
:func:`to_delta` does the same on a :class:`~app.mediation.records.UsageEvent`,
and :class:`SessionTracker` keeps the states in a dict, for a detail file or a
test that processes whole sessions in one go.

The rules, per direction (in = Acct-Input-*, out = Acct-Output-*):

- 64-bit totals: ``octets + gigawords * 2**32`` (:func:`combine`).
- A packet that carries Acct-Input-Gigawords or Acct-Output-Gigawords is
  *exact* (NASes that omit a gigawords attribute when it is zero still send the
  other one, or both are zero). A packet with neither gives 32-bit counters
  that may have wrapped: the new total is continued from the previous one
  modulo 2**32, i.e. ``prev + ((value - prev) mod 2**32)``. When the 32-bit
  value went down, 2**32 was added and the note ``"counter wrap corrected on
  Acct-Input-Octets"`` (or ``-Output-``) is recorded. One wrap per interval
  between two records is detectable; more than 4 GiB between two interim
  updates of a session without gigawords cannot be told from less.
- Records are ordered by Acct-Session-Time. A record whose session time is
  *lower* than the state's (a late retransmission, a Start after interims), or
  equal with counters that went down, is *stale*: zero delta, state unchanged,
  note ``"out-of-order record ignored: ..."``. A duplicate (same counters) gives
  a zero delta by itself. When a NAS sends no Acct-Session-Time (both 0), only
  the counters order records.
- An exact counter that went down at a later session time is a counter reset
  on the NAS: the new value is counted from zero (the traffic between the last
  record and the reset is unknown) and ``"counter reset on ..."`` is noted.

Meters
======

A meter register (kWh, m3, pulses) is read as a cumulative value.
:func:`meter_delta` gives the consumption since the previous reading; the
register may roll over at a configured *modulus* (the count at which it shows
zero again: 100000 for a five-digit register, ``Decimal("10000.0")`` for
9999.9 with one decimal). A decreasing reading is refused
(:class:`CounterError`) unless the meter has a modulus and the decrease is a
plausible rollover (the rolled-over delta is less than half the modulus). The
first reading of a meter sets the baseline and counts nothing.
:class:`MeterTracker` applies this to ``"reading"`` events.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from decimal import Decimal

from app.mediation.records import Reject, UsageEvent, new_event

WRAP = 1 << 32
"""Modulus of a 32-bit RADIUS counter (one gigaword)."""

IN = "Acct-Input-Octets"
OUT = "Acct-Output-Octets"


def combine(octets: int, gigawords: int | None) -> int:
    """The 64-bit total of an octets counter and its gigawords (RFC 2869 5.1/5.2)."""
    return octets + (gigawords or 0) * WRAP


@dataclass(frozen=True, slots=True)
class SessionCounters:
    """Corrected cumulative totals of a session after one of its records."""

    bytes_in: int = 0
    bytes_out: int = 0
    session_time: int = 0


@dataclass(frozen=True, slots=True)
class PacketCounters:
    """Cumulative counters as one accounting record reports them.

    ``bytes_in``/``bytes_out`` are already combined with the gigawords when the
    packet had them; ``exact`` says whether it had any (see module docs).
    """

    bytes_in: int
    bytes_out: int
    session_time: int
    exact: bool

    @classmethod
    def from_attributes(
        cls,
        input_octets: int,
        output_octets: int,
        session_time: int = 0,
        input_gigawords: int | None = None,
        output_gigawords: int | None = None,
    ) -> PacketCounters:
        return cls(
            combine(input_octets, input_gigawords),
            combine(output_octets, output_gigawords),
            session_time,
            input_gigawords is not None or output_gigawords is not None,
        )

    @classmethod
    def from_event(cls, event: UsageEvent) -> PacketCounters:
        """The counters of a cumulative event (counting ``cumulative``/``cumulative32``)."""
        if event.counting == "record":
            raise ValueError("event does not carry cumulative counters")
        return cls(
            event.bytes_in, event.bytes_out, event.duration_s, event.counting == "cumulative"
        )


@dataclass(frozen=True, slots=True)
class Delta:
    """Usage of one record: the difference to the previous record of its session."""

    bytes_in: int
    bytes_out: int
    duration_s: int


def _advance(prev: int, value: int, exact: bool, name: str, notes: list[str]) -> tuple[int, int]:
    """(delta, new total) of one counter; ``prev`` is the corrected total so far."""
    if exact or value >= WRAP:
        if value >= prev:
            return value - prev, value
        notes.append(
            f"counter reset on {name}: went back from {prev} to {value}; counted from zero"
        )
        return value, value
    step = (value - prev) % WRAP
    if value < prev % WRAP:
        notes.append(f"counter wrap corrected on {name}")
    return step, prev + step


def delta(
    prev: SessionCounters | None, packet: PacketCounters
) -> tuple[Delta, SessionCounters, tuple[str, ...]]:
    """Turn one record's cumulative counters into its usage (see module docs).

    Returns ``(delta, new_state, notes)``; keep ``new_state`` for the next
    record of the session, whatever the delta is.
    """
    if prev is None:
        prev = SessionCounters()
    t = packet.session_time
    if t < prev.session_time:
        note = f"out-of-order record ignored: Acct-Session-Time {t} is before {prev.session_time}"
        return Delta(0, 0, 0), prev, (note,)
    if t == prev.session_time and t > 0 and _went_down(prev, packet):
        note = f"out-of-order record ignored: counters went back at Acct-Session-Time {t}"
        return Delta(0, 0, 0), prev, (note,)
    notes: list[str] = []
    d_in, total_in = _advance(prev.bytes_in, packet.bytes_in, packet.exact, IN, notes)
    d_out, total_out = _advance(prev.bytes_out, packet.bytes_out, packet.exact, OUT, notes)
    new = SessionCounters(total_in, total_out, t)
    return Delta(d_in, d_out, t - prev.session_time), new, tuple(notes)


def _went_down(prev: SessionCounters, packet: PacketCounters) -> bool:
    if packet.exact:
        return packet.bytes_in < prev.bytes_in or packet.bytes_out < prev.bytes_out
    return packet.bytes_in < prev.bytes_in % WRAP or packet.bytes_out < prev.bytes_out % WRAP


def to_delta(
    prev: SessionCounters | None, event: UsageEvent
) -> tuple[UsageEvent, SessionCounters | None]:
    """Turn a cumulative event into a per-record one (``counting="record"``).

    Returns the event with its delta counters and the notes of :func:`delta`
    appended, and the state to store with it. Events that are not cumulative
    (CDR lines, Accounting-On/Off) are returned as they are, with ``prev``.
    The ``start`` of the event is kept (the session's start).
    """
    if event.counting == "record":
        return event, prev
    d, new, notes = delta(prev, PacketCounters.from_event(event))
    # new_event: the same as dataclasses.replace(event, bytes_in=…, …, counting="record",
    # notes=…) without re-running the frozen dataclass's __init__ (the listener's hot path).
    out = new_event(
        event.source, event.source_record_id, event.username, event.ip, event.nas,
        event.session_id, event.status, event.event_time, event.start, d.duration_s,
        d.bytes_in, d.bytes_out, event.quantity, event.unit, event.destination, event.file,
        event.line, event.notes + notes, event.session_key, "record",
    )
    return out, new


class SessionTracker:
    """In-memory session states keyed by ``session_key``, for :func:`to_delta`.

    For processing whole sessions in one process (a detail file, tests, a
    benchmark). The state of a stopped session is kept, so a late duplicate of
    its records still gives a zero delta; ``forget()`` drops it.
    """

    def __init__(self, states: Mapping[str, SessionCounters] | None = None):
        self.states: dict[str, SessionCounters] = dict(states or {})

    def apply(self, event: UsageEvent) -> UsageEvent:
        if event.counting == "record" or event.session_key is None:
            return event
        out, new = to_delta(self.states.get(event.session_key), event)
        assert new is not None
        self.states[event.session_key] = new
        return out

    def forget(self, session_key: str) -> None:
        self.states.pop(session_key, None)


# --- meters -------------------------------------------------------------------------------


class CounterError(ValueError):
    """A cumulative reading that cannot be turned into a delta."""

    def __init__(self, reason: str, code: str):
        super().__init__(reason)
        self.reason = reason
        self.code = code


def meter_delta(
    prev: Decimal | None, value: Decimal, modulus: Decimal | None = None
) -> tuple[Decimal, tuple[str, ...]]:
    """Consumption between two readings of one meter register (see module docs).

    ``prev`` None is the first reading: the baseline, delta 0. Raises
    :class:`CounterError` for a negative reading, a reading at or above the
    modulus, or a decrease that is not a plausible rollover.
    """
    if not value.is_finite() or value < 0:
        raise CounterError(f"meter reading {value} is not a non-negative number", "negative")
    if modulus is not None and value >= modulus:
        raise CounterError(
            f"meter reading {value} is not below the register modulus {modulus}", "too_large"
        )
    if prev is None:
        return Decimal(0), ("first reading of this meter: baseline, nothing counted",)
    if value >= prev:
        return value - prev, ()
    if modulus is None:
        raise CounterError(
            f"meter went back from {prev} to {value} and has no rollover configured",
            "went_back",
        )
    rolled = modulus - prev + value
    if rolled * 2 >= modulus:
        raise CounterError(
            f"meter went back from {prev} to {value}: not a rollover at {modulus} "
            f"(it would mean {rolled} consumed)",
            "went_back",
        )
    return rolled, (f"meter rollover at {modulus} corrected",)


class MeterTracker:
    """Turns cumulative ``"reading"`` events into consumption events per meter.

    A reading event carries the meter's id in ``session_key`` and the register
    value in ``quantity`` (``counting="cumulative"``). ``modulus_for(meter_id)``
    gives the meter's rollover modulus (None: no rollover). The state is the last
    accepted reading per meter (``states``); a refused reading leaves it as it was.
    """

    def __init__(
        self,
        modulus_for: Callable[[str], Decimal | None] | Mapping[str, Decimal] | None = None,
        states: Mapping[str, Decimal] | None = None,
    ):
        if modulus_for is None:
            self._modulus: Callable[[str], Decimal | None] = lambda _meter: None
        elif isinstance(modulus_for, Mapping):
            table = dict(modulus_for)
            self._modulus = table.get
        else:
            self._modulus = modulus_for
        self.states: dict[str, Decimal] = dict(states or {})

    def apply(self, event: UsageEvent) -> UsageEvent | Reject:
        if event.status != "reading" or event.counting == "record":
            return event
        meter = event.session_key
        if meter is None or event.quantity is None:
            return Reject(
                event.file,
                event.line,
                "quantity",
                "reading without meter id or value",
                repr(event),
                "missing",
            )
        try:
            used, notes = meter_delta(self.states.get(meter), event.quantity, self._modulus(meter))
        except CounterError as exc:
            return Reject(event.file, event.line, "quantity", exc.reason, repr(event), exc.code)
        self.states[meter] = event.quantity
        return replace(event, quantity=used, counting="record", notes=event.notes + notes)
