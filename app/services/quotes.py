"""Quotes: price one billing period of a plan for given usage (CLI, console, API alike)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from app.rating.planfile import load_plan_yaml
from app.rating.quote import Quote, quote

from .errors import NotFound
from .plans import get_plan_by_code, spec_of


def quote_plan_file(text: str, *, source: str, usage: dict[str, Decimal], with_setup: bool = False) -> Quote:
    """Quote a plan file without storing it (PlanFileError on a bad file)."""
    return quote(load_plan_yaml(text, source=source), usage, with_setup=with_setup)


def quote_stored_plan(code: str, *, usage: dict[str, Decimal], with_setup: bool = False,
                      on: date | None = None) -> Quote:
    """Quote the version of the current realm's plan ``code`` in force ``on`` (default: today)."""
    plan = get_plan_by_code(code)
    version = plan.version_on(on or date.today()) or plan.latest_version
    if version is None:
        raise NotFound("plan version")
    return quote(spec_of(version), usage, with_setup=with_setup)
