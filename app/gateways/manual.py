"""Cash and cheques recorded by the realm's staff: no settings, no calls."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from .base import Gateway, RefundResult


class ManualGateway(Gateway):
    code = "manual"
    label = _l("Manual (cash, cheque)")
    can_refund = True

    def refund(self, *, external_id, amount, currency, idempotency_key) -> RefundResult:
        return RefundResult(status="succeeded")  # money handed back by staff
