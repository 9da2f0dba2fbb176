"""Collections (dunning): aging, reminders, penalties, suspension and reactivation.

An invoice is *open* while its total exceeds what was allocated to it (``open_amounts``
is the one place that knows how: invoice total minus payment allocations minus credit
notes). It is *overdue* ``today - due_date`` days after its due date. A realm's
``CollectionPolicy`` says what happens: nothing within the grace days; reminders at the
listed days overdue; a final warning; a late-payment penalty (fixed or a percentage of the
open amount, a pending charge billed on the next invoice); suspension of the account.

``run_dunning`` may run any number of times, and in two workers at once: every step is
claimed by inserting its ``(invoice, step)`` row with ON CONFLICT DO NOTHING … RETURNING
before its side effect, in the same transaction, so each step happens exactly once.
``reevaluate_account`` (called by payments after each allocation) resumes an account that
collections suspended once nothing is overdue beyond the grace days.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from app.extensions import db
from app.models import Account, Invoice, Realm
from app.models.base import utcnow
from app.models.collections import PENALTY_KINDS, CollectionPolicy, DunningStep
from app.rating.money import MoneyError, parse_decimal, quantize_money
from tenants import require_realm_id

from .errors import FieldErrors

ZERO = Decimal(0)
BUCKETS = ("current", "1-30", "31-60", "61-90", "90+")
POLICY_DEFAULTS = {
    "grace_days": 3, "reminder_days": "7,14", "final_warning_days": 21, "penalty_kind": "none",
    "penalty_amount": Decimal(0), "penalty_days": 30, "suspend_days": 30, "bill_suspended": False,
}


# ------------------------------------------------------------------ policy
def get_policy() -> CollectionPolicy:
    """The realm's rules (an unsaved row with the defaults when the realm has none)."""
    policy = db.session.scalar(select(CollectionPolicy))
    return policy if policy is not None else CollectionPolicy(**POLICY_DEFAULTS)


def bills_suspended_accounts() -> bool:
    """Realm rule for billing: do suspended accounts still get recurring invoices?"""
    return bool(get_policy().bill_suspended)


def reminder_days(policy: CollectionPolicy) -> list[int]:
    return sorted({int(x) for x in (policy.reminder_days or "").split(",") if x.strip().isdigit()})


def _optional_day(errors: FieldErrors, name: str, value) -> int | None:
    if value in (None, ""):
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        errors.add(name, "not_whole_days")
        return None
    if number < 0 or number > 3650:
        errors.add(name, "invalid")
    return number


def update_policy(*, grace_days, reminder_days: str, final_warning_days, penalty_kind: str,
                  penalty_amount, penalty_days, suspend_days, bill_suspended: bool) -> CollectionPolicy:
    errors = FieldErrors()
    grace = _optional_day(errors, "grace_days", grace_days)
    if grace is None and "grace_days" not in errors.errors:
        errors.add("grace_days", "required")
    days = []
    for part in (reminder_days or "").split(","):
        if part.strip():
            if not part.strip().isdigit() or int(part) > 3650:
                errors.add("reminder_days", "invalid")
                break
            days.append(int(part))
    final = _optional_day(errors, "final_warning_days", final_warning_days)
    penalty_after = _optional_day(errors, "penalty_days", penalty_days)
    suspend = _optional_day(errors, "suspend_days", suspend_days)
    if penalty_kind not in PENALTY_KINDS:
        errors.add("penalty_kind", "invalid")
    try:
        amount = parse_decimal(penalty_amount or "0")
        if amount < 0:
            errors.add("penalty_amount", "negative")
        elif amount != amount.quantize(Decimal("0.0001")):
            errors.add("penalty_amount", "too_many_decimals")
        elif penalty_kind == "percent" and amount > 100:
            errors.add("penalty_amount", "invalid")
    except MoneyError:
        errors.add("penalty_amount", "not_a_number")
        amount = ZERO
    if penalty_kind in ("fixed", "percent") and amount == 0 and "penalty_amount" not in errors.errors:
        errors.add("penalty_amount", "required")
    errors.raise_if_any()
    policy = db.session.scalar(select(CollectionPolicy))
    if policy is None:
        policy = CollectionPolicy()
        db.session.add(policy)
    policy.grace_days = grace
    policy.reminder_days = ",".join(str(d) for d in sorted(set(days)))
    policy.final_warning_days = final
    policy.penalty_kind = penalty_kind
    policy.penalty_amount = amount
    policy.penalty_days = penalty_after
    policy.suspend_days = suspend
    policy.bill_suspended = bool(bill_suspended)
    policy.updated_at = utcnow()
    db.session.flush()
    return policy


