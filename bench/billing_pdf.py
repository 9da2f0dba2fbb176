"""Invoice PDF rendering: invoices/s through our path next to a naive render.

    .venv/bin/python -m bench.billing_pdf [--invoices N] [--processes P]

Both sides render the same finalized invoices (a realm with a logo and a watermark, a
monthly fee, usage lines with band explanations) from the same theme templates, so the
PDFs look the same (the texts are compared below):

* naive: one invoice at a time in one process, the way a first version would do it: a
  fresh Jinja environment per invoice (templates read and compiled again), the invoice and
  its lines loaded on their own, one xhtml2pdf document per invoice;
* ours (app/services/documents): ``render_invoice_pdfs`` as the ``documents`` job runs it,
  in P worker processes (long-lived like RQ workers, warmed up once), each given chunks of
  invoice ids: bulk loading, compiled templates kept per theme, and one xhtml2pdf pass per
  batch of 50 invoices (styles, page frames, footer and watermark parsed once) cut into
  one PDF per invoice.

Target: ours >= 3x the naive rate on 2 cores.
"""

from __future__ import annotations

import argparse
import io
import multiprocessing
import os
import time
from datetime import UTC, date, datetime
from decimal import Decimal

from ._common import Figures, Timer, make_app, pg_database

CHUNK = 50
_worker_app = None
_worker_realm = None


def _logo_png() -> bytes:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (360, 90), "#1f5fbf")
    ImageDraw.Draw(image).text((20, 30), "BENCH NET", fill="white")
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def seed(app, invoices: int) -> tuple[int, list[int]]:
    from sqlalchemy import insert, select

    from app.extensions import db
    from app.models import Account, Invoice, InvoiceLine
    from app.services.realms import create_realm
    from tenants import realm_context

    with app.app_context():
        realm = create_realm(slug="pdfbench", name="Bench Net", owner={
            "email": "owner@pdfbench.example", "name": "Owner", "password": "bench-password"})
        realm.logo, realm.logo_mime, realm.watermark = _logo_png(), "image/png", "COPY"
        realm.seller_tax_id = "DE123456789"
        db.session.commit()
        realm_id = realm.id
        db.session.execute(insert(Account.__table__), [
            {"realm_id": realm_id, "number": f"B{i:07d}", "username": f"user{i}", "name": f"Customer {i}",
             "email": f"user{i}@example.org", "address": f"{i} Long Road\nSpringfield", "status": "active"}
            for i in range(invoices)])
        with realm_context(realm_id):
            accounts = db.session.scalars(select(Account.id).order_by(Account.id)).all()
        now = datetime.now(UTC)
        db.session.execute(insert(Invoice.__table__), [
            {"realm_id": realm_id, "account_id": a, "kind": "invoice", "status": "finalized",
             "number": f"INV-{n + 1:06d}", "sequence": n + 1, "period_key": "2026-10-01",
             "period_start": date(2026, 10, 1), "period_end": date(2026, 11, 1), "issue_date": date(2026, 11, 1),
             "due_date": date(2026, 11, 15), "currency": "USD", "subtotal": Decimal("31.45"),
             "tax_total": Decimal(0), "total": Decimal("31.45"), "finalized_at": now, "created_at": now}
            for n, a in enumerate(accounts)])
        with realm_context(realm_id):
            ids = db.session.scalars(select(Invoice.id).order_by(Invoice.id)).all()
        lines = []
        for invoice_id in ids:
            lines += [
                {"realm_id": realm_id, "invoice_id": invoice_id, "position": 1, "kind": "fee",
                 "description": "Home 50 monthly fee (2026-10-01 to 2026-10-31)", "quantity": Decimal(1),
                 "unit": None, "unit_price": Decimal("20.00"), "amount": Decimal("20.00")},
                {"realm_id": realm_id, "invoice_id": invoice_id, "position": 2, "kind": "usage",
                 "description": "band 2 (0 to 150 MB): 150 MB x 0.05 = 7.50", "quantity": Decimal(150),
                 "unit": "MB", "unit_price": Decimal("0.05"), "amount": Decimal("7.50")},
                {"realm_id": realm_id, "invoice_id": invoice_id, "position": 3, "kind": "usage",
                 "description": "band 3 (150 to 500 MB): 79 MB x 0.05 = 3.95", "quantity": Decimal(79),
                 "unit": "MB", "unit_price": Decimal("0.05"), "amount": Decimal("3.95")},
            ]
        db.session.execute(insert(InvoiceLine.__table__), lines)
        db.session.commit()
        return realm_id, list(ids)


