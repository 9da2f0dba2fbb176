import io
from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from app.mediation.cdr_csv import parse_cdr
from app.mediation.records import MediationFileError, Reject, UsageEvent

HEADER = "record_id,username,ip,start,duration_s,bytes_in,bytes_out,unit,quantity,destination\n"
BERLIN = ZoneInfo("Europe/Berlin")


def parse(text, tz=UTC, name="cdr.csv"):
    return list(parse_cdr(io.StringIO(text, newline=""), name, tz))


def one(text, tz=UTC):
    (result,) = parse(HEADER + text, tz)
    return result


def test_happy_path_network_and_non_network_records():
    rows = parse(
        HEADER
        + "c1,alice@visp1.example,100.64.0.5,2026-11-24T10:00:00Z,90,1000,2000,,,\n"
        + 'c2,bob,,2026-11-24 11:00:00+01:00,0,0,0,SMS,3,"+49 30 1234"\n'
        + "c3,,2001:DB8::1,2026-11-24T10:00:00.250Z,,,,kWh,12.75,\n"
    )
    assert all(isinstance(r, UsageEvent) for r in rows)
    c1, c2, c3 = rows
    assert c1 == UsageEvent(
        source="cdr",
        source_record_id="c1",
        username="alice@visp1.example",
        ip="100.64.0.5",
        nas=None,
        session_id=None,
        status="cdr",
        event_time=datetime(2026, 11, 24, 10, 1, 30, tzinfo=UTC),
        start=datetime(2026, 11, 24, 10, 0, tzinfo=UTC),
        duration_s=90,
        bytes_in=1000,
        bytes_out=2000,
        file="cdr.csv",
        line=2,
    )
    assert c2.start == datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
    assert c2.start.tzinfo is UTC
    assert (c2.ip, c2.unit, c2.quantity, c2.destination) == (None, "SMS", Decimal(3), "+49 30 1234")
    assert (c2.bytes_in, c2.duration_s, c2.line) == (0, 0, 3)
    assert c3.ip == "2001:db8::1"
    assert c3.username is None
    assert c3.quantity == Decimal("12.75")
    assert isinstance(c3.quantity, Decimal)
    assert c3.start.microsecond == 250000
    assert all(type(r.bytes_in) is int and type(r.duration_s) is int for r in rows)


def test_columns_in_any_order_case_and_blanks_and_optional_extras():
    text = (
        "\ufeff Start ,IP,Record_ID,nas,session_id\n"
        "2026-11-24T10:00:00Z,10.1.2.3,x1,bras-1,sess-9\n"
    )
    (event,) = parse(text)
    assert (event.source_record_id, event.ip, event.nas, event.session_id) == (
        "x1",
        "10.1.2.3",
        "bras-1",
        "sess-9",
    )
    assert (event.duration_s, event.bytes_in, event.bytes_out, event.username) == (0, 0, 0, None)


def test_naive_timestamps_are_read_in_the_default_time_zone():
    event = one("c1,alice,,2026-07-01T12:00:00,0,0,0,,,\n", tz=BERLIN)
    assert event.start == datetime(2026, 7, 1, 10, 0, tzinfo=UTC)
    assert event.notes == ()
    winter = one("c1,alice,,2026-01-01 12:00:00,0,0,0,,,\n", tz=BERLIN)
    assert winter.start == datetime(2026, 1, 1, 11, 0, tzinfo=UTC)


def test_ambiguous_local_time_is_noted():
    # 2026-10-25 02:30 happens twice in Berlin
    event = one("c1,alice,,2026-10-25T02:30:00,0,0,0,,,\n", tz=BERLIN)
    assert event.start == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    assert "ambiguous" in event.notes[0]


def test_blank_lines_are_skipped_and_line_numbers_follow_the_file():
    rows = parse(
        HEADER
        + "\n"
        + 'c1,alice,,2026-11-24T10:00:00Z,0,0,0,,,"multi\nline"\n'
        + "c2,bob,,2026-11-24T10:00:00Z,0,0,0,,,\n"
        + "c3,bob,,yesterday,0,0,0,,,\n"
    )
    assert [r.line for r in rows] == [3, 5, 6]
    assert rows[0].destination == "multi\nline"
    assert isinstance(rows[2], Reject)