# ------------------------------------------------------------------ open amounts
def open_amounts(invoice_ids: list[int]) -> dict[int, Decimal]:
    """Open amount per invoice: total − payment allocations − credit notes against it.

    The one place that knows how "open" is computed (payments own the allocations).
    """
    if not invoice_ids:
        return {}
    totals = dict(db.session.execute(select(Invoice.id, Invoice.total).where(Invoice.id.in_(invoice_ids))).all())
    from app.services.payments.ledger import paid_on  # payments own the allocations

    paid = paid_on(list(totals))
    credited: dict[int, Decimal] = {}
    for credited_id, total in db.session.execute(
        select(Invoice.credited_invoice_id, Invoice.total).where(
            Invoice.credited_invoice_id.in_(invoice_ids), Invoice.kind == "credit_note",
            Invoice.status == "finalized")):
        credited[credited_id] = credited.get(credited_id, ZERO) + abs(total)
    return {
        invoice_id: total - paid.get(invoice_id, ZERO) - credited.get(invoice_id, ZERO)
        for invoice_id, total in totals.items()
    }


@dataclass
class OpenInvoice:
    invoice: Invoice
    open: Decimal
    days_overdue: int

    @property
    def bucket(self) -> str:
        return bucket_for(self.days_overdue)


def bucket_for(days_overdue: int) -> str:
    if days_overdue <= 0:
        return "current"
    if days_overdue <= 30:
        return "1-30"
    if days_overdue <= 60:
        return "31-60"
    if days_overdue <= 90:
        return "61-90"
    return "90+"


def open_invoices(*, today: date | None = None, account_id: int | None = None) -> list[OpenInvoice]:
    """Finalized invoices of the realm with money still open, oldest due first."""
    today = today or datetime.now(UTC).date()
    query = select(Invoice).where(Invoice.kind == "invoice", Invoice.status == "finalized",
                                  Invoice.total > 0)
    if account_id is not None:
        query = query.where(Invoice.account_id == account_id)
    invoices = list(db.session.scalars(query.order_by(Invoice.due_date, Invoice.id)))
    amounts = open_amounts([i.id for i in invoices])
    result = []
    for invoice in invoices:
        left = amounts.get(invoice.id, ZERO)
        if left > 0:
            days = (today - invoice.due_date).days if invoice.due_date else 0
            result.append(OpenInvoice(invoice, left, days))
    return result


# ------------------------------------------------------------------ aging
@dataclass
class AgingRow:
    account_id: int
    number: str
    name: str
    currency: str
    buckets: dict[str, Decimal] = field(default_factory=lambda: dict.fromkeys(BUCKETS, ZERO))

    @property
    def total(self) -> Decimal:
        return sum(self.buckets.values(), ZERO)


@dataclass
class AgingReport:
    today: date
    rows: list[AgingRow]
    totals: dict[str, dict[str, Decimal]]  # currency → bucket → amount (and "total")


def aging_report(*, today: date | None = None) -> AgingReport:
    today = today or datetime.now(UTC).date()
    rows: dict[tuple[int, str], AgingRow] = {}
    totals: dict[str, dict[str, Decimal]] = {}
    for item in open_invoices(today=today):
        invoice = item.invoice
        key = (invoice.account_id, invoice.currency)
        if key not in rows:
            rows[key] = AgingRow(invoice.account_id, invoice.account.number, invoice.account.name,
                                 invoice.currency)
        rows[key].buckets[item.bucket] += item.open
        per = totals.setdefault(invoice.currency, {**dict.fromkeys(BUCKETS, ZERO), "total": ZERO})
        per[item.bucket] += item.open
        per["total"] += item.open
    ordered = sorted(rows.values(), key=lambda r: (r.currency, -r.total, r.number))
    return AgingReport(today, ordered, totals)


def aging_csv(*, today: date | None = None) -> bytes:
    report = aging_report(today=today)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["account", "name", "currency", *BUCKETS, "total"])
    for row in report.rows:
        writer.writerow([row.number, row.name, row.currency,
                         *(f"{row.buckets[b]:.2f}" for b in BUCKETS), f"{row.total:.2f}"])
    return out.getvalue().encode()


# ------------------------------------------------------------------ dunning
def _claim(invoice: Invoice, step: str, days: int) -> bool:
    """Insert the (invoice, step) row; True only for the one caller that inserted it."""
    values = {"realm_id": invoice.realm_id, "invoice_id": invoice.id, "account_id": invoice.account_id,
              "step": step, "days_overdue": days, "created_at": utcnow()}
    table = DunningStep.__table__
    if db.session.connection().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    statement = (dialect_insert(table).values(values)
                 .on_conflict_do_nothing(index_elements=["invoice_id", "step"])
                 .returning(table.c.id))
    return db.session.execute(statement).first() is not None


def _penalty(policy: CollectionPolicy, item: OpenInvoice) -> Decimal:
    if policy.penalty_kind == "fixed":
        return quantize_money(policy.penalty_amount, item.invoice.currency)
    if policy.penalty_kind == "percent":
        return quantize_money(item.open * policy.penalty_amount / 100, item.invoice.currency, ROUND_HALF_UP)
    return ZERO


