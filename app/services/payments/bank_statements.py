"""Bank transfer reconciliation: import a CSV bank statement, match credits to invoices.

The file has a header and the columns ``transaction_id, date, amount, currency,
reference`` (``date`` as YYYY-MM-DD, ``amount`` a decimal with a dot; extra columns are
ignored). The whole file is checked first: any line or field error refuses the import
with every problem by line and field, and nothing is written. A credit whose bank
transaction id was imported before is skipped (re-importing a statement is a no-op);
debits (amounts ≤ 0) are ignored. A credit is matched by an invoice number in its
reference (paid to that invoice first), else by an account number (oldest invoices
first); unmatched credits are kept for staff to assign.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select

from app.extensions import db
from app.models import Account, BankStatementImport, BankStatementLine, Invoice
from app.rating.money import MoneyError, minor_units, parse_decimal

from ..errors import Invalid, NotAllowed
from ..lookups import get_or_not_found
from .core import record_payment

REQUIRED = ("transaction_id", "date", "amount", "currency", "reference")
MAX_BYTES = 5 * 1024 * 1024
TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9/_-]*[A-Za-z0-9]")


@dataclass(frozen=True)
class LineError:
    line: int
    field: str
    code: str


class StatementInvalid(Invalid):
    """The statement was refused; ``problems`` lists every line and field at fault."""

    def __init__(self, problems: list[LineError]) -> None:
        errors: dict[str, list[str]] = {}
        for p in problems:
            errors.setdefault(f"line {p.line}: {p.field}", []).append(p.code)
        super().__init__(errors)
        self.problems = problems


@dataclass
class ParsedLine:
    line: int
    transaction_id: str
    booked_on: date
    amount: Decimal
    currency: str
    reference: str


def parse_statement(content: bytes) -> list[ParsedLine]:
    if len(content) > MAX_BYTES:
        raise StatementInvalid([LineError(0, "file", "too_large")])
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise StatementInvalid([LineError(0, "file", "not_utf8")]) from None
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise StatementInvalid([LineError(1, c, "missing_column") for c in missing])
    reader.fieldnames = header
    problems: list[LineError] = []
    parsed: list[ParsedLine] = []
    seen: dict[str, int] = {}
    for row in reader:
        line = reader.line_num
        if not any((v or "").strip() for v in row.values() if isinstance(v, str)):
            continue
        values = {k: (row.get(k) or "").strip() for k in REQUIRED}
        before = len(problems)
        txn = values["transaction_id"]
        if not txn:
            problems.append(LineError(line, "transaction_id", "required"))
        elif len(txn) > 100:
            problems.append(LineError(line, "transaction_id", "too_long"))
        elif txn in seen:
            problems.append(LineError(line, "transaction_id", "duplicate_in_file"))
        try:
            booked = date.fromisoformat(values["date"])
        except ValueError:
            problems.append(LineError(line, "date", "invalid"))
            booked = None
        currency = values["currency"].upper()
        try:
            places = minor_units(currency)
        except MoneyError:
            problems.append(LineError(line, "currency", "unknown"))
            places = None
        try:
            amount = parse_decimal(values["amount"])
            if places is not None and amount != amount.quantize(Decimal(1).scaleb(-places)):
                problems.append(LineError(line, "amount", "too_many_decimals"))
        except MoneyError:
            problems.append(LineError(line, "amount", "not_a_number"))
            amount = None
        if len(values["reference"]) > 255:
            problems.append(LineError(line, "reference", "too_long"))
        if len(problems) == before:
            seen[txn] = line
            parsed.append(ParsedLine(line, txn, booked, amount, currency, values["reference"]))
    if problems:
        raise StatementInvalid(problems)
    if not parsed:
        raise StatementInvalid([LineError(0, "file", "empty")])
    return parsed


def _match(reference: str) -> tuple[Invoice | None, Account | None]:
    tokens = {t.upper() for t in TOKEN.findall(reference or "")}
    if not tokens:
        return None, None
    invoice = db.session.scalar(select(Invoice).where(
        func.upper(Invoice.number).in_(tokens), Invoice.kind == "invoice", Invoice.status == "finalized"))
    if invoice is not None:
        return invoice, db.session.scalar(select(Account).where(Account.id == invoice.account_id))
    account = db.session.scalar(select(Account).where(func.upper(Account.number).in_(tokens)))
    return None, account


def import_statement(filename: str, content: bytes, *, created_by: str | None = None) -> BankStatementImport:
    """Check the whole statement, then record one payment per new matched credit."""
    lines = parse_statement(content)
    batch = BankStatementImport(filename=(filename or "statement.csv")[:255],
                                sha256=hashlib.sha256(content).hexdigest(), line_count=len(lines),
                                matched=0, unmatched=0, duplicates=0, ignored=0, created_by=created_by)
    db.session.add(batch)
    db.session.flush()
    known = set(db.session.scalars(select(BankStatementLine.bank_transaction_id).where(
        BankStatementLine.bank_transaction_id.in_([p.transaction_id for p in lines]))))
    for parsed in lines:
        if parsed.transaction_id in known:
            batch.duplicates += 1
            continue
        row = BankStatementLine(import_id=batch.id, line_no=parsed.line,
                                bank_transaction_id=parsed.transaction_id, booked_on=parsed.booked_on,
                                amount=parsed.amount, currency=parsed.currency,
                                reference=parsed.reference, status="ignored")
        db.session.add(row)
        if parsed.amount <= 0:
            batch.ignored += 1
            continue
        invoice, account = _match(parsed.reference)
        if account is None:
            row.status = "unmatched"
            batch.unmatched += 1
            continue
        _pay_line(row, account, invoice, created_by=created_by)
        batch.matched += 1
    db.session.flush()
    return batch


def _pay_line(row: BankStatementLine, account: Account, invoice: Invoice | None, *, created_by) -> None:
    payment = record_payment(
        account.id, amount=row.amount, gateway="bank_transfer", method="bank_transfer",
        currency=row.currency, reference=row.reference[:200] or None,
        invoice_id=invoice.id if invoice is not None and invoice.currency == row.currency else None,
        idempotency_key=f"bank:{row.bank_transaction_id}", external_id=row.bank_transaction_id,
        created_by=created_by)
    row.status, row.account_id, row.payment_id = "matched", account.id, payment.id
    row.invoice_id = invoice.id if invoice is not None else None


def assign_line(line_id: int, account_id: int, *, created_by: str | None = None) -> BankStatementLine:
    """Staff assign an unmatched credit to an account (it is then paid oldest first)."""
    row = get_or_not_found(BankStatementLine, line_id, "statement line")
    if row.status != "unmatched":
        raise NotAllowed("already_matched")
    account = db.session.scalar(select(Account).where(Account.id == account_id))
    if account is None:
        raise Invalid({"account_id": ["not_found"]})
    _pay_line(row, account, None, created_by=created_by)
    batch = db.session.get(BankStatementImport, row.import_id)
    batch.unmatched -= 1
    batch.matched += 1
    db.session.flush()
    return row


def list_imports(limit: int = 50) -> list[BankStatementImport]:
    return list(db.session.scalars(select(BankStatementImport).order_by(BankStatementImport.id.desc()).limit(limit)))


def get_import(import_id: int) -> BankStatementImport:
    return get_or_not_found(BankStatementImport, import_id, "statement import")
