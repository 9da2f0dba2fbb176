"""Payment jobs: automatic charges of finalized invoices, charge retries, receipts."""

from __future__ import annotations

from app.services.payments.autocharge import (
    charge_invoice,
    realms_with_due_retries,
    retry_due_charges,
)
from app.services.payments.core import now
from app.services.payments.receipts import send_receipt

from .context import job_context, system_context
from .scheduler import periodic


def charge_invoice_job(realm_id: int, invoice_id: int) -> str | None:
    with job_context(realm_id):
        payment = charge_invoice(invoice_id)
        return payment.status if payment is not None else None


def retry_charges_for_realm_job(realm_id: int) -> int:
    with job_context(realm_id):
        return retry_due_charges()


@periodic("payments-retry-charges", every_seconds=3600, queue="billing")
def retry_charges_job() -> int:
    """Scheduler sweep: walk every realm's due charge retries (each realm in its own unit)."""
    with system_context():
        tried = 0
        for realm_id in realms_with_due_retries(now()):
            tried += retry_charges_for_realm_job(realm_id)
        return tried


def send_receipt_job(realm_id: int, payment_id: int) -> bool:
    with job_context(realm_id):
        return send_receipt(payment_id)
