"""Central realm scoping: every ORM query on realm data is filtered to the current realm.

Models that hold realm data inherit ``RealmScoped``. A ``do_orm_execute`` hook adds
``with_loader_criteria(RealmScoped, realm_id == current)`` to every SELECT, UPDATE and
DELETE issued through the ORM session, and refuses to run one with no realm context
(unless inside ``all_realms()``). A ``before_flush`` hook stamps new rows with the
current realm and refuses writes to another realm's rows. Bulk paths that bypass the ORM
(COPY, Core executemany) pass ``realm_id`` explicitly.
"""

from __future__ import annotations

from sqlalchemy import ForeignKey, bindparam, event
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


# One criteria option for every realm: the realm id is a bound parameter that the hook
# supplies on each execution. A criteria per realm (the id as a lambda closure value) made
# SQLAlchemy re-run the lambda to extract the value on every execution, which cost about a
# third of a simple statement's CPU; a constant option is analysed once and its compiled SQL
# is shared by all realms.
REALM_PARAM = "scope_realm_id"
REALM_CRITERIA = with_loader_criteria(
    RealmScoped,
    lambda cls: cls.realm_id == bindparam("scope_realm_id"),  # REALM_PARAM (a literal: lambdas track names)
    include_aliases=True,
    propagate_to_loaders=True,
)


def _scope_statement(state: ORMExecuteState) -> None:
    if not (state.is_select or state.is_update or state.is_delete):
        return
    # A relationship load propagates the criteria of the query that loaded its parent.
    carries = REALM_CRITERIA in state.statement._with_options
    realm_id = None
    if not (state.execution_options.get("all_realms") or all_realms_allowed()):
        realm_id = current_realm_id()
        if realm_id is None and _touches_realm_data(state):
            raise RealmContextRequired(
                "query on realm data without a realm context; use realm_context() or all_realms()"
            )
    if realm_id is None:
        if not carries:
            return
        # Loaded while working as a realm, refreshed or lazily loaded from outside of one
        # (a test's fixture, a job after its realm block): the realm the object was loaded in.
        realm_id = _realm_of(state)
        if realm_id is None:
            return  # a statement that needs the value fails for want of it: nothing unfiltered
    elif not carries:
        state.statement = state.statement.options(REALM_CRITERIA)
    if state.is_select or _touches_realm_data(state):
        # (An UPDATE or DELETE of a plain table would take an unknown key for a column to set.)
        params = state.parameters
        if isinstance(params, list):
            state.parameters = [{**row, REALM_PARAM: realm_id} for row in params]
        else:
            state.parameters = {**params, REALM_PARAM: realm_id} if params else {REALM_PARAM: realm_id}


# Kept in the instance's __dict__ beside the mapped attributes: expiring an object (every
# commit does) clears those, not this, so a refresh outside a realm still knows the realm.
_LOADED_IN = "_realmbill_loaded_in"


def _realm_of(state: ORMExecuteState) -> int | None:
    options = state.load_options
    source = getattr(options, "_lazy_loaded_from", None) or getattr(options, "_refresh_state", None)
    if source is None:
        return None
    values = source.dict
    if isinstance(source.obj(), RealmScoped):
        return values.get("realm_id") or values.get(_LOADED_IN)
    if source.class_.__tablename__ == "realms" and source.key is not None:
        return source.key[1][0]
    return None


@event.listens_for(RealmScoped, "load", propagate=True)
def _remember_realm(target, _context) -> None:
    values = target.__dict__
    if values.get("realm_id") is not None:  # (not loaded: a query with load_only, say)
        values[_LOADED_IN] = values["realm_id"]


def _stamp_new_rows(session: Session, flush_context, instances) -> None:
    realm_id = current_realm_id()
    for obj in list(session.new) + list(session.dirty):
        if not isinstance(obj, RealmScoped):
            continue
        if obj.realm_id is None:
            if realm_id is None:
                raise RealmContextRequired(f"new {type(obj).__name__} without a realm context")
            obj.realm_id = realm_id
            obj.__dict__[_LOADED_IN] = realm_id
        elif realm_id is not None and obj.realm_id != realm_id and not all_realms_allowed():
            raise CrossRealmWrite(
                f"{type(obj).__name__} of realm {obj.realm_id} written as realm {realm_id}"
            )


def install_scoping(session_class=Session) -> None:
    """Idempotently attach the hooks to a Session class."""
    if not event.contains(session_class, "do_orm_execute", _scope_statement):
        event.listen(session_class, "do_orm_execute", _scope_statement)
        event.listen(session_class, "before_flush", _stamp_new_rows)
