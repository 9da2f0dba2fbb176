"""The billing follow-up of the documents area (kept light: billing imports it)."""

from __future__ import annotations


def render_and_mail_invoices(invoice_ids: list[int]) -> None:
    """After the finalizing commit: enqueue PDF rendering and e-mail delivery."""
    from .invoices import enqueue_invoice_documents

    enqueue_invoice_documents(invoice_ids)
