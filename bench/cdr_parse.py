"""Parse rate of the CDR CSV parser (a measurement, not a test).

    .venv/bin/python -m bench.cdr_parse [ROWS]

Writes ROWS (default 1,000,000) generated CDR lines to a temporary file (90 MB for
a million: 90 % network records with IPs, 10 % SMS records with unit/quantity),
then times ``parse_cdr`` over it and prints rows/s: once yielding UsageEvents (the
general path), once with ``fields=True`` (plain tuples: what the bulk import reads).
"""

import sys
import tempfile
import time
from datetime import UTC
from pathlib import Path

from app.mediation.cdr_csv import parse_cdr
from app.mediation.records import UsageEvent

from ._common import Figures

HEADER = "record_id,username,ip,start,duration_s,bytes_in,bytes_out,unit,quantity,destination\n"


def write_rows(path: Path, rows: int) -> None:
    with open(path, "w", newline="", encoding="utf-8") as out:
        out.write(HEADER)
        for i in range(rows):
            user = f"user{i % 5000}@visp{i % 3}.example"
            start = f"2026-11-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:{i * 7 % 60:02d}Z"
            if i % 10 == 0:
                out.write(f"sms-{i},{user},,{start},0,0,0,SMS,1,+4930123{i % 1000}\n")
            else:
                ip = f"100.64.{i // 250 % 256}.{i % 250 + 1}"
                out.write(
                    f"cdr-{i},{user},{ip},{start},{i % 3600},{i * 13 % 10**9},{i * 31 % 10**10},,,\n"
                )


def measure(path: Path, fields: bool = False) -> tuple[int, int, float]:
    good = UsageEvent if not fields else tuple
    events = rejects = 0
    began = time.perf_counter()  # wall time: the machine may be loaded (see bench/README.md)
    with open(path, newline="", encoding="utf-8") as stream:
        for item in parse_cdr(stream, path.name, UTC, fields=fields):
            if type(item) is good:
                events += 1
            else:
                rejects += 1
    return events, rejects, time.perf_counter() - began


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "cdr.csv"
        write_rows(path, rows)
        results = [("parse_cdr", *measure(path)), ("parse_cdr fields=True", *measure(path, fields=True))]
    figures = Figures("CDR CSV parse (parse_cdr)", "rows/s")
    for label, events, rejects, seconds in results:
        figures.add(label, events + rejects, seconds, f"{events:,} records, {rejects:,} rejects")
    figures.print()


if __name__ == "__main__":
    main()
