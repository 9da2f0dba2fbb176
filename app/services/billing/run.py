"""Billing runs: one per realm and month, fanned out in chunks of accounts.

``start_billing_run`` records the run and enqueues one job per chunk after the commit;
``bill_chunk`` (what each job calls) writes the chunk's invoices in bulk and numbers them
in the same transaction. Running a period again, or a chunk again after its worker was
killed, writes nothing twice: the (realm, account, period) key is unique and accounts
that already have their invoice are skipped. A chunk is one transaction: killed midway,
it leaves nothing behind and is simply run again.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import bindparam, insert, select, text, update

from app.extensions import db
from app.models import (
    Account,
    BillingRun,
    Charge,
    Invoice,
    InvoiceLine,
    Realm,
    Subscription,
    UsageRecord,
)
from app.models.invoice import finalizing
from app.models.types import ExactDecimal
from tenants import require_realm_id

from ..errors import Invalid, NotFound
from ..uow import after_commit
from .draft import InvoiceDraft, draft_invoices, id_in, local_today, month_period
from .followups import invoices_finalized
from .numbering import take_numbers

CHUNK_SIZE = 500


def parse_period(text: str):
    try:
        return month_period(text)
    except (ValueError, TypeError):
        raise Invalid({"period": ["invalid"]}) from None


def billable_account_ids(period) -> list[int]:
    """Accounts with a subscription in the period, or with a pending charge due by its end."""
    subscribed = select(Subscription.account_id).where(
        Subscription.starts_on < period.end,
        (Subscription.ends_on.is_(None)) | (Subscription.ends_on > period.start))
    charged = select(Charge.account_id).where(Charge.status == "pending", Charge.charge_on < period.end)
    ids = set(db.session.scalars(subscribed)) | set(db.session.scalars(charged))
    return sorted(ids)


def start_billing_run(period_text: str, *, chunk_size: int = CHUNK_SIZE) -> BillingRun:
    """Start (or resume) the run of a month; its chunks are enqueued after the commit."""
    period = parse_period(period_text)
    run = db.session.scalar(select(BillingRun).where(BillingRun.period_start == period.start))
    if run is None:
        run = BillingRun(period_start=period.start, period_end=period.end)
        db.session.add(run)
    accounts = billable_account_ids(period)
    done = set(db.session.scalars(select(Invoice.account_id).where(
        Invoice.period_key == period.start.isoformat())))
    todo = [a for a in accounts if a not in done]
    run.total_accounts = len(accounts)
    run.done_accounts = len(accounts) - len(todo)
    run.status = "running" if todo else "done"
    run.chunks = (len(todo) + chunk_size - 1) // chunk_size
    if not todo:
        run.finished_at = datetime.now(UTC)
    db.session.flush()
    realm_id, run_id = require_realm_id(), run.id
    chunks = [todo[i:i + chunk_size] for i in range(0, len(todo), chunk_size)]
    # Each start (or resume) enqueues its own jobs: a job lost with a killed worker may still
    # look "started" to RQ, and an extra job for a chunk is harmless (chunks are idempotent).
    attempt = uuid.uuid4().hex[:8]

    def enqueue_chunks() -> None:
        from workers.billing import bill_chunk_job
        from workers.queues import enqueue

        for chunk in chunks:
            enqueue(bill_chunk_job, realm_id, run_id, chunk, queue="billing",
                    job_id=f"bill-{realm_id}-{run_id}-{attempt}-{chunk[0]}")

    after_commit(enqueue_chunks)
    return run


def bill_last_month() -> BillingRun | None:
    """The billing cycle: once a month is over in the realm's time zone, start its run (once;
    a run that exists already is left to the sweeper). Returns the run started, if any."""
    from app.rating.proration import add_months

    from .draft import local_today

    last_month = add_months(local_today().replace(day=1), -1)
    if db.session.scalar(select(BillingRun.id).where(BillingRun.period_start == last_month)):
        return None
    return start_billing_run(last_month.strftime("%Y-%m"))


def resume_stalled_runs(*, older_than: timedelta = timedelta(minutes=10)) -> list[int]:
    """The sweeper: runs of this realm still running after ``older_than`` are started again.

    Covers a crash between the run's commit and the enqueue of its chunks, and chunk jobs lost
    with a restarted Redis: resuming enqueues fresh jobs for the accounts still without an
    invoice, and a chunk that was not lost after all only finds nothing left to do."""
    cutoff = datetime.now(UTC) - older_than
    stalled = db.session.scalars(select(BillingRun).where(
        BillingRun.status == "running", BillingRun.created_at <= cutoff)).all()
    for run in stalled:
        start_billing_run(run.period_start.strftime("%Y-%m"))
    return [run.id for run in stalled]


def bill_chunk(run_id: int, account_ids: list[int]) -> int:
    """Invoice the accounts of one chunk (skipping those already invoiced); returns how many."""
    run = db.session.scalar(select(BillingRun).where(BillingRun.id == run_id))
    if run is None:
        raise NotFound("billing run")
    realm = db.session.get(Realm, require_realm_id())
    period_key = run.period_start.isoformat()
    period = month_period(run.period_start)
    account_ids = sorted(set(account_ids))
    # Draft first, without locks (the expensive part, so chunks draft in parallel) ...
    invoiced = _invoiced(period_key, account_ids)
    drafts = draft_invoices([a for a in account_ids if a not in invoiced], period, realm=realm)
    # ... then lock the run row: chunks finalize one after another. A copy of this chunk
    # that finalized meanwhile (a retried job) wins; its accounts are dropped here.
    _lock_run(run_id)
    already = _invoiced(period_key, account_ids)
    if len(already) > len(invoiced):
        drafts = [d for d in drafts if d.account_id not in already]
    written = write_invoices(drafts, realm=realm, run_id=run_id, period_key=period_key,
                             issue_date=run.period_start)
    db.session.execute(update(BillingRun).where(BillingRun.id == run_id).values(
        done_accounts=BillingRun.done_accounts + len(account_ids) - len(already)))
    db.session.flush()
    db.session.refresh(run)
    if run.done_accounts >= run.total_accounts and run.status != "done":
        run.status, run.finished_at = "done", datetime.now(UTC)
    return written


def _invoiced(period_key: str, account_ids: list[int]) -> set[int]:
    return set(db.session.scalars(select(Invoice.account_id).where(
        Invoice.period_key == period_key, id_in(Invoice.account_id, account_ids))))


def _lock_run(run_id: int) -> None:
    query = select(BillingRun.id).where(BillingRun.id == run_id)
    if db.session.connection().dialect.name == "postgresql":
        query = query.with_for_update()
    db.session.execute(query)


def write_invoices(drafts: list[InvoiceDraft], *, realm: Realm, run_id: int | None,
                   period_key: str | None, issue_date: date) -> int:
    """Insert finalized invoices for ``drafts`` in bulk, numbered gaplessly, lines and all."""
    if not drafts:
        return 0
    first = take_numbers("invoice", len(drafts))
    due = issue_date + timedelta(days=realm.payment_terms_days)
    now = datetime.now(UTC)
    rows = []
    for offset, draft in enumerate(drafts):
        sequence = first + offset
        rows.append({
            "realm_id": realm.id, "account_id": draft.account_id, "kind": "invoice",
            "status": "finalized", "number": f"{realm.invoice_prefix}{sequence:06d}",
            "sequence": sequence, "period_key": period_key, "period_start": draft.period.start,
            "period_end": draft.period.end, "issue_date": issue_date, "due_date": due,
            "currency": draft.currency, "subtotal": draft.subtotal, "tax_total": draft.tax_total,
            "total": draft.total, "billing_run_id": run_id, "seller_tax_id": realm.seller_tax_id,
            "buyer_tax_id": draft.buyer_tax_id, "tax_rate": draft.tax_rate,
            "prices_include_tax": draft.prices_include_tax, "reverse_charge": draft.reverse_charge,
            "notes": draft.notes, "finalized_at": now, "created_at": now,
        })
    postgres = db.session.connection().dialect.name == "postgresql"
    if postgres:
        invoice_of = _copy_invoices(rows)
    else:
        ids = db.session.execute(insert(Invoice).returning(Invoice.id, Invoice.account_id), rows).all()
        invoice_of = {account_id: invoice_id for invoice_id, account_id in ids}
    finalizing(db.session(), invoice_of.values())
    invoices_finalized(list(invoice_of.values()))
    lines = []
    for draft in drafts:
        for position, line in enumerate(draft.lines, 1):
            lines.append({
                "realm_id": realm.id, "invoice_id": invoice_of[draft.account_id], "position": position,
                "kind": line.kind, "description": line.description, "quantity": line.quantity,
                "unit": line.unit, "unit_price": line.unit_price, "amount": line.amount,
            })
    if lines and postgres:
        _copy(InvoiceLine.__table__, lines)
    elif lines:
        db.session.execute(insert(InvoiceLine.__table__), lines)
    _set_invoice_ids(UsageRecord.__table__, [
        (record_id, invoice_of[d.account_id]) for d in drafts for record_id in d.usage_record_ids])
    _set_invoice_ids(Charge.__table__, [
        (charge_id, invoice_of[d.account_id]) for d in drafts for charge_id in d.charge_ids], status="billed")
    return len(drafts)


def _copy(table, rows: list[dict]) -> None:
    """COPY ``rows`` into ``table`` inside the session's transaction (PostgreSQL)."""
    columns = list(rows[0])
    exact = [(name, Decimal(1).scaleb(-table.c[name].type.scale)) for name in columns
             if isinstance(table.c[name].type, ExactDecimal)]
    for row in rows:  # the check ExactDecimal makes on the ORM path: never round silently
        for name, step in exact:
            value = row[name]
            if value is not None and value != value.quantize(step):
                raise ValueError(f"{name}: {value} has more than {-step.as_tuple().exponent} decimal places")
    raw = db.session.connection().connection.driver_connection
    with raw.cursor() as cursor, cursor.copy(
            f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:  # noqa: S608 - our names
        for row in rows:
            copy.write_row([row[name] for name in columns])


def _copy_invoices(rows: list[dict]) -> dict[int, int]:
    """Invoices by COPY with ids taken from their sequence first; returns account → invoice id."""
    table = Invoice.__table__
    ids = list(db.session.scalars(text(
        "SELECT nextval(pg_get_serial_sequence('invoices', 'id')) FROM generate_series(1, :n)"),
        {"n": len(rows)}))
    for row, invoice_id in zip(rows, ids, strict=True):
        row["id"] = invoice_id
    _copy(table, rows)
    return {row["account_id"]: row["id"] for row in rows}


def _set_invoice_ids(table, pairs: list[tuple[int, int]], **values) -> None:
    """Point many rows at their invoices in one statement (PostgreSQL) or one executemany."""
    if not pairs:
        return
    if db.session.connection().dialect.name == "postgresql":
        for start in range(0, len(pairs), 20000):
            part = pairs[start:start + 20000]
            ids = [a for a, _ in part]
            invoices = [b for _, b in part]
            extra = "".join(f", {name} = :{name}" for name in values)
            db.session.execute(text(
                f"UPDATE {table.name} AS t SET invoice_id = v.invoice_id{extra} "  # noqa: S608 - names are ours
                "FROM unnest(CAST(:ids AS bigint[]), CAST(:invoices AS integer[])) AS v(id, invoice_id) "
                "WHERE t.id = v.id"), {"ids": ids, "invoices": invoices, **values})
        return
    db.session.execute(
        update(table).where(table.c.id == bindparam("row_id")).values(invoice_id=bindparam("to_invoice"), **values),
        [{"row_id": a, "to_invoice": b} for a, b in pairs])


def preview_invoice(account_id: int, *, on: date | None = None) -> InvoiceDraft | None:
    """Dry run: what the account's invoice for the month of ``on`` would be now."""
    account = db.session.scalar(select(Account).where(Account.id == account_id))
    if account is None:
        raise NotFound("account")
    drafts = draft_invoices([account.id], month_period(on or local_today()))
    return drafts[0] if drafts else None
