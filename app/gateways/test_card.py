"""A card gateway for demos and tests: documented card numbers decide what happens.

===================  ==========================================================
card number          outcome
===================  ==========================================================
4242 4242 4242 4242  the charge succeeds
5555 5555 5555 4444  the charge succeeds (Mastercard)
4000 0000 0000 0002  the charge is declined (``card_declined``)
4000 0000 0000 9995  the charge is declined (``insufficient_funds``)
4000 0000 0000 0119  the gateway fails transiently (``processing_error``, retryable)
===================  ==========================================================

Any other number that passes the Luhn check is declined. Any future expiry and any 3–4
digit CVC are accepted. Tokenising keeps no number: the token carries the outcome only.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from flask_babel import lazy_gettext as _l

from .base import CardDetails, ChargeResult, Gateway, GatewayError, RefundResult, Token

OUTCOMES = {
    "4242424242424242": ("ok", "visa"),
    "5555555555554444": ("ok", "mastercard"),
    "4000000000000002": ("declined", "visa"),
    "4000000000009995": ("funds", "visa"),
    "4000000000000119": ("transient", "visa"),
}


def luhn_ok(number: str) -> bool:
    total = 0
    for i, digit in enumerate(reversed(number)):
        d = int(digit)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def check_card(card: CardDetails) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if not (card.number.isdigit() and 12 <= len(card.number) <= 19 and luhn_ok(card.number)):
        errors["card_number"] = ["invalid_card"]
    now = datetime.now(UTC)
    if not (1 <= card.exp_month <= 12) or (card.exp_year, card.exp_month) < (now.year, now.month):
        errors["expiry"] = ["expired"]
    if not (card.cvc.isdigit() and len(card.cvc) in (3, 4)):
        errors["cvc"] = ["invalid"]
    return errors


class TestCardGateway(Gateway):
    __test__ = False  # not a pytest class
    code = "test_card"
    label = _l("Test cards (demo)")
    online = True
    can_tokenise = can_charge = can_refund = True

    def tokenise(self, card: CardDetails, *, account_ref: str) -> Token:
        errors = check_card(card)
        if errors:
            raise GatewayError("invalid_card", ",".join(errors))
        outcome, brand = OUTCOMES.get(card.number, ("declined", "visa"))
        return Token(token=f"tc_{outcome}_{secrets.token_hex(8)}", brand=brand,
                     last4=card.number[-4:], exp_month=card.exp_month, exp_year=card.exp_year)

    def charge(self, *, token, customer_ref, amount, currency, idempotency_key, description,
               metadata) -> ChargeResult:
        outcome = token.split("_")[1] if token.startswith("tc_") and token.count("_") >= 2 else ""
        reference = f"tc_ch_{secrets.token_hex(8)}"
        if outcome == "ok":
            return ChargeResult(status="succeeded", external_id=reference)
        if outcome == "transient":
            return ChargeResult(status="error", external_id=reference, failure_code="processing_error",
                                message="temporary processing error", retryable=True)
        code = "insufficient_funds" if outcome == "funds" else "card_declined"
        return ChargeResult(status="declined", external_id=reference, failure_code=code,
                            message="the card was declined")

    def refund(self, *, external_id, amount, currency, idempotency_key) -> RefundResult:
        return RefundResult(status="succeeded", external_id=f"tc_re_{secrets.token_hex(8)}")
