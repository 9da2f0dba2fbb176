"""Reports a realm pins to its console home."""

from __future__ import annotations

from sqlalchemy import delete, func, select

from app.extensions import db
from app.models.report import ReportPin

from . import Filters, get_report


def pinned_codes() -> list[str]:
    return list(db.session.scalars(select(ReportPin.code).order_by(ReportPin.position, ReportPin.id)))


def set_pinned(code: str, *, pinned: bool) -> None:
    get_report(code)  # unknown codes are refused (NotFound)
    if not pinned:
        db.session.execute(delete(ReportPin).where(ReportPin.code == code))
        return
    if code in pinned_codes():
        return
    position = (db.session.scalar(select(func.max(ReportPin.position))) or 0) + 1
    db.session.add(ReportPin(code=code, position=position))
    db.session.flush()


def pinned_reports() -> list[tuple]:
    """``[(definition, result or None)]`` for the console home; heavy ones are linked, not run."""
    shown = []
    for code in pinned_codes():
        definition = get_report(code)
        shown.append((definition, None if definition.heavy else definition.build(Filters())))
    return shown