def naive_render(app, realm_id: int, invoice_id: int) -> bytes:
    """A straightforward single render: fresh environment, own queries, one document."""
    from flask_babel import force_locale
    from jinja2 import ChoiceLoader, FileSystemLoader
    from xhtml2pdf import pisa

    from app.extensions import db
    from app.models import Invoice, Realm
    from app.services.documents.invoices import invoice_context
    from app.services.documents.pdf import THEMES_DIR, _link_callback, branding
    from app.services.documents.settings import peek_document_settings

    realm = db.session.get(Realm, realm_id)
    invoice = db.session.get(Invoice, invoice_id)
    env = app.jinja_env.overlay(loader=ChoiceLoader([
        FileSystemLoader(str(THEMES_DIR / realm.theme / "templates")),
        FileSystemLoader(str(THEMES_DIR / "default" / "templates"))]), cache_size=0)
    with force_locale(realm.locale or "en"):
        context = invoice_context(invoice, realm=realm, settings=peek_document_settings())
        html = env.get_template("documents/invoice.html").render(
            {"realm": realm, "brand": branding(realm), **context})
    out = io.BytesIO()
    pisa.CreatePDF(html, dest=out, encoding="utf-8", link_callback=_link_callback)
    db.session.expunge_all()
    return out.getvalue()


def _init_worker(database_url: str, realm_id: int) -> None:
    global _worker_app, _worker_realm
    _worker_app = make_app(database_url)
    _worker_realm = realm_id


def _render_chunk(invoice_ids: list[int]) -> tuple[int, int, float]:
    from app.services.documents.invoices import render_invoice_pdfs
    from tenants import realm_context

    began = time.process_time()
    with _worker_app.app_context(), realm_context(_worker_realm):
        pdfs = render_invoice_pdfs(invoice_ids)
    return len(pdfs), sum(len(p) for p in pdfs.values()), time.process_time() - began


def _text(pdf: bytes) -> str:
    from pypdf import PdfReader

    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--invoices", type=int, default=400)
    parser.add_argument("--naive", type=int, default=100, help="invoices rendered the naive way")
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 2)
    args = parser.parse_args()
    figures = Figures("Invoice PDF rendering", unit="invoices/s")
    # PostgreSQL, as in production: worker processes read side by side (SQLite serializes
    # its transactions, which would measure the database rather than the rendering).
    with pg_database() as url:
        app = make_app(url)
        realm_id, ids = seed(app, args.invoices)
        with app.app_context():
            from app.services.documents.invoices import render_invoice_pdfs
            from tenants import realm_context

            with realm_context(realm_id):
                naive_render(app, realm_id, ids[0])  # warm up fonts and imports, as for ours
                naive_sample = naive_render(app, realm_id, ids[1])
                ours_sample = render_invoice_pdfs(ids[:3])[ids[1]]
                same = _text(naive_sample) == _text(ours_sample)
                cpu = time.process_time()
                with Timer() as t:
                    for invoice_id in ids[:args.naive]:
                        naive_render(app, realm_id, invoice_id)
                naive_cpu = (time.process_time() - cpu) / args.naive
                naive = figures.add("naive: one at a time, 1 process", args.naive, t.seconds,
                                    f"{naive_cpu * 1000:.0f} ms CPU/invoice")
                cpu = time.process_time()
                with Timer() as t:
                    count = len(render_invoice_pdfs(ids[:args.naive]))
                ours_cpu = (time.process_time() - cpu) / count
                figures.add("ours: batches, 1 process", count, t.seconds, f"{ours_cpu * 1000:.0f} ms CPU/invoice")
        context = multiprocessing.get_context("fork")
        with context.Pool(args.processes, initializer=_init_worker, initargs=(url, realm_id)) as pool:
            pool.map(_render_chunk, [ids[:2]] * args.processes)  # warm-up, like a running worker
            chunks = [ids[i:i + CHUNK] for i in range(0, len(ids), CHUNK)]
            with Timer() as t:
                results = pool.map(_render_chunk, chunks, chunksize=1)
        rendered = sum(n for n, _, _ in results)
        worker_cpu = sum(c for _, _, c in results) / rendered
        ours = figures.add(f"ours: batches, {args.processes} processes", rendered, t.seconds,
                           f"{worker_cpu * 1000:.0f} ms CPU/invoice, "
                           f"avg {sum(b for _, b, _ in results) / rendered / 1024:.0f} KiB/PDF")
    figures.print()
    print(f"\nours / naive = {ours / naive:.1f}x wall clock (target >= 3x); same text in both PDFs: {same}")
    # Other work on the machine stretches wall-clock times; CPU time per invoice does not.
    # On P otherwise idle cores the rates are P / (CPU per invoice) for ours, 1 / it for naive.
    print(f"CPU per invoice: naive {naive_cpu * 1000:.0f} ms, ours {worker_cpu * 1000:.0f} ms -> "
          f"{args.processes} idle cores: ours / naive = {args.processes * naive_cpu / worker_cpu:.1f}x "
          f"(load average now {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)")


if __name__ == "__main__":
    main()
