import dataclasses
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from app.mediation.records import (
    MediationFileError,
    Reject,
    UsageEvent,
    new_event,
    split_username,
)

T = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("alice@visp1.example", ("alice", "visp1.example")),
        ("alice@VISP1.Example", ("alice", "visp1.example")),
        ("Alice@visp1.example", ("Alice", "visp1.example")),
        ("a@b@visp1.example", ("a@b", "visp1.example")),
        ("visp1.example/alice", ("alice", "visp1.example")),
        ("visp1/alice@visp2.example", ("visp1/alice", "visp2.example")),
        ("alice", ("alice", None)),
        ("DOMAIN\\alice", ("DOMAIN\\alice", None)),
    ],
)
def test_split_username(name, expected):
    assert split_username(name) == expected


@pytest.mark.parametrize("name", ["", "@visp1.example", "alice@", "/alice", "visp1/"])
def test_split_username_refuses_empty_parts(name):
    with pytest.raises(ValueError):
        split_username(name)


def _values():
    return (
        "cdr",
        "id-1",
        "alice",
        "100.64.0.1",
        "nas1",
        "s1",
        "cdr",
        T,
        T,
        60,
        1,
        2,
        Decimal("1.5"),
        "SMS",
        "+4930",
        "f.csv",
        2,
        ("n",),
        None,
        "record",
    )


def test_usage_event_is_frozen_and_slotted():
    event = UsageEvent(*_values())
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.bytes_in = 5  # type: ignore[misc]
    assert not hasattr(event, "__dict__")


def test_new_event_builds_the_same_event_as_the_constructor():
    fast = new_event(*_values())
    slow = UsageEvent(*_values())
    assert type(fast) is UsageEvent
    assert fast == slow
    assert hash(fast) == hash(slow)
    assert repr(fast) == repr(slow)
    with pytest.raises(dataclasses.FrozenInstanceError):
        fast.bytes_in = 5  # type: ignore[misc]
    assert [f.name for f in dataclasses.fields(UsageEvent)] == list(UsageEvent.__slots__)


def test_mediation_file_error_carries_the_place():
    exc = MediationFileError("a.csv", 1, "start", "required column 'start' is missing")
    assert (exc.file, exc.line, exc.field) == ("a.csv", 1, "start")
    assert str(exc) == "a.csv:1 [start]: required column 'start' is missing"


def test_reject_defaults():
    reject = Reject("a.csv", 3, "ip", "bad", "raw")
    assert reject.code == "invalid"
