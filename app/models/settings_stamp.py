"""``realms.settings_version``: raised in the transaction that changes a realm's billing terms
(tax settings, tax rates, discounts) or plans (plans, versions, fees, bands, quotas).

The realm row is read on every request anyway, so whoever keeps a copy of those settings
between requests (the self-care dashboard's terms and compiled plans) can tell for free
whether the copy is still the one in force: a change committed anywhere, by any process,
comes with a new stamp. ``SETTINGS_CHANGED`` in ``session.info`` says that this transaction
changed settings itself (not committed yet): it should read them afresh and keep nothing.
"""

from __future__ import annotations

from sqlalchemy import event, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from .billing_terms import Discount, TaxRate, TaxSettings
from .plan import ChargeBand, Plan, PlanFee, PlanQuota, PlanVersion
from .realm import Realm

SETTINGS_CHANGED = "realmbill_settings_changed"
STAMPED = (TaxSettings, TaxRate, Discount, Plan, PlanVersion, PlanFee, ChargeBand, PlanQuota)


@event.listens_for(Session, "before_flush")
def _raise_settings_version(session: Session, _flush_context, _instances) -> None:
    changed = [obj for obj in (*session.new, *session.deleted) if isinstance(obj, STAMPED)]
    changed += [obj for obj in session.dirty if isinstance(obj, STAMPED) and session.is_modified(obj)]
    if not changed:
        return
    from tenants import current_realm_id

    realm_ids = {obj.realm_id or current_realm_id() for obj in changed} - {None}
    realms = Realm.__table__
    session.connection().execute(update(realms).where(realms.c.id.in_(sorted(realm_ids)))
                                 .values(settings_version=realms.c.settings_version + 1))
    for realm_id in realm_ids:
        held = session.identity_map.get(identity_key(Realm, realm_id))
        if held is not None:
            session.expire(held, ["settings_version"])
    session.info[SETTINGS_CHANGED] = True


@event.listens_for(Session, "after_commit")
def _settings_committed(session: Session) -> None:
    if not session.in_nested_transaction():  # a savepoint released: the commit is still to come
        session.info.pop(SETTINGS_CHANGED, None)


@event.listens_for(Session, "after_soft_rollback")
def _settings_rolled_back(session: Session, previous_transaction) -> None:
    if previous_transaction.parent is None:
        session.info.pop(SETTINGS_CHANGED, None)


class KeptSettings:
    """Copies of realms' settings kept per process under their stamp: a copy is found only
    while the realm's ``settings_version`` (read with the realm on every request) is the one
    it was kept under, and a transaction that changed settings itself finds and keeps
    nothing. The realm's creation time is in the key too: it tells a realm from a later one
    given the same id (SQLite may reuse the ids of deleted rows), whose stamp starts again at 0."""

    def __init__(self, limit: int = 4096) -> None:
        self._kept: dict[tuple, object] = {}
        self._limit = limit

    def find(self, session: Session, realm: Realm, key: tuple):
        if session.info.get(SETTINGS_CHANGED):
            return None
        return self._kept.get(self._stamped(realm, key))

    def keep(self, session: Session, realm: Realm, key: tuple, value):
        if not session.info.get(SETTINGS_CHANGED):
            if len(self._kept) >= self._limit:
                self._kept.clear()
            self._kept[self._stamped(realm, key)] = value
        return value

    @staticmethod
    def _stamped(realm: Realm, key: tuple) -> tuple:
        return (realm.id, realm.created_at, realm.settings_version, *key)
