"""realmbill documents: render missing PDFs (resumable), list the print queue."""

from __future__ import annotations

from sqlalchemy import delete, func, select

from app.models import Invoice
from app.models.document import Document
from tenants import realm_context

from .conftest import bill


def test_render_missing_and_print_queue(app, db, realm_a, jb_subscriber):
    realm_a.email_invoices = False
    db.session.commit()
    bill(db, realm_a)
    with realm_context(realm_a.id):
        db.session.execute(delete(Document))  # as if the documents job never ran
        db.session.execute(Invoice.__table__.update().values(pdf_sha256=None))
        db.session.commit()
    runner = app.test_cli_runner()
    first = runner.invoke(args=["documents", "render", "--realm", "alpha"], catch_exceptions=False)
    assert first.exit_code == 0 and "1 PDF(s) stored." in first.output, first.output
    again = runner.invoke(args=["documents", "render", "--realm", "alpha"], catch_exceptions=False)
    assert "0 PDF(s) stored." in again.output
    with realm_context(realm_a.id):
        assert db.session.scalar(select(func.count()).select_from(Document)) == 1
    listed = runner.invoke(args=["documents", "print-queue", "--realm", "alpha"], catch_exceptions=False)
    assert "INV-000001" in listed.output and "Jay Bee" in listed.output
