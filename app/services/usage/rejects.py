"""Rejected usage: list it, and process it again after a fix.

Unattributed records (unknown account or IP) are kept whole (``payload``), so once the
account exists they can simply be ingested again. Unreadable CDR rows are kept as text with
their file's header; staff correct the text and process it again. A reject that goes
through is marked ``reprocessed``; one that fails again stays open with the new reason.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from sqlalchemy import select

from app.extensions import db
from app.mediation.cdr_csv import parse_cdr
from app.mediation.records import MediationFileError, Reject
from app.models import UsageImport, UsageReject

from ..errors import Invalid
from .ingest import event_from_json, ingest


@dataclass
class ReprocessResult:
    reprocessed: int = 0
    still_rejected: int = 0


def list_rejects(*, status: str = "open", code: str | None = None, limit: int = 500) -> list[UsageReject]:
    query = select(UsageReject).where(UsageReject.status == status)
    if code:
        query = query.where(UsageReject.code == code)
    return list(db.session.scalars(query.order_by(UsageReject.id).limit(limit)))


def reprocess_rejects(reject_ids: list[int], *, corrections: dict[int, str] | None = None) -> ReprocessResult:
    corrections = dict(corrections or {})
    result = ReprocessResult()
    rejects = db.session.scalars(select(UsageReject).where(
        UsageReject.id.in_(reject_ids), UsageReject.status == "open")).all()
    for reject in rejects:
        corrected = corrections.get(reject.id)
        if corrected is not None and corrected.strip() == reject.raw.strip():
            corrections.pop(reject.id)  # unchanged text is no correction
            corrected = None
        items = _items_of(reject, corrected)
        counts = ingest(items, import_id=reject.import_id)
        if counts.rejected == 0 and counts.accepted + counts.duplicates > 0:
            reject.status = "reprocessed"
            result.reprocessed += 1
        else:
            if reject.id in corrections:
                reject.status = "replaced"  # the corrected text failed: its new reject is open
            result.still_rejected += 1
    db.session.flush()
    return result


def _items_of(reject: UsageReject, corrected: str | None):
    if reject.payload and corrected is None:
        return [event_from_json(reject.payload)]
    batch = db.session.get(UsageImport, reject.import_id) if reject.import_id else None
    if batch is None or not batch.header:
        raise Invalid({"reject": ["not_reprocessable"]})
    text = f"{batch.header}\n{corrected if corrected is not None else reject.raw}\n"
    try:
        parsed = list(parse_cdr(io.StringIO(text), reject.file or batch.name))
    except MediationFileError as exc:
        raise Invalid({"reject": ["invalid"]}) from exc
    # Keep the original line number for what is rejected again.
    return [Reject(r.file, reject.line, r.field, r.reason, r.raw, r.code) if isinstance(r, Reject) else r
            for r in parsed]
