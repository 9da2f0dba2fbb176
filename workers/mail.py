"""Mail jobs: deliver one outbox message; retried by RQ, never sent twice."""

from __future__ import annotations

from app.services.mail import (
    MailDeliveryFailed,
    deliver_mail,
    pending_mail_ids,
    record_mail_failure,
)
from app.services.uow import unit_of_work

from .context import system_context
from .scheduler import periodic


def deliver_now(mail_id: int, *, raise_on_failure: bool = True) -> str:
    """Deliver in its own unit of work; a failure is recorded in another one."""
    try:
        with unit_of_work():
            return deliver_mail(mail_id)
    except MailDeliveryFailed as exc:
        with unit_of_work():
            record_mail_failure(mail_id, str(exc))
        if raise_on_failure:
            raise
        return "failed"


def send_mail_job(mail_id: int) -> str:
    with system_context():
        return deliver_now(mail_id)


@periodic("mail-retry", every_seconds=600, queue="mail")
def retry_pending_mail_job() -> int:
    """Scheduler sweep: try every queued or failed message again; returns how many were sent."""
    with system_context():
        with unit_of_work():
            ids = pending_mail_ids()
        return sum(deliver_now(mail_id, raise_on_failure=False) == "sent" for mail_id in ids)
