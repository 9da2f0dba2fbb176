"""Read-only views of payments for the console and self-care."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models import Account, Payment, Refund


def list_payments(*, status: str | None = None, gateway: str | None = None, q: str | None = None,
                  account_id: int | None = None, since: date | None = None, until: date | None = None,
                  limit: int = 200) -> list[Payment]:
    query = select(Payment).options(selectinload(Payment.account)).order_by(Payment.id.desc())
    if status:
        query = query.where(Payment.status == status)
    if gateway:
        query = query.where(Payment.gateway == gateway)
    if account_id is not None:
        query = query.where(Payment.account_id == account_id)
    if since:
        query = query.where(Payment.created_at >= datetime.combine(since, time(), UTC))
    if until:
        query = query.where(Payment.created_at < datetime.combine(until, time.max, UTC))
    if q:
        like = f"%{q.strip()}%"
        query = query.join(Account, Account.id == Payment.account_id).where(or_(
            Account.number.ilike(like), Account.name.ilike(like), Account.username.ilike(like),
            Payment.reference.ilike(like), Payment.receipt_number.ilike(like),
            Payment.external_id.ilike(like)))
    return list(db.session.scalars(query.limit(limit)))


def refunds_of(payment_id: int) -> list[Refund]:
    return list(db.session.scalars(select(Refund).where(Refund.payment_id == payment_id).order_by(Refund.id)))
