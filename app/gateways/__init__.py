"""Payment gateway plugins (``realmbill.gateways`` entry points); see base.py."""

from .base import (
    CardDetails,
    ChargeResult,
    Gateway,
    GatewayError,
    RefundResult,
    SettingField,
    SignatureError,
    Token,
    WebhookEvent,
    available_gateways,
)

__all__ = [
    "CardDetails", "ChargeResult", "Gateway", "GatewayError", "RefundResult", "SettingField",
    "SignatureError", "Token", "WebhookEvent", "available_gateways",
]
