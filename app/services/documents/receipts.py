"""Receipt PDFs: the generic ``documents/receipt.html`` of the realm's theme.

Context shape: ``doc_title``, ``doc_number``, ``seller`` {name, tax_id}, ``buyer`` {name,
number}, ``receipt`` {date, amount, method, reference, allocations: [{number, amount}], note}
and ``fmt_date``.
"""

from __future__ import annotations

from flask_babel import force_locale, format_date

from .pdf import render_pdf


def render_receipt_pdf(context: dict, realm) -> bytes:
    with force_locale(realm.locale or "en"):
        full = {"fmt_date": lambda d: format_date(d, "medium") if d else "", **context}
        return render_pdf("receipt.html", full, realm=realm)
