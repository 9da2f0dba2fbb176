"""Document jobs: render and store invoice PDFs; queue and deliver invoice e-mails."""

from __future__ import annotations

from app.services.documents.invoices import mail_invoices, render_invoices

from .context import job_context, system_context
from .mail import deliver_now


def render_invoices_job(realm_id: int, invoice_ids: list[int]) -> int:
    with job_context(realm_id):
        return render_invoices(invoice_ids)


def mail_invoices_job(realm_id: int, invoice_ids: list[int]) -> list[str]:
    """Queue each invoice's message (committed first), then deliver it in this job.

    A failed delivery is recorded on its outbox row and retried by the mail sweep, so one
    bad address never holds back the other invoices; a sent message is never sent again.
    """
    with system_context():
        with job_context(realm_id):
            mail_ids = mail_invoices(invoice_ids)
        return [deliver_now(mail_id, raise_on_failure=False) for mail_id in mail_ids]
