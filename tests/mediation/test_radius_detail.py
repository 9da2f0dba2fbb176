"""Detail files.

``data/detail-20261125`` and ``data/detail-berlin`` were written by FreeRADIUS 3.2.1's
``detail`` module (Debian 12) from Accounting-Requests sent with radclient; the second
with the server running in TZ=Europe/Berlin.
"""

import io
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from app.mediation.counters import WRAP, SessionTracker
from app.mediation.radius_detail import parse_detail, parse_event_timestamp, unquote
from app.mediation.radius_records import record_id
from app.mediation.records import Reject, UsageEvent

DATA = Path(__file__).parent / "data"
BERLIN = ZoneInfo("Europe/Berlin")


def read(name, tz=UTC):
    with open(DATA / name, encoding="utf-8", errors="backslashreplace") as stream:
        return list(parse_detail(stream, name, tz))


def parse(text, tz=UTC):
    return list(parse_detail(io.StringIO(text), "detail", tz))


def test_freeradius_detail_file():
    events = read("detail-20261125")
    assert all(isinstance(e, UsageEvent) for e in events)
    assert [(e.status, e.line) for e in events] == [
        ("accounting-on", 1),
        ("start", 10),
        ("interim", 22),
        ("interim", 36),
        ("stop", 50),
        ("interim", 65),
        ("stop", 82),
    ]
    on, start, interim1, interim2, stop, carol1, carol2 = events
    assert (on.nas, on.session_key, on.counting) == ("10.0.0.1", None, "record")
    assert on.event_time == datetime(2026, 11, 25, 9, 46, 40, tzinfo=UTC)

    assert start.username == "alice@visp1.example"
    assert (start.ip, start.nas, start.session_id) == ("100.64.0.5", "10.0.0.1", "81a00001")
    assert start.session_key == "94610e2f90e6cb068b0cb56ab922e442"  # Acct-Unique-Session-Id
    assert start.source == "detail"
    assert start.file == "detail-20261125"
    assert interim1.bytes_in == 4294967000
    assert interim1.counting == "cumulative32"
    assert interim1.event_time == datetime(2026, 11, 25, 9, 51, 50, tzinfo=UTC)
    assert interim1.start == datetime(2026, 11, 25, 9, 46, 50, tzinfo=UTC)
    assert stop.start == start.event_time
    assert interim1.source_record_id == record_id(
        "u", "94610e2f90e6cb068b0cb56ab922e442", "interim", 4294967000, 1000, 300
    )

    # gigawords combined: 1 * 2**32 + 100, then 2 * 2**32 + 50
    assert (carol1.bytes_in, carol1.bytes_out, carol1.counting) == (WRAP + 100, 200, "cumulative")
    assert carol2.bytes_in == 2 * WRAP + 50
    assert carol1.username == "visp2/carol"
    assert carol1.nas == "127.0.0.1"  # added by FreeRADIUS from the packet source
    assert len({e.source_record_id for e in events}) == len(events)


def test_detail_sessions_to_deltas_with_wrap_correction():
    tracker = SessionTracker()
    usage = [tracker.apply(e) for e in read("detail-20261125")]
    alice = [u for u in usage if u.session_id == "81a00001"]
    assert [(u.bytes_in, u.bytes_out, u.duration_s) for u in alice] == [
        (0, 0, 0),
        (4294967000, 1000, 300),
        (1000, 2000, 300),  # 704 after 4294967000: wrapped
        (2000, 500, 100),
    ]
    assert alice[2].notes == ("counter wrap corrected on Acct-Input-Octets",)
    assert sum(u.bytes_in for u in alice) == WRAP + 2704
    carol = [u for u in usage if u.session_id == "c0ffee01"]
    assert [(u.bytes_in, u.duration_s) for u in carol] == [(WRAP + 100, 3600), (WRAP - 50, 3600)]
    assert all(u.counting == "record" for u in usage)


def test_event_timestamp_in_local_zone():
    (event,) = read("detail-berlin", BERLIN)
    assert event.event_time == datetime(2026, 7, 1, 10, 0, tzinfo=UTC)  # "12:00:00 CEST"
    assert event.notes == ()
    assert (event.username, event.bytes_in, event.bytes_out, event.duration_s) == (
        "dave",
        10,
        20,
        30,
    )


def test_event_timestamp_of_an_unknown_zone_falls_back_to_arrival_time():
    (event,) = read("detail-berlin", UTC)  # wrong default zone: CEST is not UTC's
    assert event.event_time == datetime.fromtimestamp(1795589147, UTC)
    assert "not in UTC" in event.notes[0]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Nov 25 2026 09:46:40 UTC", 1795600000),
        ("1795600000", 1795600000),
        ("Nov 25 2026 10:46:40 CET", 1795600000),
        ("Nov 25 2026 10:46:40 +0100", 1795600000),
        ("Oct 25 2026 02:30:00 CEST", 1792888200),  # the first 02:30 of the DST change
        ("Oct 25 2026 02:30:00 CET", 1792891800),  # the second one
        ("Nov 25 2026 10:46:40 EST", None),
    ],
)
def test_parse_event_timestamp(text, expected):
    assert parse_event_timestamp(text, BERLIN) == expected


def test_unquote():
    assert unquote('"plain"') == "plain"
    assert unquote('"say \\"hi\\"\\\\ok"') == 'say "hi"\\ok'
    assert unquote('"tab\\there\\n"') == "tab\there\n"
    assert unquote('"caf\\303\\251"') == "café"
    assert unquote('"bad \\377"') == "bad \\xff"
    assert unquote("10.0.0.1") == "10.0.0.1"


