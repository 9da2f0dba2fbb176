"""Processing modules ("handlers"): a configured adapter of a realm.

Settings marked ``secret`` by the adapter are encrypted at rest (one JSON object, under a
realm-bound context) and never returned to pages: the form shows whether one is set and a
blank field keeps the stored value. A module without an adapter is "manual setup".
"""

from __future__ import annotations

import json
from functools import cache

from sqlalchemy import select

from app.extensions import db
from app.models.base import utcnow
from app.models.provisioning import ProcessingModule
from app.models.staff import Department
from app.security.secrets import secret_box
from provisioning_adapters.base import Adapter, AdapterError, load_adapters
from tenants import require_realm_id

from ..errors import FieldErrors, Invalid, NotAllowed
from ..lookups import get_or_not_found

MIN_RETRY_SECONDS = 60


@cache
def _adapters() -> dict[str, type[Adapter]]:
    return load_adapters()


def available_adapters() -> dict[str, type[Adapter]]:
    """Adapters installed through the ``realmbill.provisioning_adapters`` entry points."""
    return dict(_adapters())


def adapter_class(name: str | None) -> type[Adapter] | None:
    if not name:
        return None
    cls = _adapters().get(name)
    if cls is None:
        raise NotAllowed("adapter_unavailable")
    return cls


def _secrets_context(realm_id: int) -> str:
    return f"realm:{realm_id}:processing_module.secrets"


def stored_secrets(module: ProcessingModule) -> dict:
    if not module.secrets_enc:
        return {}
    return json.loads(secret_box().decrypt(module.secrets_enc, context=_secrets_context(module.realm_id)))


def secret_fields_set(module: ProcessingModule) -> set[str]:
    """Names of the secret settings that have a stored value (for "••• set" in forms)."""
    return {k for k, v in stored_secrets(module).items() if v}


def module_settings(module: ProcessingModule) -> dict:
    """All settings, secrets decrypted: only for building the adapter."""
    return {**(module.settings or {}), **stored_secrets(module)}


def build_adapter(module: ProcessingModule) -> Adapter:
    cls = adapter_class(module.adapter)
    if cls is None:
        raise NotAllowed("manual_module")
    return cls(module_settings(module))


def get_module(module_id: int) -> ProcessingModule:
    return get_or_not_found(ProcessingModule, module_id, "processing_module")


def list_modules() -> list[ProcessingModule]:
    return list(db.session.scalars(select(ProcessingModule).order_by(ProcessingModule.name)))


def save_module(
    module_id: int | None = None,
    *,
    name: str,
    adapter: str | None,
    data_centre: str | None = None,
    department_id: int | None = None,
    enabled: bool = True,
    settings: dict | None = None,
    retry_interval_seconds: int = 300,
    max_attempts: int = 3,
) -> ProcessingModule:
    """Create or update a module. Secret settings left blank keep their stored value."""
    realm_id = require_realm_id()
    module = get_module(module_id) if module_id is not None else None
    name = (name or "").strip()
    adapter = (adapter or "").strip() or None
    settings = dict(settings or {})
    errors = FieldErrors()
    errors.require("name", name)
    if name and db.session.scalar(
        select(ProcessingModule.id).where(
            ProcessingModule.name == name,
            ProcessingModule.id != (module.id if module else -1),
        )
    ):
        errors.add("name", "taken")
    cls = None
    if adapter is not None:
        cls = _adapters().get(adapter)
        if cls is None:
            errors.add("adapter", "unknown")
    if department_id is not None and db.session.scalar(
        select(Department.id).where(Department.id == department_id)
    ) is None:
        errors.add("department_id", "not_found")
    if not isinstance(retry_interval_seconds, int) or retry_interval_seconds < MIN_RETRY_SECONDS:
        errors.add("retry_interval_seconds", "too_small")
    if not isinstance(max_attempts, int) or not 1 <= max_attempts <= 50:
        errors.add("max_attempts", "out_of_range")
    errors.raise_if_any()

    plain: dict = {}
    secrets: dict = {}
    if cls is not None:
        known = {f.name: f for f in cls.settings_fields}
        unknown = sorted(set(settings) - set(known))
        if unknown:
            raise Invalid({"settings": ["unknown"]})
        previous = stored_secrets(module) if module is not None and module.adapter == adapter else {}
        for field_name, spec in known.items():
            value = settings.get(field_name)
            if spec.secret:
                if value in (None, ""):
                    value = previous.get(field_name)
                if value not in (None, ""):
                    secrets[field_name] = value
            elif value not in (None, ""):
                plain[field_name] = value
        try:
            cls({**plain, **secrets})
        except AdapterError as exc:
            raise Invalid({"settings": [str(exc)]}) from None

    if module is None:
        module = ProcessingModule(realm_id=realm_id)
        db.session.add(module)
    module.name = name
    module.adapter = adapter
    module.data_centre = (data_centre or "").strip() or None
    module.department_id = department_id
    module.enabled = bool(enabled)
    module.settings = plain
    module.secrets_enc = (
        secret_box().encrypt(json.dumps(secrets, sort_keys=True), context=_secrets_context(realm_id))
        if secrets else None
    )
    module.retry_interval_seconds = retry_interval_seconds
    module.max_attempts = max_attempts
    db.session.flush()
    return module


def check_module(module_id: int) -> ProcessingModule:
    """Test the module's connection; the outcome is kept on the module (no secrets)."""
    module = get_module(module_id)
    if module.adapter is None:
        ok, message = True, "manual setup"
    else:
        try:
            message = build_adapter(module).check() or "ok"
            ok = True
        except AdapterError as exc:
            ok, message = False, str(exc)
        except NotAllowed as exc:
            ok, message = False, exc.code
        except Exception as exc:  # an adapter bug must not show settings: the type only
            ok, message = False, f"unexpected error ({type(exc).__name__})"
    module.last_check_at = utcnow()
    module.last_check_ok = ok
    module.last_check_message = message[:1000]
    db.session.flush()
    return module