def _mail(account: Account, realm: Realm, item: OpenInvoice, step: str, step_key: str) -> None:
    if not account.email:
        return
    from app.services.mail import send_mail

    with force_locale(account.locale or realm.locale or "en"):
        amount = f"{item.open:.2f} {item.invoice.currency}"
        number = item.invoice.number or str(item.invoice.id)
        if step == "final":
            subject = _("Final warning: invoice %(number)s is overdue", number=number)
            text = _(
                "Dear %(name)s,\n\ninvoice %(number)s is %(days)s days overdue; %(amount)s is still open. "
                "This is the final warning: unless it is paid, your service will be suspended.\n\n%(realm)s",
                name=account.name, number=number, days=item.days_overdue, amount=amount, realm=realm.name)
        else:
            subject = _("Payment reminder: invoice %(number)s", number=number)
            text = _(
                "Dear %(name)s,\n\ninvoice %(number)s is %(days)s days overdue; %(amount)s is still open. "
                "Please pay it soon.\n\n%(realm)s",
                name=account.name, number=number, days=item.days_overdue, amount=amount, realm=realm.name)
    send_mail(to=account.email, subject=subject, text=text, realm=realm,
              dedupe_key=f"dunning:{item.invoice.id}:{step_key}")


@dataclass
class DunningResult:
    reminders: int = 0
    final_warnings: int = 0
    penalties: int = 0
    suspensions: int = 0


def run_dunning(*, today: date | None = None) -> DunningResult:
    """Apply the realm's collection rules to every overdue invoice (idempotent)."""
    today = today or datetime.now(UTC).date()
    realm = db.session.get(Realm, require_realm_id())
    policy = get_policy()
    result = DunningResult()
    steps = reminder_days(policy)
    for item in open_invoices(today=today):
        days = item.days_overdue
        if days <= policy.grace_days:
            continue
        invoice = item.invoice
        account = invoice.account
        for day in steps:
            if days >= day and _claim(invoice, f"reminder-{day}", days):
                _mail(account, realm, item, "reminder", f"reminder-{day}")
                result.reminders += 1
        if policy.final_warning_days is not None and days >= policy.final_warning_days \
                and _claim(invoice, "final", days):
            _mail(account, realm, item, "final", "final")
            result.final_warnings += 1
        if policy.penalty_kind != "none" and policy.penalty_days is not None \
                and days >= policy.penalty_days:
            amount = _penalty(policy, item)
            if amount > 0 and _claim(invoice, "penalty", days):
                from app.services.billing.charges import add_charge

                with force_locale(account.locale or realm.locale or "en"):
                    description = _("Late-payment fee for invoice %(number)s",
                                    number=invoice.number or invoice.id)
                add_charge(account.id, description=description, amount=amount, kind="penalty", source_key=f"penalty:{invoice.id}",
                    currency=invoice.currency)
                result.penalties += 1
        if policy.suspend_days is not None and days >= policy.suspend_days \
                and account.status == "active" and _claim(invoice, "suspend", days):
            from app.services.accounts import suspend_account

            suspend_account(account.id, reason=(
                f"collections: invoice {invoice.number or invoice.id} is {days} days overdue"))
            result.suspensions += 1
    db.session.flush()
    return result


def overdue_beyond_grace(account_id: int, *, today: date | None = None) -> list[OpenInvoice]:
    policy = get_policy()
    return [item for item in open_invoices(today=today, account_id=account_id)
            if item.days_overdue > policy.grace_days]


def reevaluate_account(account_id: int, *, today: date | None = None) -> bool:
    """After a payment: resume the account if collections suspended it and nothing is overdue
    beyond the grace days any more. Returns whether it was resumed."""
    account = db.session.scalar(select(Account).where(Account.id == account_id))
    if account is None or account.status != "suspended":
        return False
    open_suspensions = list(db.session.scalars(select(DunningStep).where(
        DunningStep.account_id == account_id, DunningStep.step == "suspend",
        DunningStep.resolved_at.is_(None))))
    if not open_suspensions:
        return False  # suspended by staff, not by collections: leave it to them
    if overdue_beyond_grace(account_id, today=today):
        return False
    from app.services.accounts import resume_account

    resume_account(account_id, reason="collections: overdue invoices paid")
    now = utcnow()
    for step in open_suspensions:
        step.resolved_at = now
    db.session.flush()
    return True


def dunning_history(*, limit: int = 100) -> list[DunningStep]:
    return list(db.session.scalars(select(DunningStep).order_by(DunningStep.id.desc()).limit(limit)))


def realms_for_dunning() -> list[int]:
    """Active realms, for the scheduler's sweep (each realm is then dunned in its own unit)."""
    from tenants import all_realms

    with all_realms():
        return list(db.session.scalars(select(Realm.id).where(Realm.active.is_(True)).order_by(Realm.id)))
