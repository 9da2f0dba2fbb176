"""Multi-tenancy: realm resolution, the realm context, and central query scoping."""

from .context import (
    RealmContextRequired,
    all_realms,
    current_realm_id,
    realm_context,
    require_realm_id,
)
from .lean import UnscopedRead, realm_filter, run_in_realm
from .scoping import CrossRealmWrite, RealmScoped, install_scoping

__all__ = [
    "CrossRealmWrite", "RealmContextRequired", "RealmScoped", "all_realms",
    "UnscopedRead", "current_realm_id", "install_scoping", "realm_context", "realm_filter", "require_realm_id",
    "run_in_realm",
]
