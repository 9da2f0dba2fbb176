from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.mediation.counters import (
    WRAP,
    CounterError,
    Delta,
    MeterTracker,
    PacketCounters,
    SessionCounters,
    SessionTracker,
    combine,
    delta,
    meter_delta,
    to_delta,
)
from app.mediation.records import Reject, UsageEvent

T = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


def pkt(bytes_in, bytes_out=0, time=0, exact=False):
    return PacketCounters(bytes_in, bytes_out, time, exact)


def test_combine_gigawords():
    assert combine(5, None) == 5
    assert combine(5, 0) == 5
    assert combine(5, 3) == 3 * 2**32 + 5


def test_from_attributes_is_exact_when_any_gigawords_attribute_is_present():
    assert PacketCounters.from_attributes(1, 2, 3) == PacketCounters(1, 2, 3, False)
    assert PacketCounters.from_attributes(1, 2, 3, input_gigawords=2) == PacketCounters(
        2 * WRAP + 1, 2, 3, True
    )
    assert PacketCounters.from_attributes(1, 2, 3, output_gigawords=0).exact


def test_interims_then_stop_become_deltas():
    d1, s1, n1 = delta(None, pkt(100, 10, 60))
    d2, s2, n2 = delta(s1, pkt(250, 30, 120))
    d3, s3, n3 = delta(s2, pkt(300, 31, 150))
    assert (d1, d2, d3) == (Delta(100, 10, 60), Delta(150, 20, 60), Delta(50, 1, 30))
    assert s3 == SessionCounters(300, 31, 150)
    assert n1 == n2 == n3 == ()


def test_duplicate_gives_zero_delta():
    _, state, _ = delta(None, pkt(100, 10, 60))
    d, again, notes = delta(state, pkt(100, 10, 60))
    assert d == Delta(0, 0, 0)
    assert again == state
    assert notes == ()


def test_wrap_without_gigawords_is_corrected_and_noted():
    _, state, _ = delta(None, pkt(WRAP - 100, 5, 60))
    d, state, notes = delta(state, pkt(50, 7, 120))
    assert d == Delta(150, 2, 60)
    assert state == SessionCounters(WRAP + 50, 7, 120)
    assert notes == ("counter wrap corrected on Acct-Input-Octets",)
    d, state, notes = delta(state, pkt(40, 3, 180))  # both wrap again
    assert d == Delta(WRAP - 10, WRAP - 4, 60)
    assert notes == (
        "counter wrap corrected on Acct-Input-Octets",
        "counter wrap corrected on Acct-Output-Octets",
    )


def test_gigawords_counters_are_exact():
    _, state, _ = delta(None, pkt(WRAP - 100, 0, 60, exact=True))
    d, state, notes = delta(state, pkt(WRAP + 50, 0, 120, exact=True))
    assert d.bytes_in == 150
    assert notes == ()


def test_exact_counter_going_down_later_is_a_reset_counted_from_zero():
    _, state, _ = delta(None, pkt(5000, 0, 60, exact=True))
    d, state, notes = delta(state, pkt(300, 0, 120, exact=True))
    assert d.bytes_in == 300
    assert state.bytes_in == 300
    assert notes[0].startswith("counter reset on Acct-Input-Octets")


def test_out_of_order_records_are_ignored():
    _, state, _ = delta(None, pkt(1000, 100, 600))
    d, same, notes = delta(state, pkt(500, 50, 300))  # late retransmit of an earlier interim
    assert d == Delta(0, 0, 0)
    assert same == state
    assert "out-of-order" in notes[0]
    d, same, notes = delta(state, pkt(0, 0, 0))  # a late Start
    assert d == Delta(0, 0, 0) and same == state
    d, same, notes = delta(state, pkt(900, 100, 600))  # same time, fewer bytes
    assert d == Delta(0, 0, 0) and same == state and "out-of-order" in notes[0]


def test_without_session_time_the_counters_alone_order_records():
    _, state, _ = delta(None, pkt(WRAP - 1, 0, 0))
    d, state, notes = delta(state, pkt(9, 0, 0))
    assert d.bytes_in == 10
    assert notes == ("counter wrap corrected on Acct-Input-Octets",)


