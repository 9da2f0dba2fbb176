"""Self-care use cases: what a signed-in subscriber may see and change of their own account.

Every lookup goes through the account: an invoice, receipt or subscription id of another
account (or realm) is ``NotFound``, exactly like one that does not exist. Reads reuse the
areas' own queries (usage summary, payment ledger, invoice preview); changes call the
areas' services (``change_service_password``, ``change_plan``) so events and provisioning
happen the same way as from the console.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import cache

from sqlalchemy import bindparam, func, select

from app.extensions import db
from app.models import Account, Invoice, Payment, Plan, RadiusSession, Subscription
from tenants import realm_filter

from .errors import FieldErrors, Invalid, NotFound

ZERO = Decimal(0)
SESSIONS_PER_PAGE = 25
MIN_PASSWORD_LENGTH = 10


def _today() -> date:
    return datetime.now(UTC).date()


# ------------------------------------------------------------------ dashboard
@dataclass
class Dashboard:
    summary: object                                   # app.services.usage.summary.UsageSummary
    subscription: Subscription | None
    open_balance: dict[str, Decimal] = field(default_factory=dict)   # due on finalized invoices
    credit: dict[str, Decimal] = field(default_factory=dict)         # unapplied payments
    open_invoices: int = 0
    next_invoice_total: Decimal | None = None
    next_invoice_currency: str | None = None
    next_invoice_period: object = None
    active_sessions: int = 0


def dashboard(account: Account, *, today: date | None = None) -> Dashboard:
    """The figures of the self-care home page for ``account`` (read-only)."""
    from .billing.preview import account_preview
    from .payments.ledger import account_position
    from .usage.summary import current_subscription, usage_summary

    today = today or _today()
    board = Dashboard(summary=usage_summary(account, today=today),
                      subscription=current_subscription(account, today))
    position = account_position(account.id, counting=_open_sessions())  # one round trip
    board.open_balance, board.open_invoices = position.open_balance, position.open_invoices
    board.credit, board.active_sessions = position.credit, position.counted or 0
    summary = board.summary
    draws = None if summary.draws is None else (summary.period.start, summary.period.end, summary.draws)
    draft = account_preview(account, on=today, draws=draws)
    if draft is not None:
        board.next_invoice_total = draft.total
        board.next_invoice_currency = draft.currency
        board.next_invoice_period = draft.period
    return board


@cache
def _open_sessions():
    """The account's sessions still open (built once; ``account_id`` is bound per view)."""
    return select(func.count(RadiusSession.id)).where(RadiusSession.account_id == bindparam("account_id"),
                                                      RadiusSession.stopped_at.is_(None), realm_filter(RadiusSession))


# ------------------------------------------------------------------ sessions
@dataclass
class SessionPage:
    sessions: list[RadiusSession]
    page: int
    pages: int
    total: int


