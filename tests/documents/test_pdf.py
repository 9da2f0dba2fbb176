"""render_pdf: theme templates with fallback to the default theme, branding, language."""

from __future__ import annotations

import io

from pypdf import PdfReader

from app.services.documents.pdf import render_html, render_pdf


def pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


RECEIPT = {"seller": {"name": "Seller"}, "buyer": {"name": "Buyer Person", "number": "A-1"},
           "doc_title": "Receipt", "doc_number": "R-7",
           "receipt": {"date": None, "amount": "12.50 USD", "method": "cash", "allocations": []},
           "fmt_date": lambda d: ""}


def test_render_pdf_uses_branding_and_watermark(db, realm_a):
    realm_a.watermark = "COPY"
    content = render_pdf("receipt.html", RECEIPT, realm=realm_a)
    assert content.startswith(b"%PDF")
    text = pdf_text(content)
    assert "12.50 USD" in text and "Buyer Person" in text and "COPY" in text
    html = render_html("receipt.html", RECEIPT, realm=realm_a)
    assert realm_a.primary_colour in html


def test_theme_overrides_and_falls_back(db, realm_a, realm_b):
    # midnight overrides the header (realm name in capitals), the rest comes from default.
    assert "BRAVO NET" in pdf_text(render_pdf("receipt.html", RECEIPT, realm=realm_b))
    assert "BRAVO NET" not in render_html("receipt.html", RECEIPT, realm=realm_a).upper().replace(
        "ALPHA NET", "")
    assert "Alpha Net" in pdf_text(render_pdf("receipt.html", RECEIPT, realm=realm_a))


def test_receipt_helper_renders_in_the_realms_language(db, realm_a):
    from datetime import date

    from app.services.documents.receipts import render_receipt_pdf

    realm_a.locale = "de"
    context = {**RECEIPT, "receipt": {**RECEIPT["receipt"], "date": date(2026, 10, 31),
                                      "allocations": [{"number": "INV-000001", "amount": "12.50 USD"}]}}
    context.pop("fmt_date")
    text = pdf_text(render_receipt_pdf(context, realm_a))
    assert "INV-000001" in text and "12.50 USD" in text and "R-7" in text
    assert "31.10.2026" in text  # dates in the realm's language