def _event(bytes_in, bytes_out, time, counting, status="interim", key="nas/s1", rid="r"):
    return UsageEvent(
        source="radius",
        source_record_id=rid,
        username="alice",
        ip=None,
        nas="nas",
        session_id="s1",
        status=status,
        event_time=T,
        start=T,
        duration_s=time,
        bytes_in=bytes_in,
        bytes_out=bytes_out,
        session_key=key,
        counting=counting,
    )


def test_to_delta_on_events():
    first, state = to_delta(None, _event(WRAP - 10, 0, 60, "cumulative32"))
    assert (first.bytes_in, first.counting) == (WRAP - 10, "record")
    second, state = to_delta(state, _event(10, 0, 90, "cumulative32", status="stop"))
    assert (second.bytes_in, second.duration_s, second.status) == (20, 30, "stop")
    assert second.notes == ("counter wrap corrected on Acct-Input-Octets",)
    assert state == SessionCounters(WRAP + 10, 0, 90)
    record = _event(1, 2, 3, "record")
    assert to_delta(state, record) == (record, state)
    with pytest.raises(ValueError):
        PacketCounters.from_event(record)


def test_session_tracker_keeps_sessions_apart():
    tracker = SessionTracker()
    a1 = tracker.apply(_event(100, 0, 10, "cumulative32", key="a"))
    b1 = tracker.apply(_event(7, 0, 10, "cumulative32", key="b"))
    a2 = tracker.apply(_event(150, 0, 20, "cumulative32", key="a"))
    assert (a1.bytes_in, b1.bytes_in, a2.bytes_in) == (100, 7, 50)
    assert tracker.states["a"] == SessionCounters(150, 0, 20)
    tracker.forget("a")
    assert "a" not in tracker.states


# --- properties ---------------------------------------------------------------------------

steps32 = st.lists(
    st.tuples(st.integers(0, WRAP - 1), st.integers(0, WRAP - 1), st.integers(1, 3600)),
    min_size=1,
    max_size=40,
)


@settings(max_examples=300, database=None)
@given(steps=steps32, with_time=st.booleans())
def test_32bit_interims_with_wraps_sum_to_the_true_total(steps, with_time):
    """Any cumulative sequence, reported modulo 2**32, gives deltas summing to the truth."""
    true_in = true_out = elapsed = 0
    state = None
    got_in = got_out = got_time = 0
    for step_in, step_out, seconds in steps:
        true_in += step_in
        true_out += step_out
        elapsed += seconds
        d, state, _ = delta(
            state, pkt(true_in % WRAP, true_out % WRAP, elapsed if with_time else 0)
        )
        assert d.bytes_in >= 0 and d.bytes_out >= 0 and d.duration_s >= 0
        got_in += d.bytes_in
        got_out += d.bytes_out
        got_time += d.duration_s
    assert (got_in, got_out) == (true_in, true_out)
    assert state.bytes_in == true_in and state.bytes_out == true_out
    assert got_time == (elapsed if with_time else 0)


@settings(max_examples=300, database=None)
@given(
    steps=st.lists(
        st.tuples(st.integers(0, 2**40), st.integers(0, 2**40), st.integers(1, 3600)),
        min_size=1,
        max_size=30,
    ),
    always_send=st.booleans(),
)
def test_gigawords_sequences_sum_to_the_true_total(steps, always_send):
    """With gigawords (sent always, or only when not zero) deltas are exact."""
    true_in = true_out = elapsed = 0
    state = None
    got_in = got_out = 0
    for step_in, step_out, seconds in steps:
        # a NAS that omits zero gigawords sends packets without any while both
        # totals are below 2**32: those read as 32-bit counters, still exact
        true_in += step_in
        true_out += step_out
        elapsed += seconds
        gw_in, gw_out = true_in >> 32, true_out >> 32
        packet = PacketCounters.from_attributes(
            true_in % WRAP,
            true_out % WRAP,
            elapsed,
            gw_in if always_send or gw_in else None,
            gw_out if always_send or gw_out else None,
        )
        d, state, _ = delta(state, packet)
        got_in += d.bytes_in
        got_out += d.bytes_out
    assert (got_in, got_out) == (true_in, true_out)