REJECTS = [
    # row, field, code
    ("c1,alice,,2026-11-24T10:00:00Z,12x,0,0,,,", "duration_s", "not_an_integer"),
    ("c1,alice,,2026-11-24T10:00:00Z,1.5,0,0,,,", "duration_s", "not_an_integer"),
    ("c1,alice,,2026-11-24T10:00:00Z,0,1_000,0,,,", "bytes_in", "not_an_integer"),
    ("c1,alice,,2026-11-24T10:00:00Z,0,\u0663,0,,,", "bytes_in", "not_an_integer"),
    ("c1,alice,,2026-11-24T10:00:00Z,0,-5,0,,,", "bytes_in", "negative"),
    ("c1,alice,,2026-11-24T10:00:00Z,0,0,-1,,,", "bytes_out", "negative"),
    ("c1,alice,,2026-11-24T10:00:00Z,-3,0,0,,,", "duration_s", "negative"),
    ("c1,alice,,2026-11-24T10:00:00Z,0,99999999999999999999,0,,,", "bytes_in", "too_large"),
    ("c1,alice,,24/11/2026 10:00,0,0,0,,,", "start", "bad_timestamp"),
    ("c1,alice,,2026-11-24,0,0,0,,,", "start", "bad_timestamp"),
    ("c1,alice,,2026-13-24T10:00:00Z,0,0,0,,,", "start", "bad_timestamp"),
    ("c1,alice,,2026-11-24T10:00:00+25:00,0,0,0,,,", "start", "bad_timestamp"),
    ("c1,alice,,,0,0,0,,,", "start", "missing"),
    ("c1,,,2026-11-24T10:00:00Z,0,0,0,,,", "username", "missing"),
    ("c1, ,,2026-11-24T10:00:00Z,0,0,0,,,", "username", "missing"),
    ("c1,,300.1.1.1,2026-11-24T10:00:00Z,0,0,0,,,", "ip", "bad_ip"),
    ("c1,,010.1.1.1,2026-11-24T10:00:00Z,0,0,0,,,", "ip", "bad_ip"),
    (",alice,,2026-11-24T10:00:00Z,0,0,0,,,", "record_id", "missing"),
    ("c1,alice,,2026-11-24T10:00:00Z,0,0,0,SMS,,", "quantity", "missing"),
    ("c1,alice,,2026-11-24T10:00:00Z,0,0,0,,3,", "unit", "missing"),
    ("c1,alice,,2026-11-24T10:00:00Z,0,0,0,SMS,three,", "quantity", "not_a_number"),
    ("c1,alice,,2026-11-24T10:00:00Z,0,0,0,SMS,NaN,", "quantity", "not_a_number"),
    ("c1,alice,,2026-11-24T10:00:00Z,0,0,0,SMS,-1,", "quantity", "negative"),
    ("c1,alice,,2026-11-24T10:00:00Z,0,0,0,text message,1,", "unit", "bad_unit"),
    ("c1,alice,,2026-11-24T10:00:00Z,0,0,0,,", None, "column_count"),
    ("c1,alice,,2026-11-24T10:00:00Z,0,0,0,,,,", None, "column_count"),
]


@pytest.mark.parametrize(("row", "field", "code"), REJECTS)
def test_every_reject_reason_names_line_field_and_reason(row, field, code):
    rows = parse(HEADER + "ok1,alice,,2026-11-24T10:00:00Z,1,2,3,,,\n" + row + "\n")
    good, bad = rows
    assert isinstance(good, UsageEvent)
    assert isinstance(bad, Reject), bad
    assert (bad.file, bad.line, bad.field, bad.code) == ("cdr.csv", 3, field, code)
    assert bad.reason
    assert bad.raw.split(",")[0] == row.split(",")[0]


def test_duplicate_record_id_in_a_file_is_rejected_after_the_first():
    rows = parse(
        HEADER
        + "c1,alice,,2026-11-24T10:00:00Z,1,0,0,,,\n"
        + "c1,alice,,2026-11-24T10:05:00Z,1,0,0,,,\n"
    )
    assert isinstance(rows[0], UsageEvent)
    assert isinstance(rows[1], Reject)
    assert (rows[1].line, rows[1].field, rows[1].code) == (3, "record_id", "duplicate")


def test_rejected_row_does_not_count_as_seen():
    rows = parse(HEADER + "c1,alice,,bad,1,0,0,,,\n" + "c1,alice,,2026-11-24T10:05:00Z,1,0,0,,,\n")
    assert isinstance(rows[0], Reject)
    assert isinstance(rows[1], UsageEvent)


def test_numbers_with_blanks_around_are_accepted():
    event = one("c1, alice ,,2026-11-24T10:00:00Z , 7 ,0,0,,,\n")
    assert (event.username, event.duration_s) == ("alice", 7)


