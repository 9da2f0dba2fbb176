"""Meter readings in CSV -> cumulative ``"reading"`` events.

Header (any order, case-insensitive): ``reading_id,meter,time,value``. ``reading_id`` is the
idempotency key; ``meter`` the meter's serial; ``time`` ISO-8601 (naive = ``default_tz``);
``value`` the register's cumulative reading (a decimal >= 0). Each event carries the meter
serial in ``session_key`` and the reading in ``quantity`` with ``counting="cumulative"``;
the consumption since the previous reading is worked out where the meter's last reading is
stored (:func:`app.mediation.counters.meter_delta`).
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import UTC, datetime, tzinfo
from decimal import Decimal, InvalidOperation
from typing import TextIO

from app.mediation.records import MediationFileError, Reject, UsageEvent

COLUMNS = ("reading_id", "meter", "time", "value")


def parse_readings(stream: TextIO, filename: str, default_tz: tzinfo = UTC) -> Iterator[UsageEvent | Reject]:
    reader = csv.reader(stream)
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise MediationFileError(filename, 1, None, "empty file: no header row") from None
    unknown = [h for h in header if h not in COLUMNS]
    if unknown:
        raise MediationFileError(filename, 1, unknown[0], f"unknown column {unknown[0]!r}")
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise MediationFileError(filename, 1, missing[0], f"missing column {missing[0]!r}")
    index = {name: header.index(name) for name in COLUMNS}
    return _rows(reader, index, len(header), filename, default_tz)


def _rows(reader, index, width, filename, tz) -> Iterator[UsageEvent | Reject]:
    for row in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        raw = ",".join(row)
        if len(row) != width:
            yield Reject(filename, line, None, f"expected {width} columns, got {len(row)}", raw, "column_count")
            continue
        reading_id, meter = row[index["reading_id"]].strip(), row[index["meter"]].strip()
        if not reading_id or not meter:
            field = "reading_id" if not reading_id else "meter"
            yield Reject(filename, line, field, f"{field} is empty", raw, "missing")
            continue
        try:
            moment = datetime.fromisoformat(row[index["time"]].strip())
        except ValueError:
            yield Reject(filename, line, "time", "not an ISO-8601 date and time", raw, "bad_timestamp")
            continue
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=tz)
        moment = moment.astimezone(UTC)
        try:
            value = Decimal(row[index["value"]].strip())
            if not value.is_finite() or value < 0:
                raise InvalidOperation
        except InvalidOperation:
            yield Reject(filename, line, "value", "not a decimal number >= 0", raw, "not_a_number")
            continue
        yield UsageEvent(
            source="meter", source_record_id=reading_id, username=None, ip=None, nas=None,
            session_id=None, status="reading", event_time=moment, start=moment, duration_s=0,
            bytes_in=0, bytes_out=0, quantity=value, unit=None, file=filename, line=line,
            session_key=meter, counting="cumulative",
        )
