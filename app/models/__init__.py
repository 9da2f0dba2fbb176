"""All models, imported here so metadata (and Alembic) sees every table."""

from .account import ACCOUNT_STATUSES, Account, CostCentre
from .api import ApiKey, IdempotencyRecord  # noqa: F401
from .audit import AuditEntry
from .billing_terms import BuyerTaxProfile, Charge, Discount, TaxRate, TaxSettings  # noqa: F401
from .collections import CollectionPolicy, DunningStep  # noqa: F401
from .document import Document, DocumentSettings, MailMessage  # noqa: F401
from .enforcement import Enforcement, EnforcementTarget, QuotaNotice  # noqa: F401
from .events import Event as Event  # noqa: F401
from .invoice import (
    INVOICE_KINDS,
    INVOICE_STATUSES,
    BillingRun,
    Invoice,
    InvoiceCounter,
    InvoiceLine,
)
from .meter import Meter
from .network import NasClient
from .payment import (  # noqa: F401
    PAYMENT_METHODS,
    PAYMENT_STATUSES,
    BankStatementImport,
    BankStatementLine,
    ChargeRetry,
    Payment,
    PaymentAllocation,
    PaymentGateway,
    PaymentMethod,
    PaymentSettings,
    Refund,
    TopupOrder,
    TopupProduct,
    WebhookDelivery,
)
from .plan import FEE_KINDS, FEE_PERIODS, Bundle, ChargeBand, Plan, PlanFee, PlanQuota, PlanVersion
from .provisioning import Service as Service  # noqa: F401
from .quota import POOL_SCOPES, QuotaBalance, QuotaDraw, QuotaPool
from .realm import Realm, RealmDomain
from .report import ReportPin, ReportRun  # noqa: F401
from .settings_stamp import SETTINGS_CHANGED as SETTINGS_CHANGED  # installs the stamp's listeners
from .staff import ROLES, Department, StaffUser
from .subscription import SUBSCRIPTION_STATUSES, Subscription
from .usage import RadiusSession, UsageImport, UsageRecord, UsageReject
from .usage_rollups import NO_CENTRE, UsageDaily, UsageDailyCentre, UsageRollupDelta
from .voucher import AccessGrant, Voucher, VoucherBatch  # noqa: F401
from .wholesale import WholesaleAgreement, WholesaleStatement, WholesaleStatementLine  # noqa: F401

__all__ = [
    "ACCOUNT_STATUSES", "FEE_KINDS", "FEE_PERIODS", "INVOICE_KINDS", "INVOICE_STATUSES", "POOL_SCOPES", "ROLES", "SUBSCRIPTION_STATUSES",
    "Account", "AuditEntry", "BillingRun", "Bundle", "ChargeBand", "CostCentre", "Department", "Invoice", "InvoiceCounter", "InvoiceLine", "Meter", "NasClient", "Plan", "PlanFee",
    "PlanQuota", "PlanVersion", "QuotaBalance", "QuotaDraw", "QuotaPool", "RadiusSession", "Realm", "RealmDomain", "StaffUser",
    "Subscription", "UsageImport", "UsageRecord", "UsageReject",
    "NO_CENTRE", "UsageDaily", "UsageDailyCentre", "UsageRollupDelta",
]