@pytest.mark.parametrize(
    ("header", "field", "reason"),
    [
        ("record_id,username,start,colour\n", "colour", "unknown column"),
        ("record_id,username,start,username\n", "username", "appears twice"),
        ("record_id,username\n", "start", "required column 'start'"),
        ("username,start\n", "record_id", "required column 'record_id'"),
        ("record_id,start,duration_s\n", "username", "needs a 'username' or an 'ip'"),
    ],
)
def test_bad_header_raises_before_any_row(header, field, reason):
    stream = io.StringIO(header + "c1,alice,2026-11-24T10:00:00Z,x\n")
    with pytest.raises(MediationFileError) as info:
        parse_cdr(stream, "bad.csv", UTC)  # raises on the call, no iteration needed
    assert (info.value.file, info.value.line, info.value.field) == ("bad.csv", 1, field)
    assert reason in info.value.reason


def test_empty_file_is_a_file_error():
    with pytest.raises(MediationFileError) as info:
        parse_cdr(io.StringIO(""), "empty.csv", UTC)
    assert (info.value.line, info.value.field) == (1, None)
    assert "empty file" in info.value.reason


def test_header_only_file_gives_nothing():
    assert parse(HEADER) == []


def test_parsing_is_lazy():
    class CountingLines:
        def __init__(self, lines):
            self.lines = iter(lines)
            self.read = 0

        def __iter__(self):
            return self

        def __next__(self):
            self.read += 1
            return next(self.lines)

    def rows():
        yield HEADER
        for i in range(10**9):  # far more than could be held in memory
            yield f"c{i},alice,,2026-11-24T10:00:00Z,1,0,0,,,\n"

    source = CountingLines(rows())
    events = parse_cdr(source, "big.csv", UTC)  # type: ignore[arg-type]
    assert [next(events).source_record_id for _ in range(3)] == ["c0", "c1", "c2"]
    assert source.read <= 5


def test_broken_quoting_is_rejected_and_parsing_goes_on():
    rows = parse(
        "record_id,username,start\n"
        'c1,"al"ice,2026-11-24T10:00:00Z\n'
        "c2,bob,2026-11-24T10:00:00Z\n"
        'c3,"open,2026-11-24T10:00:00Z\n'
    )
    assert [(type(r).__name__, r.line) for r in rows] == [
        ("Reject", 2),
        ("UsageEvent", 3),
        ("Reject", 4),
    ]
    assert {r.code for r in rows if isinstance(r, Reject)} == {"bad_csv"}


def test_fields_mode_gives_the_same_records_and_rejects():
    """``fields=True`` (plain tuples for bulk loaders) is the same parse: event_of of each
    tuple equals the event of the default mode, rejects are identical, and start_text is
    set exactly for the plain ``YYYY-MM-DDTHH:MM:SSZ`` form."""
    from app.mediation.cdr_csv import FIELDS, event_of

    rows = [row for row, _, _ in REJECTS] + [
        "a1,alice,10.0.0.1,2026-11-24T10:00:00Z,60,1,2,,,",
        "a2,alice@visp1.example,,2026-11-24 10:00:00Z,0,1,2,SMS,2.5,+49",
        "a3,alice,,2026-11-24T10:00:00+01:00,5,1,2,,,",
        "a4,alice,,2026-11-24t10:00:00Z,5,1,2,,,",
        "a5,alice,,2026-11-24T10:00:00.5Z,5,1,2,,,",
        "a6,alice,,2026-10-25 02:30:00,5,1,2,,,",
        '"a7 ",alice,,2026-11-24T10:00:00Z,1,2,3,,,"x\\y"',
        "a1,alice,,2026-11-24T10:00:00Z,60,1,2,,,",
        "",
    ]
    text = HEADER + "\n".join(rows) + "\n"
    events = list(parse_cdr(io.StringIO(text, newline=""), "cdr.csv", BERLIN))
    tuples = list(parse_cdr(io.StringIO(text, newline=""), "cdr.csv", BERLIN, fields=True))
    assert len(events) == len(tuples)
    for event, item in zip(events, tuples, strict=True):
        if isinstance(event, Reject):
            assert item == event
            continue
        assert type(item) is tuple and len(item) == len(FIELDS)
        assert event_of(item) == event
    starts = {item[0]: item[6] for item in tuples if type(item) is tuple}
    assert starts["a1"] == "2026-11-24T10:00:00Z" and starts["a2"] == "2026-11-24 10:00:00Z"
    assert starts["a3"] is starts["a4"] is starts["a5"] is starts["a6"] is None
