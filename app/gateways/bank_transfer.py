"""Bank transfers: payers quote a reference; staff import the bank statement to reconcile.

The settings are the account the payer sends money to (shown on invoices and self-care);
the statement import lives in app/services/payments/bank_statements.py.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from .base import Gateway, RefundResult, SettingField


class BankTransferGateway(Gateway):
    code = "bank_transfer"
    label = _l("Bank transfer")
    can_refund = True
    settings_fields = (
        SettingField("account_holder", _l("Account holder"), required=True),
        SettingField("iban", _l("IBAN or account number"), required=True),
        SettingField("bic", _l("BIC / routing number")),
    )

    def refund(self, *, external_id, amount, currency, idempotency_key) -> RefundResult:
        return RefundResult(status="succeeded")  # paid back by a transfer made by staff
