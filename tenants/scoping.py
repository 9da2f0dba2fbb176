"""Central realm scoping: every ORM query on realm data is filtered to the current realm.

Models that hold realm data inherit ``RealmScoped``. A ``do_orm_execute`` hook adds
``with_loader_criteria(RealmScoped, realm_id == current)`` to every SELECT, UPDATE and
DELETE issued through the ORM session, and refuses to run one with no realm context
(unless inside ``all_realms()``). A ``before_flush`` hook stamps new rows with the
current realm and refuses writes to another realm's rows. Bulk paths that bypass the ORM
(COPY, Core executemany) pass ``realm_id`` explicitly.
"""

from __future__ import annotations

from sqlalchemy import ForeignKey, event
from sqlalchemy.orm import (
    Mapped,
    ORMExecuteState,
    Session,
    declared_attr,
    mapped_column,
    with_loader_criteria,
)

from .context import RealmContextRequired, all_realms_allowed, current_realm_id


class RealmScoped:
    """Mixin for models whose rows belong to one realm."""

    @declared_attr
    def realm_id(cls) -> Mapped[int]:  # noqa: N805 - declared_attr passes the class
        return mapped_column(ForeignKey("realms.id", ondelete="CASCADE"), index=True)


class CrossRealmWrite(RuntimeError):
    """An object of one realm was written while working as another."""


def _touches_realm_data(state: ORMExecuteState) -> bool:
    return any(issubclass(m.class_, RealmScoped) for m in state.all_mappers)


def _scope_statement(state: ORMExecuteState) -> None:
    if not (state.is_select or state.is_update or state.is_delete):
        return
    if state.execution_options.get("all_realms") or all_realms_allowed():
        return
    realm_id = current_realm_id()
    if realm_id is None:
        if _touches_realm_data(state):
            raise RealmContextRequired(
                "query on realm data without a realm context; use realm_context() or all_realms()"
            )
        return
    criteria = _criteria_for(realm_id)
    if state.is_relationship_load and any(option is criteria for option in state.statement._with_options):
        # A lazy or eager relationship load of objects this realm loaded: the parent's query
        # propagated the very same criteria already (not those of another realm: a different
        # object), so adding them again would only repeat ``realm_id = :r`` in the SQL.
        return
    state.statement = state.statement.options(criteria)


_CRITERIA: dict[int, object] = {}
_CRITERIA_LIMIT = 10_000


def _criteria_for(realm_id: int):
    """One ``with_loader_criteria`` option per realm, built once: building it per statement
    cost more than the rest of the hook (the lambda is analysed on every construction). The
    realm id is a bound parameter of the cached SQL, so every realm shares the compiled form."""
    criteria = _CRITERIA.get(realm_id)
    if criteria is None:
        if len(_CRITERIA) >= _CRITERIA_LIMIT:
            _CRITERIA.clear()
        criteria = _CRITERIA[realm_id] = with_loader_criteria(
            RealmScoped,
            lambda cls: cls.realm_id == realm_id,
            include_aliases=True,
            propagate_to_loaders=True,
        )
    return criteria


def _stamp_new_rows(session: Session, flush_context, instances) -> None:
    realm_id = current_realm_id()
    for obj in list(session.new) + list(session.dirty):
        if not isinstance(obj, RealmScoped):
            continue
        if obj.realm_id is None:
            if realm_id is None:
                raise RealmContextRequired(f"new {type(obj).__name__} without a realm context")
            obj.realm_id = realm_id
        elif realm_id is not None and obj.realm_id != realm_id and not all_realms_allowed():
            raise CrossRealmWrite(
                f"{type(obj).__name__} of realm {obj.realm_id} written as realm {realm_id}"
            )


def install_scoping(session_class=Session) -> None:
    """Idempotently attach the hooks to a Session class."""
    if not event.contains(session_class, "do_orm_execute", _scope_statement):
        event.listen(session_class, "do_orm_execute", _scope_statement)
        event.listen(session_class, "before_flush", _stamp_new_rows)
