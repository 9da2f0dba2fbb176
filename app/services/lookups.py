"""Looking one row up by id for a service, the same way everywhere.

``select(...)`` rather than ``session.get``: a row already in the identity map would come
back from ``get`` without the realm criteria (tenants/scoping.py) ever seeing the
statement, so another realm's id could be found. A missing row and another realm's row
are the same ``NotFound``.
"""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy import select

from app.extensions import db

from .errors import NotFound

Model = TypeVar("Model")


def get_or_not_found(model: type[Model], ident: int, what: str) -> Model:
    row = db.session.scalar(select(model).where(model.id == ident))
    if row is None:
        raise NotFound(what)
    return row
