"""Key rotation: re-encrypt every secret kept in the database with the current key.

Each encrypted column is listed once below with the context its values were sealed for (the
same function the owning service uses, so the two cannot drift apart). ``rotate_secrets``
walks every realm's rows, re-encrypts values sealed with an older key, and leaves current
ones untouched, so it can be run again after an interruption. Put the new key first in
``ENCRYPTION_KEYS``, keep the old ones after it, rotate, then drop the old keys.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from sqlalchemy import select

from app.extensions import db
from tenants import all_realms

from .secrets import secret_box


@dataclass(frozen=True)
class SecretColumn:
    model: str  # "module:Class"
    column: str
    context: Callable[[object], str]

    def model_class(self):
        module, name = self.model.split(":")
        return getattr(importlib.import_module(module), name)


def _service(path: str) -> Callable:
    module, name = path.split(":")
    return getattr(importlib.import_module(module), name)


SECRET_COLUMNS = (
    SecretColumn("app.models.account:Account", "service_password_enc",
                 lambda row: _service("app.services.accounts:service_password_context")(row.realm_id)),
    SecretColumn("app.models.network:NasClient", "secret_enc",
                 lambda row: _service("app.services.nas:_context")(row.realm_id)),
    SecretColumn("app.models.document:DocumentSettings", "smtp_password_enc",
                 lambda row: _service("app.services.mail:_password_context")(row.realm_id)),
    SecretColumn("app.models.payment:PaymentGateway", "settings_enc",
                 lambda row: _service("app.services.payments.gateways:_context")(row.realm_id, row.code)),
    SecretColumn("app.models.provisioning:ProcessingModule", "secrets_enc",
                 lambda row: _service("app.services.provisioning.modules:_secrets_context")(row.realm_id)),
    SecretColumn("app.models.provisioning:EventAction", "secret_enc",
                 lambda row: _service("app.services.event_actions:_secret_context")(row.realm_id)),
    SecretColumn("app.models.provisioning:SubscriberAuth", "secret_enc",
                 lambda row: _service("app.services.subscriber_auth:_secret_context")(row.realm_id)),
    SecretColumn("app.models.voucher:VoucherBatch", "pins_enc",
                 lambda row: _service("app.services.vouchers:_pins_context")(row.realm_id, row.id)),
)


def secret_rows() -> Iterator[tuple[SecretColumn, object]]:
    for spec in SECRET_COLUMNS:
        model = spec.model_class()
        column = getattr(model, spec.column)
        yield from ((spec, row) for row in db.session.scalars(
            select(model).where(column.is_not(None)).order_by(model.id)))


def count_secrets() -> int:
    with all_realms():
        return sum(1 for _ in secret_rows())


def rotate_secrets(progress: Callable[[int], None] | None = None) -> dict[str, int]:
    """Re-encrypt with the current key; returns how many values were rotated per column."""
    box = secret_box()
    rotated: dict[str, int] = {}
    with all_realms():
        for spec, row in secret_rows():
            value = getattr(row, spec.column)
            if box.needs_rotation(value):
                setattr(row, spec.column, box.rotate(value, context=spec.context(row)))
                key = f"{spec.model.split(':')[1]}.{spec.column}"
                rotated[key] = rotated.get(key, 0) + 1
            if progress:
                progress(1)
        db.session.flush()
    return rotated
