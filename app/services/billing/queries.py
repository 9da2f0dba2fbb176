"""Read side of billing for the consoles: runs, invoices."""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import BillingRun, Invoice

from ..lookups import get_or_not_found


def list_runs(limit: int = 24) -> list[BillingRun]:
    return list(db.session.scalars(select(BillingRun).order_by(BillingRun.period_start.desc()).limit(limit)))


def get_run(run_id: int) -> BillingRun:
    return get_or_not_found(BillingRun, run_id, "billing run")


def list_invoices(*, account_id: int | None = None, limit: int = 200) -> list[Invoice]:
    query = select(Invoice).order_by(Invoice.sequence.desc().nulls_last(), Invoice.id.desc()).limit(limit)
    if account_id is not None:
        query = query.where(Invoice.account_id == account_id)
    return list(db.session.scalars(query))


def get_invoice(invoice_id: int) -> Invoice:
    return get_or_not_found(Invoice, invoice_id, "invoice")