def list_sessions(account_id: int, *, page: int = 1, per_page: int = SESSIONS_PER_PAGE) -> SessionPage:
    """The account's RADIUS sessions, newest first, one page at a time."""
    total = db.session.scalar(select(func.count(RadiusSession.id))
                              .where(RadiusSession.account_id == account_id)) or 0
    pages = max(1, -(-total // per_page))
    page = min(max(page, 1), pages)
    rows = db.session.scalars(
        select(RadiusSession).where(RadiusSession.account_id == account_id)
        .order_by(RadiusSession.started_at.desc(), RadiusSession.id.desc())
        .limit(per_page).offset((page - 1) * per_page)).all()
    return SessionPage(list(rows), page, pages, total)


# ------------------------------------------------------------------ invoices and receipts
@dataclass
class InvoiceRow:
    invoice: Invoice
    due: Decimal


def list_invoices(account_id: int) -> list[InvoiceRow]:
    """Issued invoices and credit notes of the account (never drafts), newest first, with what is due."""
    from .payments.ledger import paid_on

    invoices = list(db.session.scalars(
        select(Invoice).where(Invoice.account_id == account_id, Invoice.status != "draft")
        .order_by(Invoice.issue_date.desc(), Invoice.id.desc())))
    paid = paid_on([i.id for i in invoices])
    rows = []
    for invoice in invoices:
        due = ZERO
        if invoice.status == "finalized" and invoice.kind == "invoice":
            due = max(invoice.total - paid.get(invoice.id, ZERO), ZERO)
        rows.append(InvoiceRow(invoice, due))
    return rows


def get_invoice(account_id: int, invoice_id: int) -> Invoice:
    """One issued invoice of the account; NotFound for drafts and other accounts' invoices."""
    invoice = db.session.scalar(select(Invoice).where(
        Invoice.id == invoice_id, Invoice.account_id == account_id, Invoice.status != "draft"))
    if invoice is None:
        raise NotFound("invoice")
    return invoice


def invoice_pdf(account_id: int, invoice_id: int) -> tuple[str, bytes]:
    """(file name, PDF) of one of the account's invoices: the stored document, rendered once."""
    from .documents.invoices import invoice_document, invoice_filename

    invoice = get_invoice(account_id, invoice_id)
    return invoice_filename(invoice), invoice_document(invoice.id).content


def list_receipts(account_id: int) -> list[Payment]:
    """Payments of the account that have a receipt, newest first."""
    return list(db.session.scalars(
        select(Payment).where(Payment.account_id == account_id, Payment.receipt_number.is_not(None))
        .order_by(Payment.received_at.desc(), Payment.id.desc())))


def get_receipt(account_id: int, payment_id: int) -> Payment:
    payment = db.session.scalar(select(Payment).where(
        Payment.id == payment_id, Payment.account_id == account_id, Payment.receipt_number.is_not(None)))
    if payment is None:
        raise NotFound("receipt")
    return payment


def receipt_pdf(account_id: int, payment_id: int) -> tuple[str, bytes]:
    from .payments.receipts import receipt_pdf as _receipt_pdf

    payment = get_receipt(account_id, payment_id)
    return _receipt_pdf(payment.id)


# ------------------------------------------------------------------ password
def password_problems(password: str, *, username: str = "") -> list[str]:
    """Codes for a new password that is too weak: at least 10 characters, letters and at
    least one digit or symbol, not the user name."""
    problems = []
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append("too_short")
    elif not re.search(r"[A-Za-z]", password) or not re.search(r"[^A-Za-z]", password):
        problems.append("too_weak")
    elif username and username.lower() in password.lower():
        problems.append("contains_username")
    return problems


def change_own_password(account_id: int, *, current: str, new: str, confirm: str) -> Account:
    """The subscriber changes their password: the current one must be right, the new one
    strong and confirmed. The account service stores it and raises
    ``account.password_changed`` (which queues the provisioning operations)."""
    from .accounts import change_service_password
    from .subscriber_auth import authenticate

    account = db.session.scalar(select(Account).where(Account.id == account_id))
    if account is None:
        raise NotFound("account")
    errors = FieldErrors()
    if not current:
        errors.add("current_password", "required")
    elif authenticate(account.username, current) is None:
        errors.add("current_password", "wrong_password")
    for code in password_problems(new or "", username=account.username):
        errors.add("new_password", code)
    if new and current and new == current:
        errors.add("new_password", "same_as_current")
    if (new or "") != (confirm or ""):
        errors.add("confirm_password", "mismatch")
    errors.raise_if_any()
    return change_service_password(account.id, password=new)


# ------------------------------------------------------------------ plan change
def current_subscription(account_id: int, *, today: date | None = None) -> Subscription | None:
    """The account's recurring subscription in force today (the one a plan change moves)."""
    today = today or _today()
    rows = db.session.scalars(select(Subscription).where(
        Subscription.account_id == account_id, Subscription.kind == "recurring",
        Subscription.status.in_(("active", "suspended", "paid", "in_progress", "ordered")),
        Subscription.starts_on <= today).order_by(Subscription.starts_on.desc(), Subscription.id.desc()))
    for subscription in rows:
        if subscription.ends_on is None or subscription.ends_on > today:
            return subscription
    return None


def offered_plans(subscription: Subscription | None) -> list[Plan]:
    """Plans a subscriber may switch to by themselves: the realm's active plans in the
    currency of their current plan, except the one they are on."""
    if subscription is None:
        return []
    current = subscription.plan_version.plan
    plans = db.session.scalars(select(Plan).where(Plan.active.is_(True), Plan.currency == current.currency,
                                                  Plan.id != current.id).order_by(Plan.name, Plan.id)).all()
    return [p for p in plans if p.versions]


def _offered_plan(subscription: Subscription | None, plan_id: int | None) -> Plan:
    if subscription is None:
        raise Invalid({"plan_id": ["no_subscription"]})
    if not plan_id:
        raise Invalid({"plan_id": ["required"]})
    plan = next((p for p in offered_plans(subscription) if p.id == plan_id), None)
    if plan is None:
        raise Invalid({"plan_id": ["not_offered"]})
    return plan


def preview_own_plan_change(account_id: int, *, plan_id: int | None):
    """The proration moving the account's current subscription to ``plan_id`` today would book."""
    from .subscriptions import preview_plan_change

    subscription = current_subscription(account_id)
    plan = _offered_plan(subscription, plan_id)
    return preview_plan_change(subscription.id, plan_id=plan.id)


def change_own_plan(account_id: int, *, plan_id: int | None) -> Subscription:
    """Move the account's current subscription to an offered plan today (prorated;
    ``account.plan_changed`` is raised by the subscriptions service)."""
    from .subscriptions import change_plan

    subscription = current_subscription(account_id)
    plan = _offered_plan(subscription, plan_id)
    return change_plan(subscription.id, plan_id=plan.id)
