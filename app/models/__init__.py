"""All models, imported here so metadata (and Alembic) sees every table."""

from .account import ACCOUNT_STATUSES, Account, CostCentre
from .plan import FEE_KINDS, FEE_PERIODS, Bundle, ChargeBand, Plan, PlanFee, PlanQuota, PlanVersion
from .realm import Realm, RealmDomain
from .staff import ROLES, Department, StaffUser
from .subscription import SUBSCRIPTION_STATUSES, Subscription

__all__ = [
    "ACCOUNT_STATUSES", "FEE_KINDS", "FEE_PERIODS", "ROLES", "SUBSCRIPTION_STATUSES",
    "Account", "Bundle", "ChargeBand", "CostCentre", "Department", "Plan", "PlanFee",
    "PlanQuota", "PlanVersion", "Realm", "RealmDomain", "StaffUser", "Subscription",
]
