"""Lean realm reads: a hot page's aggregate reads run on the session's connection, without
the ORM's per-statement work (its execution hook, compile state and loading took about half
of such a statement's CPU), and still never without the realm.

Such a statement writes the realm filter in itself, ``realm_filter(Model)`` (a bound
parameter, not a value), on every realm table it reads: UNION parts, subqueries and CTEs
included. ``run_in_realm`` binds the current realm's id (refusing to run without a realm
context) and, the first time it sees a statement, checks its SQL: a realm table read
without the filter is ``UnscopedRead``, before anything is read. Entity loads keep going
through the ORM and its central criteria (scoping.py).
"""

from __future__ import annotations

import re
from functools import cache

from sqlalchemy import bindparam
from sqlalchemy.engine import Result
from sqlalchemy.orm import Session

from .context import require_realm_id
from .scoping import REALM_PARAM, RealmScoped


class UnscopedRead(RuntimeError):
    """A lean read names a realm table without the realm filter."""


def realm_filter(entity):
    """``entity.realm_id = :scope_realm_id`` (entity: a realm model, an alias of one, or a
    table's columns collection ``.c``) for a statement run by ``run_in_realm``."""
    return entity.realm_id == bindparam(REALM_PARAM)


def run_in_realm(session: Session, statement, params: dict | None = None) -> Result:
    """Execute ``statement`` for the current realm on ``session``'s connection (flushing
    pending changes first, as a session query would)."""
    realm_id = require_realm_id()
    _check(statement)
    if session.new or session.dirty or session.deleted:
        session.flush()
    return session.connection().execute(statement, {**(params or {}), REALM_PARAM: realm_id})


_CHECKED: dict[int, object] = {}  # id -> the statement itself (kept, so the id stays its own)
_REFERENCE = re.compile(r"(?:\bFROM|\bJOIN|,) (\w+)(?: AS (\w+))?(?=[\s)]|$)")


def _check(statement) -> None:
    if _CHECKED.get(id(statement)) is statement:
        return
    sql = str(statement)
    tables = _realm_tables()
    for table, alias in _REFERENCE.findall(sql):
        if table not in tables:
            continue
        name = alias or table
        named = f"{table} AS {alias}" if alias else table
        reads = len(re.findall(rf"(?:\bFROM|\bJOIN|,) {named}(?=[\s)]|$)", sql))
        if sql.count(f"{name}.realm_id = :{REALM_PARAM}") < reads:
            raise UnscopedRead(f"{name} is read without realm_filter() in: {sql}")
    if len(_CHECKED) >= 10_000:
        _CHECKED.clear()
    _CHECKED[id(statement)] = statement


@cache
def _realm_tables() -> frozenset[str]:
    found, todo = set(), [RealmScoped]
    while todo:
        cls = todo.pop()
        for sub in cls.__subclasses__():
            todo.append(sub)
            table = getattr(sub, "__table__", None)
            if table is not None:
                found.add(table.name)
    return frozenset(found)
