"""Payments: gateways per realm, stored methods, charges, allocation, refunds, receipts.

The entry points other areas use are re-exported here (``record_payment``,
``refund_payment``, ``credit_balance``, ``open_invoices``, ``invoice_balance``, ...).
"""

from .core import (
    apply_credit,
    charge_method,
    get_payment,
    pay_invoice,
    pay_with_card,
    record_payment,
    refund_payment,
)
from .ledger import amount_due, credit_balance, invoice_balance, open_invoices

__all__ = [
    "amount_due", "apply_credit", "charge_method", "credit_balance", "get_payment", "invoice_balance",
    "open_invoices", "pay_invoice", "pay_with_card", "record_payment", "refund_payment",
]
