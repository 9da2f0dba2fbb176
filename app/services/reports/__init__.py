"""Built-in reports: one registry, one shape, rendered by one page, exported as CSV.

Each report is a function ``(filters) -> ReportResult`` registered with ``@report``; the
console lists them in its reports menu, renders the table and a chart from the same rows,
and exports the rows as CSV. Reports marked ``heavy`` run as background jobs
(``app/services/reports/runs.py``) with progress the page polls. Provider reports read
across realms (``scope="provider"``) and are only offered in the provider console.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal

from flask_babel import lazy_gettext as _l

from ..errors import NotFound


@dataclass(frozen=True)
class Column:
    key: str
    label: object
    kind: str = "text"  # text | number | money | date


@dataclass
class Filters:
    since: date | None = None
    until: date | None = None
    unit: str = "MB"
    node: int | None = None  # cost centre to drill into
    limit: int = 20
    today: date | None = None

    @property
    def as_of(self) -> date:
        return self.today or datetime.now(UTC).date()

    def params(self) -> dict[str, str]:
        values = {"since": self.since, "until": self.until, "unit": self.unit, "node": self.node,
                  "limit": self.limit}
        return {k: str(v) for k, v in values.items() if v not in (None, "")}


@dataclass
class ReportResult:
    columns: list[Column]
    rows: list[dict]
    chart_label: str | None = None  # the column shown as bars …
    chart_value: str | None = None  # … against this one
    totals: dict = field(default_factory=dict)
    drill: str | None = None  # a column whose value links to the same report filtered by it
    note: object = ""
    chart_rows: list[tuple[str, Decimal | int]] | None = None  # bars not taken from the rows

    def chart(self) -> list[tuple[str, Decimal | int]]:
        if self.chart_rows is not None:
            return self.chart_rows
        if not (self.chart_label and self.chart_value):
            return []
        return [(str(r.get(self.chart_label, "")), r.get(self.chart_value) or 0) for r in self.rows]


@dataclass(frozen=True)
class ReportDef:
    code: str
    title: object
    description: object
    build: Callable[[Filters], ReportResult]
    shortcut: str
    scope: str = "realm"  # realm | provider
    heavy: bool = False
    filters: tuple[str, ...] = ("since", "until")
    columns: Callable[[Filters], list[Column]] | None = None  # heavy reports: to show stored runs


REPORTS: dict[str, ReportDef] = {}
UNITS = ("MB", "GB", "hour", "minute")


def report(code: str, title, description, *, shortcut: str, scope: str = "realm", heavy: bool = False,
           filters: tuple[str, ...] = ("since", "until"), columns=None):
    def register(build):
        REPORTS[code] = ReportDef(code, title, description, build, shortcut, scope, heavy, filters,
                                  columns)
        return build

    return register


def catalogue(scope: str = "realm") -> list[ReportDef]:
    _load()
    return [r for r in REPORTS.values() if r.scope == scope]


def get_report(code: str, scope: str = "realm") -> ReportDef:
    _load()
    found = REPORTS.get(code)
    if found is None or found.scope != scope:
        raise NotFound("report")
    return found


def run_report(code: str, filters: Filters, scope: str = "realm") -> ReportResult:
    return get_report(code, scope).build(filters)


def parse_filters(args) -> Filters:
    """Filters from query arguments; anything unreadable falls back to its default."""
    def day(name):
        try:
            return date.fromisoformat(args.get(name, "")) if args.get(name) else None
        except ValueError:
            return None

    def number(name, default, low, high):
        try:
            return max(low, min(high, int(args.get(name, default))))
        except (TypeError, ValueError):
            return default

    unit = args.get("unit", "MB")
    node = args.get("node")
    return Filters(since=day("since"), until=day("until"), unit=unit if unit in UNITS else "MB",
                   node=int(node) if node and node.isdigit() else None,
                   limit=number("limit", 20, 1, 500))


def to_csv(result: ReportResult) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([str(c.label) for c in result.columns])
    for row in result.rows:
        writer.writerow([_cell(row.get(c.key)) for c in result.columns])
    return out.getvalue()


def result_from_run(definition: ReportDef, filters: Filters, run) -> ReportResult | None:
    """A finished background run's stored rows as a result (columns from the definition)."""
    if not run.result:
        return None
    stored = run.result
    return ReportResult(columns=definition.columns(filters), rows=stored["rows"],
                        chart_label=stored.get("chart_label"), chart_value=stored.get("chart_value"),
                        drill=stored.get("drill"), note=stored.get("note", ""),
                        totals=stored.get("totals", {}))


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _load() -> None:
    from . import catalog  # noqa: F401 - registers the built-in reports


__all__ = ["REPORTS", "result_from_run", "Column", "Filters", "ReportDef", "ReportResult", "_l", "catalogue",
           "get_report", "parse_filters", "report", "run_report", "to_csv"]
