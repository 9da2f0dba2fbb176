"""LDAP directory adapter (ldap3): one entry per service under a base DN.

Entries get a configurable objectClass set and attributes from a template map (one
``attribute: template`` per line; an empty result removes the attribute). Passwords are
stored as ``{SSHA}`` hashes made here, or set server-side with the Password Modify extended
operation. A suspended entry keeps its hash in a locked form (``{SSHA}!...``) that no bind
can match; resuming unlocks it. TLS (LDAPS or StartTLS) always validates the certificate.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import ssl
import warnings
from urllib.parse import urlsplit

import ldap3
from ldap3.core import exceptions as lexc
from ldap3.utils.conv import escape_filter_chars
from ldap3.utils.dn import escape_rdn, parse_dn

from .base import Adapter, AdapterError, Field, ServiceSpec, make_environment, render

DEFAULT_MAP = """cn: {{ details.name or username }}
sn: {{ (details.name or username).split()[-1] }}
givenName: {{ (details.name or '').split()[0] if (details.name or '').split() else '' }}
mail: {{ details.email or '' }}
telephoneNumber: {{ details.phone or '' }}
"""

LOCK = "!"


def ssha(password: str, salt: bytes | None = None) -> str:
    salt = salt if salt is not None else os.urandom(8)
    digest = hashlib.sha1(password.encode() + salt).digest()  # noqa: S324 - {SSHA} is SHA-1 by definition
    return "{SSHA}" + base64.b64encode(digest + salt).decode()


def ssha_matches(stored: str, password: str) -> bool:
    if not stored.startswith("{SSHA}"):
        return False
    try:
        raw = base64.b64decode(stored[6:], validate=True)
    except ValueError:
        return False
    if len(raw) <= 20:
        return False
    return hmac.compare_digest(ssha(password, raw[20:]), stored)


def lock_hash(value: str) -> str:
    if value.startswith("{") and "}" in value:
        scheme, rest = value.split("}", 1)
        return value if rest.startswith(LOCK) else f"{scheme}}}{LOCK}{rest}"
    return "{SSHA}" + LOCK + base64.b64encode(os.urandom(24)).decode()  # cleartext: replace


def unlock_hash(value: str) -> str:
    if value.startswith("{") and "}" in value:
        scheme, rest = value.split("}", 1)
        if rest.startswith(LOCK):
            return f"{scheme}}}{rest[len(LOCK):]}"
    return value


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class LdapAdapter(Adapter):
    name = "ldap"
    label = "LDAP directory"
    settings_fields = (
        Field("url", "Server URL (ldap:// or ldaps://)", "text", required=True),
        Field("start_tls", "Use StartTLS on ldap://", "bool", default=True),
        Field("ca_file", "CA certificate file (PEM)", "text", default=""),
        Field("ca_pem", "CA certificate (PEM text)", "textarea", default=""),
        Field("bind_dn", "Bind DN", "text", required=True),
        Field("bind_password", "Bind password", "password", required=True, secret=True),
        Field("base_dn", "Base DN of the entries", "text", required=True),
        Field("rdn_attribute", "RDN attribute", "text", default="uid"),
        Field("object_classes", "Object classes (comma separated)", "text",
              default="top, person, organizationalPerson, inetOrgPerson"),
        Field("attribute_map", "Attributes (one 'name: template' per line)", "textarea",
              default=DEFAULT_MAP),
        Field("suspended_attribute_map", "Attributes while suspended", "textarea", default=""),
        Field("password_mode", "Password storage", "select", default="ssha",
              choices=(("ssha", "{SSHA} hash"), ("server", "Server side (Password Modify)"))),
        Field("timeout", "Timeout (seconds)", "int", default=10),
    )

    def validate(self) -> None:
        s = self.settings
        parts = urlsplit(s["url"])
        if parts.scheme not in ("ldap", "ldaps") or not parts.hostname:
            raise AdapterError("setting 'url' must look like ldap://host:port or ldaps://host:port")
        try:
            self.port = parts.port or (636 if parts.scheme == "ldaps" else 389)
        except ValueError:
            raise AdapterError("setting 'url' has a bad port") from None
        self.host = parts.hostname
        self.use_ssl = parts.scheme == "ldaps"
        for key in ("bind_dn", "base_dn"):
            try:
                parse_dn(s[key])
            except lexc.LDAPInvalidDnError:
                raise AdapterError(f"setting {key!r} is not a valid DN") from None
        if not s["rdn_attribute"].replace("-", "").isalnum():
            raise AdapterError("setting 'rdn_attribute' is not an attribute name")
        self.object_classes = [c.strip() for c in s["object_classes"].split(",") if c.strip()]
        if not self.object_classes:
            raise AdapterError("setting 'object_classes' is empty")
        self.env = make_environment()
        self.attribute_map = self._parse_map(s["attribute_map"], "attribute_map")
        self.suspended_map = self._parse_map(s["suspended_attribute_map"], "suspended_attribute_map")
        if s["ca_file"] and not os.path.isfile(s["ca_file"]):
            raise AdapterError("setting 'ca_file' does not exist")

    def _parse_map(self, text: str, setting: str) -> dict[str, str]:
        result = {}
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            name, sep, template = line.partition(":")
            name = name.strip()
            if not sep or not name.replace("-", "").replace(";", "").isalnum():
                raise AdapterError(f"setting {setting!r} line {number}: expected 'attribute: template'")
            if name.lower() in ("userpassword", "objectclass", self.settings["rdn_attribute"].lower()):
                raise AdapterError(f"setting {setting!r} line {number}: {name} is managed by the adapter")
            try:
                self.env.parse(template)
            except Exception as exc:
                raise AdapterError(f"setting {setting!r} line {number}: {exc}") from None
            result[name] = template.strip()
        return result

    # -- connection ------------------------------------------------------------------------
    def _tls(self) -> ldap3.Tls:
        return ldap3.Tls(
            validate=ssl.CERT_REQUIRED,
            version=ssl.PROTOCOL_TLS_CLIENT,
            ca_certs_file=self.settings["ca_file"] or None,
            ca_certs_data=self.settings["ca_pem"] or None,
        )

    def _connect(self) -> ldap3.Connection:
        s = self.settings
        tls_wanted = self.use_ssl or s["start_tls"]
        server = ldap3.Server(self.host, port=self.port, use_ssl=self.use_ssl,
                              tls=self._tls() if tls_wanted else None,
                              connect_timeout=s["timeout"], get_info=ldap3.NONE)
        conn = ldap3.Connection(server, s["bind_dn"], s["bind_password"],
                                receive_timeout=s["timeout"], raise_exceptions=False)
        try:
            with warnings.catch_warnings():
                # ldap3 checks the host name with ssl.match_hostname (deprecated, still correct)
                warnings.filterwarnings("ignore", r"ssl\.match_hostname", DeprecationWarning)
                conn.open()
                if s["start_tls"] and not self.use_ssl and not conn.start_tls():
                    raise AdapterError("StartTLS was refused by the server", transient=True)
            if not conn.bind():
                raise AdapterError(f"bind failed: {conn.result.get('description')}")
        except AdapterError:
            _close(conn)
            raise
        except (lexc.LDAPSocketOpenError, lexc.LDAPSocketReceiveError,
                lexc.LDAPSocketSendError, lexc.LDAPSessionTerminatedByServerError) as exc:
            _close(conn)
            transient = "certificate" not in str(exc).lower() and "ssl" not in str(exc).lower()
            raise AdapterError(f"cannot reach the directory: {_short(exc)}", transient=transient) from None
        except (lexc.LDAPStartTLSError, ssl.SSLError) as exc:
            _close(conn)
            raise AdapterError(f"TLS failed: {_short(exc)}") from None
        except lexc.LDAPException as exc:
            _close(conn)
            raise AdapterError(f"LDAP error: {_short(exc)}") from None
        return conn

    def _fail(self, conn: ldap3.Connection, what: str) -> AdapterError:
        result = conn.result or {}
        code = result.get("result")
        transient = code in (51, 52, 53, 80)  # busy, unavailable, unwilling, other
        return AdapterError(
            f"{what}: {result.get('description')} {result.get('message') or ''}".strip(),
            transient=transient,
        )

    # -- entries ---------------------------------------------------------------------------
    def dn_for(self, username: str) -> str:
        return f"{self.settings['rdn_attribute']}={escape_rdn(username)},{self.settings['base_dn']}"

    def search_filter(self, username: str) -> str:
        rdn = self.settings["rdn_attribute"]
        return f"({rdn}={escape_filter_chars(username)})"

    def _find(self, conn: ldap3.Connection, username: str) -> tuple[str, dict] | None:
        ok = conn.search(self.settings["base_dn"], self.search_filter(username),
                         search_scope=ldap3.SUBTREE, attributes=["*"])
        if not ok:
            if conn.result.get("result") == 32:  # noSuchObject: base missing
                raise self._fail(conn, "base DN not found")
            return None
        entries = [r for r in conn.response if r.get("type") == "searchResEntry"]
        if len(entries) > 1:
            raise AdapterError(f"{len(entries)} entries match this username")
        if not entries:
            return None
        return entries[0]["dn"], entries[0]["raw_attributes"]

    def _render_attributes(self, spec: ServiceSpec) -> dict[str, str]:
        ctx = spec.context()
        mapping = dict(self.attribute_map)
        if spec.status == "suspended":
            mapping.update(self.suspended_map)
        values = {}
        for name, template in mapping.items():
            values[name] = render(self.env, template, ctx, what=f"attribute {name}").strip()
        for name in self.suspended_map:
            if spec.status != "suspended" and name not in self.attribute_map:
                values[name] = ""
        return values

    def _password_value(self, spec: ServiceSpec, existing: list[str]) -> str | None:
        """The userPassword to store (None: leave as is)."""
        if self.settings["password_mode"] == "ssha" and spec.password:  # noqa: S105
            current = [unlock_hash(v) for v in existing]
            match = next((v for v in current if ssha_matches(v, spec.password)), None)
            value = match or ssha(spec.password)
        elif existing:
            value = unlock_hash(existing[0])
        else:
            return None
        return lock_hash(value) if spec.status == "suspended" else value

    def sync(self, spec: ServiceSpec, operation: str) -> str:
        conn = self._connect()
        try:
            found = self._find(conn, spec.username)
            attrs = self._render_attributes(spec)
            if found is None:
                dn = self.dn_for(spec.username)
                new = {k: v for k, v in attrs.items() if v}
                new[self.settings["rdn_attribute"]] = spec.username
                password = self._password_value(spec, [])
                if password:
                    new["userPassword"] = password
                if not conn.add(dn, self.object_classes, new):
                    raise self._fail(conn, f"{operation}: add failed")
                action = "added"
                existing_pw: list[str] = [password] if password else []
            else:
                dn, raw = found
                lower = {k.lower(): k for k in raw}
                changes = {}
                have_classes = {_text(v).lower() for v in raw.get(lower.get("objectclass", ""), [])}
                missing = [c for c in self.object_classes if c.lower() not in have_classes]
                if missing:
                    changes["objectClass"] = [(ldap3.MODIFY_ADD, missing)]
                for name, value in attrs.items():
                    current = [_text(v) for v in raw.get(lower.get(name.lower(), ""), [])]
                    if value and current != [value]:
                        changes[name] = [(ldap3.MODIFY_REPLACE, [value])]
                    elif not value and current:
                        changes[name] = [(ldap3.MODIFY_DELETE, [])]
                existing_pw = [_text(v) for v in raw.get(lower.get("userpassword", ""), [])]
                password = self._password_value(spec, existing_pw)
                if password is not None and existing_pw != [password]:
                    changes["userPassword"] = [(ldap3.MODIFY_REPLACE, [password])]
                if changes and not conn.modify(dn, changes):
                    raise self._fail(conn, f"{operation}: modify failed")
                action = "updated" if changes else "unchanged"
            if self.settings["password_mode"] == "server" and spec.password:  # noqa: S105
                self._server_password(conn, dn, spec)
            return f"{operation}: entry {dn} {action} ({spec.status})"
        finally:
            conn.unbind()

    def _server_password(self, conn: ldap3.Connection, dn: str, spec: ServiceSpec) -> None:
        if not conn.extend.standard.modify_password(dn, new_password=spec.password):
            raise self._fail(conn, "password modify failed")
        if spec.status == "suspended":
            conn.search(dn, "(objectClass=*)", search_scope=ldap3.BASE, attributes=["userPassword"])
            raw = conn.response[0]["raw_attributes"].get("userPassword", []) if conn.response else []
            if raw and not conn.modify(
                dn, {"userPassword": [(ldap3.MODIFY_REPLACE, [lock_hash(_text(raw[0]))])]}
            ):
                raise self._fail(conn, "password lock failed")

    # -- operations ------------------------------------------------------------------------
    def create(self, spec):
        return self.sync(spec, "create")

    def suspend(self, spec):
        return self.sync(_with_status(spec, "suspended"), "suspend")

    def resume(self, spec):
        return self.sync(_with_status(spec, "active"), "resume")

    def update_details(self, spec):
        return self.sync(spec, "update_details")

    def change_password(self, spec):
        if not spec.password:
            raise AdapterError("change_password: no password given")
        return self.sync(spec, "change_password")

    def change_plan(self, spec):
        return self.sync(spec, "change_plan")

    def delete(self, spec):
        conn = self._connect()
        try:
            found = self._find(conn, spec.username)
            if found is None:
                return "delete: no such entry (nothing to do)"
            if not conn.delete(found[0]):
                if conn.result.get("result") == 32:
                    return "delete: no such entry (nothing to do)"
                raise self._fail(conn, "delete failed")
            return f"delete: entry {found[0]} removed"
        finally:
            conn.unbind()

    def check(self) -> str:
        conn = self._connect()
        try:
            if not conn.search(self.settings["base_dn"], "(objectClass=*)",
                               search_scope=ldap3.BASE, attributes=["1.1"]):
                raise self._fail(conn, "base DN not readable")
            tls = "LDAPS" if self.use_ssl else ("StartTLS" if self.settings["start_tls"] else "no TLS")
            return f"connected to {self.host}:{self.port} ({tls}), bound, base DN found"
        finally:
            conn.unbind()


def _with_status(spec: ServiceSpec, status: str) -> ServiceSpec:
    from dataclasses import replace

    return replace(spec, status=status)


def _close(conn: ldap3.Connection) -> None:
    """Unbind, or at least close the socket when the connection is broken (failed TLS)."""
    try:
        conn.unbind()
    except lexc.LDAPException:
        pass
    sock = getattr(conn, "socket", None)
    if sock is not None:
        sock.close()


def _short(exc: Exception) -> str:
    text = " ".join(str(exc).split())
    return text[:200]
