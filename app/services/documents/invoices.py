"""Invoice PDFs: rendered once per finalized invoice, stored with their hash, mailed or
listed for printing.

``invoice_document`` returns the stored PDF of a finalized invoice, rendering and storing it
on first use (unique per realm and key, so a concurrent second render loses and the first is
kept). Drafts are rendered on the fly and never stored. With e-invoicing on, the stored PDF
carries the Factur-X XML. ``enqueue_invoice_documents`` is the billing follow-up: it only
enqueues the render job (``documents`` queue) and the mail job (``mail`` queue).
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from flask_babel import force_locale, format_date
from flask_babel import gettext as _
from sqlalchemy import Boolean, Numeric, select
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models import Account, Invoice, InvoiceLine, Realm, UsageRecord
from app.models.document import Document
from app.rating import units
from app.rating.money import MoneyError, quantize_money
from tenants import current_realm_id, require_realm_id

from ..errors import NotFound
from ..lookups import get_or_not_found
from ..mail import queue_mail
from ..uow import insert_once
from .charts import chart_images
from .pdf import data_uri, render_html, render_pdf, render_pdf_batch
from .settings import message_active, peek_document_settings

PDF_MIME = "application/pdf"
KNOWN_INVOICE_COLUMNS = {
    "id", "realm_id", "account_id", "kind", "status", "number", "sequence", "period_key", "period_start",
    "period_end", "issue_date", "due_date", "currency", "subtotal", "total", "credited_invoice_id",
    "billing_run_id", "seller_tax_id", "buyer_tax_id", "notes", "finalized_at", "pdf_sha256", "created_at",
}
KNOWN_LINE_COLUMNS = {"id", "realm_id", "invoice_id", "position", "kind", "description", "quantity", "unit",
                      "unit_price", "amount"}


def _labels() -> dict[str, str]:
    return {
        "tax_total": _("Tax"), "discount_total": _("Discount"), "credit_total": _("Credits"),
        "amount_paid": _("Paid"), "amount_due": _("Amount due"), "tax_rate": _("Tax rate"),
        "discount": _("Discount"), "discount_amount": _("Discount"), "tax_amount": _("Tax"),
    }


def money(amount, currency: str) -> str:
    if amount is None:
        return ""
    try:
        return f"{format(quantize_money(Decimal(amount), currency), 'f')} {currency}"
    except MoneyError:
        return f"{Decimal(amount):f} {currency}"


def quantity(value) -> str:
    text = format(Decimal(value).normalize(), "f")
    return text


def price(value) -> str:
    value = Decimal(value).normalize()
    return format(value.quantize(Decimal("0.01")) if -value.as_tuple().exponent < 2 else value, "f")


def _label(name: str) -> str:
    return _labels().get(name, name.replace("_", " ").capitalize())


def _extra_value(column, value, currency: str):
    if value is None or value == "" or value is False:
        return None
    if isinstance(column.type, Boolean):
        return None  # flags are rendered as notes
    if isinstance(value, Decimal) or isinstance(column.type, Numeric) or hasattr(column.type, "scale"):
        try:
            value = Decimal(value)
        except Exception:  # noqa: BLE001 - not a number after all
            return str(value)
        if value == 0:
            return None
        if "rate" in column.name or "percent" in column.name:
            return f"{value.normalize():f} %"
        return money(value, currency)
    if isinstance(value, (int, str)):
        return str(value)
    return None


@dataclass
class LineView:
    description: str
    quantity: str | None
    unit: str | None
    unit_price: str | None
    amount: str
    extras: list[tuple[str, str]] = field(default_factory=list)


def line_views(invoice) -> list[LineView]:
    currency = invoice.currency
    columns = [c for c in InvoiceLine.__table__.columns if c.name not in KNOWN_LINE_COLUMNS
               and not c.foreign_keys]
    views = []
    for line in invoice.lines:
        if line.kind == "tax" and not getattr(invoice, "prices_include_tax", False):
            continue  # shown under the subtotal, with its rate
        extras = []
        for column in columns:
            shown = _extra_value(column, getattr(line, column.key, None), currency)
            if shown is not None:
                extras.append((_label(column.name), shown))
        views.append(LineView(
            line.description, quantity(line.quantity) if line.quantity is not None else None, line.unit,
            price(line.unit_price) if line.unit_price is not None else None, money(line.amount, currency), extras))
    return views


def extra_totals(invoice) -> list[tuple[str, str]]:
    """Every amount column an invoice has besides subtotal and total (tax, discounts, ...)."""
    shown = []
    rate = getattr(invoice, "tax_rate", None)
    for column in Invoice.__table__.columns:
        if column.name in KNOWN_INVOICE_COLUMNS - {"tax_total"} or column.foreign_keys:
            continue
        if column.name == "tax_rate":
            continue  # shown with the tax amount
        if column.name == "tax_total":
            if getattr(invoice, "prices_include_tax", False):
                continue  # the lines are gross; a note says how much tax they contain
            if invoice.tax_total or (rate and not getattr(invoice, "reverse_charge", False)):
                label = _("Tax (%(rate)s %%)", rate=f"{Decimal(rate).normalize():f}") if rate else _("Tax")
                shown.append((label, money(invoice.tax_total or 0, invoice.currency)))
            continue
        if not (isinstance(column.type, Numeric) or hasattr(column.type, "scale")):
            continue
        value = _extra_value(column, getattr(invoice, column.key, None), invoice.currency)
        if value is not None:
            shown.append((_label(column.name), value))
    return shown


def invoice_notes(invoice) -> list[str]:
    notes = []
    if getattr(invoice, "reverse_charge", False):
        notes.append(_("Reverse charge: the recipient is liable for the VAT."))
    if getattr(invoice, "prices_include_tax", False) and invoice.tax_total:
        notes.append(_("Prices include %(amount)s tax.", amount=money(invoice.tax_total, invoice.currency)))
    if invoice.status == "void":
        notes.append(_("This invoice was voided.") + (f" {invoice.void_reason}" if getattr(invoice, "void_reason", None) else ""))
    for name in ("tax_note", "reverse_charge_note", "discount_note"):
        text = getattr(invoice, name, None)
        if text:
            notes.append(str(text))
    if invoice.notes:
        notes.append(invoice.notes)
    return notes


def usage_by_day(invoice, tz: str = "UTC") -> dict[str, list[tuple[date, Decimal]]]:
    """The invoice's rated usage summed per unit and local day, every day of the period."""
    zone = ZoneInfo(tz or "UTC")
    rows = db.session.execute(select(
        UsageRecord.event_time, UsageRecord.unit, UsageRecord.quantity, UsageRecord.duration_s,
        UsageRecord.bytes_in, UsageRecord.bytes_out).where(UsageRecord.invoice_id == invoice.id)).all()
    # Charted in the units the invoice bills in (its usage lines), else hours and MB.
    billed = {}
    for line in invoice.lines:
        if line.unit and units.is_known(line.unit):
            billed.setdefault(units.lookup(line.unit).dimension, units.canonical(line.unit))
    time_unit, data_unit = billed.get("time", "hour"), billed.get("data", "MB")
    sums: dict[str, dict[date, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for when, unit, amount, seconds, b_in, b_out in rows:
        day = when.astimezone(zone).date()
        if unit and amount is not None:
            target = billed.get(units.lookup(unit).dimension, unit) if units.is_known(unit) else unit
            sums[target][day] += units.convert(Decimal(amount), unit, target) if target != unit else Decimal(amount)
        else:
            if seconds:
                sums[time_unit][day] += units.convert(Decimal(seconds), "second", time_unit)
            if b_in or b_out:
                sums[data_unit][day] += units.convert(Decimal((b_in or 0) + (b_out or 0)), "byte", data_unit)
    if not sums:
        return {}
    start = invoice.period_start or min(min(d) for d in sums.values())
    end = _last_day(invoice) or max(max(d) for d in sums.values())
    days = [start + timedelta(days=i) for i in range((end - start).days + 1)][:62]
    return {unit: [(d, per_day.get(d, Decimal(0))) for d in days] for unit, per_day in sums.items()}


def _last_day(invoice) -> date | None:
    # Billing periods run [start, end): the end is the first day of the next period.
    if invoice.period_end is None or invoice.period_start is None:
        return invoice.period_end
    return max(invoice.period_start, invoice.period_end - timedelta(days=1))


def invoice_context(invoice, *, realm: Realm, settings=None, account=None, today: date | None = None) -> dict:
    settings = settings if settings is not None else peek_document_settings()
    account = account if account is not None else invoice.account
    today = today or invoice.issue_date or datetime.now(UTC).date()
    credited = None
    if invoice.credited_invoice_id:
        credited = db.session.scalar(select(Invoice.number).where(Invoice.id == invoice.credited_invoice_id))
    period_end = _last_day(invoice)
    charts = []
    if settings.show_usage_chart and invoice.id is not None:
        charts = chart_images(usage_by_day(invoice, realm.timezone), realm.primary_colour or "#1f5fbf")
    message = None
    if message_active(settings, today):
        message = {"text": settings.message_text,
                   "image": data_uri(settings.message_image, settings.message_image_mime)}
    return {
        "invoice": _InvoiceView(invoice, period_end),
        "doc_title": _("Credit note") if invoice.kind == "credit_note" else _("Invoice"),
        "doc_number": invoice.number or _("Draft"),
        "seller": {"name": realm.name, "tax_id": invoice.seller_tax_id or realm.seller_tax_id,
                   "address": getattr(realm, "address", None)},
        "buyer": {"name": account.name, "number": account.number, "address": account.address,
                  "tax_id": invoice.buyer_tax_id or account.tax_id, "email": account.email},
        "lines": line_views(invoice),
        "subtotal": None if getattr(invoice, "prices_include_tax", False) else money(invoice.subtotal, invoice.currency),
        "extra_totals": extra_totals(invoice),
        "total": money(invoice.total, invoice.currency),
        "notes": invoice_notes(invoice),
        "credited_number": credited,
        "charts": charts,
        "message": message,
        "einvoice": bool(settings.einvoicing),
        "fmt_date": lambda d: format_date(d, "medium") if d else "",
    }


class _InvoiceView:
    def __init__(self, invoice, period_end) -> None:
        self._invoice = invoice
        self.period_end = period_end

    def __getattr__(self, name):
        return getattr(self._invoice, name)


def _load_invoice(invoice_id: int) -> Invoice:
    return get_or_not_found(Invoice, invoice_id, "invoice")


def document_key(invoice_id: int) -> str:
    return f"invoice-{invoice_id}"


def invoice_filename(invoice) -> str:
    name = (invoice.number or f"draft-{invoice.id}").replace("/", "-")
    return f"{name}.pdf"


def render_invoice_pdf(invoice, *, realm: Realm, settings=None) -> bytes:
    """Render the invoice (with Factur-X XML when the realm has e-invoicing on)."""
    settings = settings if settings is not None else peek_document_settings()
    with force_locale(realm.locale or "en"):
        pdf = render_pdf("invoice.html", invoice_context(invoice, realm=realm, settings=settings), realm=realm)
    if settings.einvoicing and invoice.status != "draft":
        from .einvoice import embed_facturx, facturx_xml

        pdf = embed_facturx(pdf, facturx_xml(invoice, realm=realm))
    return pdf


def stored_invoice_document(invoice_id: int) -> Document | None:
    return db.session.scalar(select(Document).where(Document.key == document_key(invoice_id)))


def invoice_document(invoice_id: int) -> Document:
    """The stored PDF of a finalized invoice; rendered and stored on first use, never again."""
    existing = stored_invoice_document(invoice_id)
    if existing is not None:
        return existing
    invoice = _load_invoice(invoice_id)
    if invoice.status == "draft":
        raise NotFound("document")  # drafts are previewed, never stored
    realm = db.session.get(Realm, require_realm_id())
    return _store(invoice, render_invoice_pdf(invoice, realm=realm))


def invoice_pdf_bytes(invoice_id: int) -> bytes:
    """The PDF for any invoice: stored for finalized ones, rendered for drafts."""
    invoice = _load_invoice(invoice_id)
    if invoice.status == "draft":
        return render_invoice_pdf(invoice, realm=db.session.get(Realm, require_realm_id()))
    return invoice_document(invoice_id).content


BATCH_SIZE = 50


def render_invoice_pdfs(invoice_ids: list[int]) -> dict[int, bytes]:
    """PDFs of many finalized invoices of the current realm, rendered in batches (one
    xhtml2pdf pass per batch, invoices loaded in bulk); e-invoice XML embedded when on."""
    realm = db.session.get(Realm, require_realm_id())
    settings = peek_document_settings()
    invoices = db.session.scalars(
        select(Invoice).where(Invoice.id.in_(invoice_ids), Invoice.status != "draft")
        .options(selectinload(Invoice.lines), selectinload(Invoice.account)).order_by(Invoice.id)).all()
    rendered: dict[int, bytes] = {}
    with force_locale(realm.locale or "en"):
        for start in range(0, len(invoices), BATCH_SIZE):
            batch = invoices[start:start + BATCH_SIZE]
            contexts = [invoice_context(i, realm=realm, settings=settings) for i in batch]
            for invoice, pdf in zip(batch, render_pdf_batch("invoice.html", contexts, realm=realm), strict=True):
                if settings.einvoicing:
                    from .einvoice import embed_facturx, facturx_xml

                    pdf = embed_facturx(pdf, facturx_xml(invoice, realm=realm))
                rendered[invoice.id] = pdf
    return rendered


def _store(invoice: Invoice, content: bytes) -> Document:
    sha = hashlib.sha256(content).hexdigest()
    document = Document(kind="invoice", key=document_key(invoice.id), invoice_id=invoice.id,
                        filename=invoice_filename(invoice), mime=PDF_MIME, content=content, sha256=sha,
                        size=len(content))
    # Another worker may have stored it first: then theirs is the document, ours is dropped.
    document, created = insert_once(document, lambda: stored_invoice_document(invoice.id))
    if not created:
        return document
    if invoice.pdf_sha256 is None:
        invoice.pdf_sha256 = sha
    db.session.flush()
    return document


def render_invoices(invoice_ids: list[int]) -> int:
    """Render and store the PDFs of ``invoice_ids`` not stored yet (the ``documents`` job);
    returns how many were stored now."""
    done = set(db.session.scalars(select(Document.invoice_id).where(Document.invoice_id.in_(invoice_ids))))
    todo = [i for i in invoice_ids if i not in done]
    if not todo:
        return 0
    pdfs = render_invoice_pdfs(todo)
    invoices = {i.id: i for i in db.session.scalars(select(Invoice).where(Invoice.id.in_(list(pdfs))))}
    return sum(1 for invoice_id, pdf in pdfs.items() if _store(invoices[invoice_id], pdf) is not None)


def _delivers_by_mail(realm: Realm, account: Account) -> bool:
    return bool(realm.email_invoices and account.email)


def mail_invoices(invoice_ids: list[int]) -> list[int]:
    """Queue the e-mail (PDF attached) of each finalized invoice whose realm delivers by mail
    and whose account has an address; one message per invoice ever (dedupe key)."""
    realm = db.session.get(Realm, require_realm_id())
    if not realm.email_invoices:
        return []
    invoices = db.session.scalars(select(Invoice).where(Invoice.id.in_(invoice_ids),
                                                        Invoice.status != "draft")).all()
    # Usually the documents job stored the PDFs already; if this job runs first, it renders
    # the missing ones in one batch (the stored document wins either way).
    render_invoices([i.id for i in invoices if _delivers_by_mail(realm, i.account)])
    mail_ids = []
    for invoice in invoices:
        account = invoice.account
        if not _delivers_by_mail(realm, account):
            continue
        document = invoice_document(invoice.id)
        with force_locale(account.locale or realm.locale or "en"):
            mail_ids.append(_queue_invoice_mail(invoice, account, realm, document))
    return mail_ids


def _queue_invoice_mail(invoice, account, realm, document) -> int:
    title = _("Credit note") if invoice.kind == "credit_note" else _("Invoice")
    subject = _("%(title)s %(number)s from %(realm)s", title=title, number=invoice.number, realm=realm.name)
    text = _("Hello %(name)s,\n\nplease find attached %(title)s %(number)s over %(total)s.\n\n%(realm)s",
             name=account.name, title=title.lower(), number=invoice.number,
             total=money(invoice.total, invoice.currency), realm=realm.name)
    row = queue_mail(to=account.email, subject=subject, text=text, realm=realm.id,
                     attachments=[(document.filename, document.content, document.mime)],
                     dedupe_key=f"realm-{realm.id}-invoice-{invoice.id}")
    return row.id


def invoices_awaiting_print() -> list[tuple[Invoice, Document | None]]:
    """Finalized invoices to print and post: the realm's automatic delivery is off or the
    account has no e-mail address, and no one marked the paper copy printed yet."""
    realm = db.session.get(Realm, require_realm_id())
    query = (select(Invoice, Document).join(Account, Account.id == Invoice.account_id)
             .outerjoin(Document, Document.invoice_id == Invoice.id)
             .where(Invoice.status == "finalized", Document.printed_at.is_(None))
             .order_by(Invoice.sequence))
    if realm.email_invoices:
        query = query.where((Account.email.is_(None)) | (Account.email == ""))
    return [(invoice, document) for invoice, document in db.session.execute(query.limit(500)).all()]


def mark_printed(invoice_ids: list[int]) -> int:
    """Record the paper copies of ``invoice_ids`` as printed (their PDFs are stored if missing)."""
    now = datetime.now(UTC)
    count = 0
    for invoice_id in invoice_ids:
        document = invoice_document(invoice_id)
        if document.printed_at is None:
            document.printed_at = now
            count += 1
    db.session.flush()
    return count


def enqueue_invoice_documents(invoice_ids: list[int]) -> None:
    """Billing follow-up (after the finalizing commit): render, then mail, on their queues."""
    from workers.documents import mail_invoices_job, render_invoices_job
    from workers.queues import enqueue

    realm_id = current_realm_id()
    groups: dict[int, list[int]] = {}
    if realm_id is not None:
        groups[realm_id] = list(invoice_ids)
    else:
        from tenants import all_realms

        with all_realms():
            for invoice_id, owner in db.session.execute(
                    select(Invoice.id, Invoice.realm_id).where(Invoice.id.in_(invoice_ids))):
                groups.setdefault(owner, []).append(invoice_id)
    for owner, ids in groups.items():
        tag = f"{owner}-{ids[0]}-{len(ids)}"
        enqueue(render_invoices_job, owner, ids, queue="documents", job_id=f"render-invoices-{tag}")
        enqueue(mail_invoices_job, owner, ids, queue="mail", job_id=f"mail-invoices-{tag}")


def preview_html(invoice, *, realm: Realm, settings=None) -> str:
    with force_locale(realm.locale or "en"):
        return render_html("invoice.html", invoice_context(invoice, realm=realm, settings=settings),
                           realm=realm)


# ------------------------------------------------------------------ live preview
SAMPLE_USAGE_MINUTES = (12, 0, 35, 48, 20, 0, 0, 64, 30, 18, 42, 55, 0, 0, 27, 33, 61, 12, 9, 0, 0,
                        44, 38, 26, 71, 15, 0, 0, 22, 36)


def sample_invoice(realm: Realm):
    """A transient invoice (never added to the session) to preview the design with."""
    today = datetime.now(UTC).date()
    start = today.replace(day=1)
    end = (start + timedelta(days=32)).replace(day=1)
    account = Account(number="100042", username="sample", name=_("Sample Customer"),
                      address=_("1 Example Street, Springfield"), email="customer@example.org")
    currency = realm.currency or "USD"
    lines = [
        InvoiceLine(position=1, kind="fee", description=_("Monthly fee"), quantity=Decimal(1), unit=None,
                    unit_price=Decimal("20.00"), amount=Decimal("20.00")),
        InvoiceLine(position=2, kind="usage", description="band 1 (all minute): 100 minute x 0.05 = 5.00",
                    quantity=Decimal(100), unit="minute", unit_price=Decimal("0.05"), amount=Decimal("5.00")),
    ]
    invoice = Invoice(kind="invoice", status="finalized", number=f"{realm.invoice_prefix}000123",
                      period_start=start, period_end=end, issue_date=today,
                      due_date=today + timedelta(days=realm.payment_terms_days or 14), currency=currency,
                      subtotal=Decimal("25.00"), tax_total=Decimal(0), total=Decimal("25.00"),
                      seller_tax_id=realm.seller_tax_id)
    invoice.lines = lines
    invoice.account = account
    return invoice


def sample_usage(invoice) -> dict[str, list[tuple[date, Decimal]]]:
    days = (invoice.period_end - invoice.period_start).days
    return {"minute": [(invoice.period_start + timedelta(days=i), Decimal(SAMPLE_USAGE_MINUTES[i % 30]))
                       for i in range(days)]}


def preview_invoice_pdf(settings) -> bytes:
    """The sample invoice as the realm's customers would get it with ``settings`` (unsaved)."""
    realm = db.session.get(Realm, require_realm_id())
    with force_locale(realm.locale or "en"):
        invoice = sample_invoice(realm)
        context = invoice_context(invoice, realm=realm, settings=settings, account=invoice.account)
        if settings.show_usage_chart:
            context["charts"] = chart_images(sample_usage(invoice), realm.primary_colour or "#1f5fbf")
        return render_pdf("invoice.html", context, realm=realm)


def invoices_without_document() -> list[int]:
    """Finalized invoices of the current realm whose PDF is not stored yet (oldest first)."""
    stored = select(Document.invoice_id).where(Document.invoice_id.is_not(None))
    return list(db.session.scalars(select(Invoice.id).where(
        Invoice.status != "draft", Invoice.id.not_in(stored)).order_by(Invoice.id)))