def test_escaped_strings_and_no_trailing_blank_line():
    text = (
        "Tue Nov 24 10:00:00 2026\n"
        '\tUser-Name = "o\\"brien\\\\x"\n'
        "\tAcct-Status-Type = Stop\n"
        '\tAcct-Session-Id = "s1"\n'
        "\tNAS-IP-Address = 10.0.0.9\n"
        "\tAcct-Session-Time = 10\n"
        "\tTimestamp = 1795600000"
    )
    (event,) = parse(text)
    assert event.username == 'o"brien\\x'
    assert event.event_time == datetime.fromtimestamp(1795600000, UTC)


def test_header_time_is_the_last_resort_in_the_default_zone():
    text = (
        "Tue Nov 24 10:00:00 2026\n"
        "\tAcct-Status-Type = Start\n"
        '\tAcct-Session-Id = "s1"\n'
        "\tNAS-IP-Address = 10.0.0.9\n"
        "\tAcct-Delay-Time = 4\n"
    )
    (event,) = parse(text, BERLIN)
    assert event.event_time == datetime(2026, 11, 24, 8, 59, 56, tzinfo=UTC)


def test_bad_blocks_are_rejected_with_their_first_line_and_parsing_goes_on():
    good = (
        "Tue Nov 24 10:00:00 2026\n"
        "\tAcct-Status-Type = Stop\n"
        '\tAcct-Session-Id = "ok"\n'
        "\tNAS-IP-Address = 10.0.0.9\n"
        "\tTimestamp = 1795600000\n"
        "\n"
    )
    blocks = [
        ('\tAcct-Status-Type = Stop\n\tAcct-Session-Id = "x"\n', None, "bad_block"),
        (
            'Tue Nov 24 10:00:00 2026\n\tAcct-Session-Id = "x"\n\tNAS-IP-Address = 10.0.0.9\n',
            "Acct-Status-Type",
            "missing",
        ),
        (
            "Tue Nov 24 10:00:00 2026\n\tAcct-Status-Type = Stop\n\tNAS-IP-Address = 10.0.0.9\n",
            "Acct-Session-Id",
            "missing",
        ),
        (
            'Tue Nov 24 10:00:00 2026\n\tAcct-Status-Type = Failed\n\tAcct-Session-Id = "x"\n',
            "Acct-Status-Type",
            "unsupported",
        ),
        (
            'Tue Nov 24 10:00:00 2026\n\tAcct-Status-Type = Stop\n\tAcct-Session-Id = "x"\n'
            "\tNAS-IP-Address = 10.0.0.9\n\tAcct-Input-Octets = lots\n",
            "Acct-Input-Octets",
            "not_an_integer",
        ),
        (
            'Tue Nov 24 10:00:00 2026\n\tAcct-Status-Type = Stop\n\tAcct-Session-Id = "x"\n'
            "\tNAS-IP-Address = 10.0.0.9\n\tAcct-Input-Octets = 4294967296\n",
            "Acct-Input-Octets",
            "out_of_range",
        ),
        (
            "Tue Nov 24 10:00:00 2026\n\tAcct-Status-Type = Stop\n\tthis is garbage\n",
            None,
            "bad_line",
        ),
        (
            'Someday\n\tAcct-Status-Type = Stop\n\tAcct-Session-Id = "x"\n'
            "\tNAS-IP-Address = 10.0.0.9\n",
            None,
            "bad_timestamp",
        ),
        (
            'Tue Nov 24 10:00:00 2026\n\tAcct-Status-Type = Stop\n\tAcct-Session-Id = "x"\n'
            '\tNAS-IP-Address = 10.0.0.9\n\tEvent-Timestamp = "yesterday noon"\n',
            "Event-Timestamp",
            "bad_timestamp",
        ),
        (
            'Tue Nov 24 10:00:00 2026\n\tAcct-Status-Type = Stop\n\tAcct-Session-Id = "x"\n',
            "NAS-IP-Address",
            "missing",
        ),
    ]
    for block, field, code in blocks:
        text = good + block + "\n" + good
        results = parse(text)
        assert [type(r) for r in results] == [UsageEvent, Reject, UsageEvent], block
        reject = results[1]
        assert (reject.line, reject.field, reject.code) == (7, field, code), block
        assert reject.raw == block.rstrip("\n")
        assert reject.file == "detail"
        assert results[2].line == 7 + block.count("\n") + 1


def test_binary_stream_and_crlf():
    text = (
        b"Tue Nov 24 10:00:00 2026\r\n"
        b'\tUser-Name = "j\xc3\xb6rg"\r\n'
        b"\tAcct-Status-Type = Interim-Update\r\n"
        b'\tAcct-Session-Id = "s1"\r\n'
        b'\tNAS-Identifier = "bras-7"\r\n'
        b"\tAcct-Output-Gigawords = 0\r\n"
        b"\tAcct-Output-Octets = 12\r\n"
        b"\tAcct-Session-Time = 60\r\n"
        b"\r\n"
    )
    (event,) = list(parse_detail(io.BytesIO(text), "detail.bin", UTC))
    assert (event.username, event.nas, event.session_key) == ("jörg", "bras-7", "bras-7/s1")
    assert (event.bytes_out, event.counting) == (12, "cumulative")
