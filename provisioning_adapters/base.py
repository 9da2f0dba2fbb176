"""The adapter contract shared by every provisioning adapter.

An adapter pushes one service (``ServiceSpec``) to the system that provides it (a directory,
a host reached by SSH, a RADIUS users file ...). Adapters know nothing of Flask or the
database: they get a plain settings dict (secrets already decrypted) and a spec, and return a
short human summary or raise ``AdapterError``.

Every operation is idempotent: running it twice ends in the same state (create of an
existing entry updates it, delete of a missing one succeeds).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any, ClassVar

from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "realmbill.provisioning_adapters"

OPERATIONS = (
    "create",
    "suspend",
    "resume",
    "delete",
    "update_details",
    "change_password",
    "change_plan",
)

FIELD_KINDS = ("text", "password", "int", "bool", "textarea", "select")
STATUSES = ("active", "suspended", "deleted")


class AdapterError(Exception):
    """A provisioning operation failed.

    ``transient`` says whether a retry makes sense (network down, server busy) or not
    (bad settings, rejected data). The message never contains secrets.
    """

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.transient = transient

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class Field:
    """One setting of an adapter, described for the console form."""

    name: str
    label: str
    kind: str = "text"
    required: bool = False
    default: Any = None
    secret: bool = False
    choices: tuple = ()
    help: str = ""

    def __post_init__(self) -> None:
        if self.kind not in FIELD_KINDS:
            raise ValueError(f"unknown field kind {self.kind!r}")

    def coerce(self, value: Any) -> Any:
        """Validate and convert a raw value; raises ``AdapterError`` (never shows secrets)."""
        if value is None or value == "":
            if self.required and self.default is None:
                raise AdapterError(f"setting {self.name!r} is required")
            return self.default
        if self.kind == "int":
            if isinstance(value, bool):
                raise AdapterError(f"setting {self.name!r} must be a whole number")
            try:
                return int(value)
            except (TypeError, ValueError):
                raise AdapterError(f"setting {self.name!r} must be a whole number") from None
        if self.kind == "bool":
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in ("1", "true", "yes", "on", "y"):
                return True
            if text in ("0", "false", "no", "off", "n"):
                return False
            raise AdapterError(f"setting {self.name!r} must be yes or no")
        if self.kind == "select":
            allowed = [c[0] if isinstance(c, tuple | list) else c for c in self.choices]
            if value not in allowed:
                shown = "***" if self.secret else repr(value)
                raise AdapterError(
                    f"setting {self.name!r} must be one of {', '.join(map(str, allowed))}, not {shown}"
                )
            return value
        if not isinstance(value, str):
            raise AdapterError(f"setting {self.name!r} must be text")
        return value


class Values(dict):
    """A mapping for templates: a missing key reads as an empty string (details are optional),
    while unknown top-level names stay errors (StrictUndefined)."""

    def __missing__(self, key):
        return ""


@dataclass
class ServiceSpec:
    """What a service should look like on the providing system."""

    username: str
    password: str | None = None
    realm: str = ""
    plan_code: str | None = None
    status: str = "active"  # "active" | "suspended" | "deleted"
    details: dict = field(default_factory=dict)  # name, email, phone, ip, ...
    attributes: dict = field(default_factory=dict)  # rate_limit, framed_ip, session_timeout, ...
    resources: dict = field(default_factory=dict)  # storage, ram, cpu, mailboxes ...
    template: str | None = None

    def context(self, **extra: Any) -> dict:
        """The variables a template sees."""
        return {
            "username": self.username,
            "password": self.password or "",
            "realm": self.realm,
            "plan_code": self.plan_code or "",
            "status": self.status,
            "details": Values(self.details),
            "attributes": Values(self.attributes),
            "resources": Values(self.resources),
            "template": self.template or "",
            **extra,
        }


_USERNAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}$")


def validate_username(username: str) -> str:
    """Usernames pushed to external systems: conservative characters only."""
    if not isinstance(username, str) or not _USERNAME_RE.match(username):
        raise AdapterError("username contains characters that cannot be provisioned")
    return username


class _Sandbox(SandboxedEnvironment):
    pass


def make_environment(*, keep_trailing_newline: bool = False, **filters: Any) -> SandboxedEnvironment:
    """A sandboxed Jinja environment; undefined variables are errors, no autoescape
    (each adapter escapes values for its own protocol through ``finalize`` or filters)."""
    env = _Sandbox(undefined=StrictUndefined, autoescape=False,
                   keep_trailing_newline=keep_trailing_newline)
    env.filters.update(filters)
    return env


def render(
    env: SandboxedEnvironment,
    source: str,
    context: dict,
    *,
    what: str = "template",
) -> str:
    """Render ``source``; template errors become non-transient ``AdapterError``s that name
    the template but never show the context (it holds passwords)."""
    try:
        return env.from_string(source).render(context)
    except TemplateError as exc:
        raise AdapterError(f"{what}: {type(exc).__name__}: {exc.message or ''}".strip()) from None


class Adapter:
    """Base class of all adapters. Subclasses set ``name``, ``label``, ``settings_fields``
    and implement the operations (or ``apply``)."""

    name: ClassVar[str] = ""
    label: ClassVar[str] = ""
    insecure: ClassVar[bool] = False
    settings_fields: ClassVar[tuple[Field, ...]] = ()

    def __init__(self, settings: dict) -> None:
        if not isinstance(settings, dict):
            raise AdapterError("settings must be a mapping")
        known = {f.name for f in self.settings_fields}
        unknown = sorted(set(settings) - known)
        if unknown:
            raise AdapterError(f"unknown settings: {', '.join(unknown)}")
        self.settings = {f.name: f.coerce(settings.get(f.name)) for f in self.settings_fields}
        self.validate()

    # -- hooks -----------------------------------------------------------------------------
    def validate(self) -> None:
        """Further checks of ``self.settings`` (raise ``AdapterError``)."""

    @classmethod
    def secret_fields(cls) -> tuple[str, ...]:
        return tuple(f.name for f in cls.settings_fields if f.secret)

    def check(self) -> str:
        raise NotImplementedError

    def create(self, spec: ServiceSpec) -> str:
        raise NotImplementedError

    def suspend(self, spec: ServiceSpec) -> str:
        raise NotImplementedError

    def resume(self, spec: ServiceSpec) -> str:
        raise NotImplementedError

    def delete(self, spec: ServiceSpec) -> str:
        raise NotImplementedError

    def update_details(self, spec: ServiceSpec) -> str:
        raise NotImplementedError

    def change_password(self, spec: ServiceSpec) -> str:
        raise NotImplementedError

    def change_plan(self, spec: ServiceSpec) -> str:
        raise NotImplementedError

    def apply(self, operation: str, spec: ServiceSpec) -> str:
        """Run one operation by name."""
        if operation not in OPERATIONS:
            raise AdapterError(f"unknown operation {operation!r}")
        if spec.status not in STATUSES:
            raise AdapterError(f"unknown service status {spec.status!r}")
        validate_username(spec.username)
        return getattr(self, operation)(spec)


def load_adapters() -> dict[str, type[Adapter]]:
    """All adapters registered under the ``realmbill.provisioning_adapters`` entry points."""
    found: dict[str, type[Adapter]] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            cls = ep.load()
        except ModuleNotFoundError as exc:
            # A registered adapter whose module is not installed (yet): skip it, loudly.
            if exc.name != ep.module:
                raise
            log.warning("provisioning adapter %s: module %s not found", ep.name, ep.module)
            continue
        if not (isinstance(cls, type) and issubclass(cls, Adapter)):
            raise TypeError(f"entry point {ep.name} is not an Adapter subclass")
        found[ep.name] = cls
    return dict(sorted(found.items()))