@settings(max_examples=200, database=None)
@given(steps=steps32, data=st.data())
def test_retransmits_and_late_packets_add_nothing(steps, data):
    """Duplicates and stale retransmissions mixed into a session change no total."""
    packets = []
    true_in = true_out = elapsed = 0
    for step_in, step_out, seconds in steps:
        true_in += step_in
        true_out += step_out
        elapsed += seconds
        packets.append(pkt(true_in % WRAP, true_out % WRAP, elapsed))
    arrival = []
    for i, packet in enumerate(packets):
        arrival.append(packet)
        for _ in range(data.draw(st.integers(0, 2))):
            arrival.append(packets[data.draw(st.integers(0, i))])  # this one or an older one
    state = None
    total_in = total_out = 0
    for packet in arrival:
        d, state, _ = delta(state, packet)
        total_in += d.bytes_in
        total_out += d.bytes_out
    assert (total_in, total_out) == (true_in, true_out)


# --- meters -------------------------------------------------------------------------------


def test_meter_delta_rules():
    assert meter_delta(None, Decimal("1234.5")) == (
        Decimal(0),
        ("first reading of this meter: baseline, nothing counted",),
    )
    assert meter_delta(Decimal("1234.5"), Decimal("1240.0")) == (Decimal("5.5"), ())
    assert meter_delta(Decimal("99990"), Decimal("5"), Decimal("100000")) == (
        Decimal("15"),
        ("meter rollover at 100000 corrected",),
    )
    assert meter_delta(Decimal("9999.8"), Decimal("0.3"), Decimal("10000.0"))[0] == Decimal("0.5")
    with pytest.raises(CounterError) as info:
        meter_delta(Decimal("100"), Decimal("99"))
    assert info.value.code == "went_back"
    with pytest.raises(CounterError) as info:  # 100 -> 99 is not a rollover of a 5-digit register
        meter_delta(Decimal("100"), Decimal("99"), Decimal("100000"))
    assert info.value.code == "went_back"
    with pytest.raises(CounterError) as info:
        meter_delta(Decimal("100"), Decimal("100000"), Decimal("100000"))
    assert info.value.code == "too_large"
    with pytest.raises(CounterError) as info:
        meter_delta(Decimal("100"), Decimal("-1"))
    assert info.value.code == "negative"


def _reading(meter, value, line):
    return UsageEvent(
        source="meter",
        source_record_id=f"{meter}-{line}",
        username=None,
        ip=None,
        nas=None,
        session_id=None,
        status="reading",
        event_time=T,
        start=T,
        duration_s=0,
        bytes_in=0,
        bytes_out=0,
        quantity=Decimal(value),
        unit="kWh",
        file="m.csv",
        line=line,
        session_key=meter,
        counting="cumulative",
    )


def test_meter_tracker_turns_readings_into_consumption_and_rejects_decreases():
    tracker = MeterTracker({"m1": Decimal("100000")})
    out = [
        tracker.apply(_reading("m1", "99980", 1)),
        tracker.apply(_reading("m1", "99990", 2)),
        tracker.apply(_reading("m1", "7", 3)),
        tracker.apply(_reading("m2", "50", 4)),
        tracker.apply(_reading("m2", "40", 5)),
        tracker.apply(_reading("m2", "60", 6)),
    ]
    assert [o.quantity if isinstance(o, UsageEvent) else None for o in out] == [
        Decimal(0),
        Decimal(10),
        Decimal(17),
        Decimal(0),
        None,
        Decimal(10),
    ]
    reject = out[4]
    assert isinstance(reject, Reject)
    assert (reject.line, reject.field, reject.code) == (5, "quantity", "went_back")
    assert out[2].notes == ("meter rollover at 100000 corrected",)
    assert out[2].counting == "record"
    assert tracker.states == {"m1": Decimal("7"), "m2": Decimal("60")}


@settings(max_examples=200, database=None)
@given(
    start=st.integers(0, 99999),
    steps=st.lists(st.integers(0, 49999), min_size=1, max_size=30),
)
def test_meter_rollover_sequences_sum_to_consumption(start, steps):
    modulus = Decimal(100000)
    previous = Decimal(start)
    value = start
    total = Decimal(0)
    for step in steps:
        value = (value + step) % 100000
        used, _ = meter_delta(previous, Decimal(value), modulus)
        total += used
        previous = Decimal(value)
    assert total == sum(steps)
