"""What happens once invoices are finalized: documents, mail, automatic charges.

Finalizing writes invoices in bulk inside one transaction; everything that may be slow or
may fail on its own (rendering the PDF, mailing it, charging a stored payment method) is
queued after the commit, each on its own queue, so finalizing is never blocked by them and
no follow-up job ever sees an invoice that was rolled back. Each area adds one line below.
"""

from __future__ import annotations

from ..documents import followup as documents_followup
from ..payments import autocharge as payments_autocharge
from ..uow import after_commit

# Each entry: a function taking the finalized invoice ids that enqueues its own jobs.
FOLLOW_UPS: list = []
FOLLOW_UPS.append(documents_followup.render_and_mail_invoices)
FOLLOW_UPS.append(payments_autocharge.invoices_finalized)


def invoices_finalized(invoice_ids: list[int]) -> None:
    """Register the follow-ups of freshly finalized ``invoice_ids`` to run after commit."""
    if not invoice_ids:
        return
    ids = list(invoice_ids)

    def run_follow_ups() -> None:
        for follow_up in _follow_ups():
            follow_up(ids)

    after_commit(run_follow_ups)


def _follow_ups() -> list:
    # Imported late: these areas depend on billing, not the other way round.
    return list(FOLLOW_UPS)
