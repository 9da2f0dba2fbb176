"""HTTP adapter: call a remote JSON API with templates.

Per operation a request template: the first line is ``METHOD /path`` (values in the path are
percent-encoded), the following lines the JSON body, where every ``{{ value }}`` is written as
a JSON literal (``json.dumps``) so it cannot break the document::

    PUT /subscribers/{{ username }}
    {"name": {{ details.name }}, "plan": {{ plan_code }}, "active": {{ status == "active" }}}

A bearer token (secret) and extra headers (values without CR/LF) are sent; TLS is always
verified (an extra CA can be given); plain http:// only when explicitly allowed. 2xx is
success, 404 on delete means already gone; 5xx, 429 and network errors are transient.
"""

from __future__ import annotations

import json
import re
import ssl
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import quote, urlsplit

from .base import OPERATIONS, Adapter, AdapterError, Field, ServiceSpec, make_environment, render

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
_HEADER_NAME = re.compile(r"^[A-Za-z0-9-]{1,64}$")


def _path_value(value: Any) -> str:
    return quote("" if value is None else str(value), safe="")


def _json_value(value: Any) -> str:
    return json.dumps(value)


def _header_value(value: Any) -> str:
    text = "" if value is None else str(value)
    if _CONTROL.search(text):
        raise AdapterError("a header value contains control characters")
    return text


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class HttpAdapter(Adapter):
    name = "http"
    label = "HTTP JSON API"
    settings_fields = (
        Field("base_url", "Base URL (https://...)", "text", required=True),
        Field("token", "Bearer token", "password", default="", secret=True),
        Field("headers", "Extra headers ('Name: template' per line)", "textarea", default=""),
        Field("ca_pem", "Extra CA certificate (PEM)", "textarea", default=""),
        Field("allow_plain_http", "Allow plain http:// (insecure)", "bool", default=False),
        Field("timeout", "Timeout (seconds)", "int", default=20),
        *[Field(f"request_{op}", f"Request for {op.replace('_', ' ')}", "textarea", default="")
          for op in OPERATIONS],
        Field("request_check", "Request for the connection check", "textarea", default="GET /"),
    )

    def validate(self) -> None:
        s = self.settings
        parts = urlsplit(s["base_url"])
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise AdapterError("setting 'base_url' must be an https:// URL")
        if parts.scheme == "http" and not s["allow_plain_http"]:
            raise AdapterError("setting 'base_url' must use https:// (plain http is not allowed)")
        self.base_url = s["base_url"].rstrip("/")
        try:
            self.context = ssl.create_default_context(cadata=s["ca_pem"] or None)
        except ssl.SSLError:
            raise AdapterError("setting 'ca_pem' cannot be read") from None
        self.url_env = make_environment()
        self.url_env.finalize = _path_value
        self.body_env = make_environment()
        self.body_env.finalize = _json_value
        self.header_env = make_environment()
        self.header_env.finalize = _header_value
        if _CONTROL.search(s["token"]):
            raise AdapterError("setting 'token' contains control characters")
        self.header_templates = []
        for number, line in enumerate(s["headers"].splitlines(), 1):
            if not line.strip():
                continue
            name, sep, template = line.partition(":")
            if not sep or not _HEADER_NAME.match(name.strip()):
                raise AdapterError(f"setting 'headers' line {number}: expected 'Name: value'")
            self.header_templates.append((name.strip(), template.strip()))
        for op in (*OPERATIONS, "check"):
            self._split(op)

    def _split(self, operation: str) -> tuple[str, str, str] | None:
        source = self.settings.get(f"request_{operation}") or ""
        if not source.strip():
            return None
        first, _, body = source.strip().partition("\n")
        method, _, path = first.strip().partition(" ")
        if method.upper() not in _METHODS or not path.strip().startswith("/"):
            raise AdapterError(f"request for {operation}: first line must be 'METHOD /path'")
        try:
            self.url_env.parse(path)
            self.body_env.parse(body)
        except Exception as exc:
            raise AdapterError(f"request for {operation} is invalid: {exc}") from None
        return method.upper(), path.strip(), body.strip()

    def request(self, operation: str, spec: ServiceSpec | None) -> str:
        parsed = self._split(operation)
        if parsed is None:
            return f"{operation}: nothing configured"
        method, path_t, body_t = parsed
        ctx = (spec or ServiceSpec(username="")).context(operation=operation)
        path = render(self.url_env, path_t, ctx, what=f"URL for {operation}")
        data = None
        headers = {"Accept": "application/json", "User-Agent": "realmbill-provisioning"}
        if body_t:
            text = render(self.body_env, body_t, ctx, what=f"body for {operation}")
            try:
                json.loads(text)
            except ValueError:
                raise AdapterError(f"body for {operation} is not valid JSON") from None
            data = text.encode()
            headers["Content-Type"] = "application/json"
        for name, template in self.header_templates:
            headers[name] = render(self.header_env, template, ctx, what=f"header {name}")
        if self.settings["token"]:
            headers["Authorization"] = f"Bearer {self.settings['token']}"
        req = urllib.request.Request(self.base_url + path, data=data, method=method,  # noqa: S310
                                     headers=headers)
        opener = urllib.request.build_opener(
            urllib.request.HTTPSHandler(context=self.context), _NoRedirect())
        try:
            with opener.open(req, timeout=self.settings["timeout"]) as resp:
                status = resp.status
                resp.read()
        except urllib.error.HTTPError as exc:
            status = exc.code
            detail = exc.read()[:200].decode(errors="replace")
            exc.close()
            if operation == "delete" and status == 404:
                return "delete: already absent (404)"
            raise AdapterError(f"{operation}: {method} {path} answered {status} {detail}".strip(),
                               transient=status >= 500 or status == 429) from None
        except urllib.error.URLError as exc:
            reason = exc.reason
            if isinstance(reason, ssl.SSLCertVerificationError):
                raise AdapterError(f"TLS certificate not trusted: {reason.verify_message}") from None
            raise AdapterError(f"cannot reach the API: {reason}", transient=True) from None
        except (OSError, TimeoutError) as exc:
            raise AdapterError(f"cannot reach the API: {exc}", transient=True) from None
        return f"{operation}: {method} {path} -> {status}"

    def create(self, spec):
        return self.request("create", spec)

    def suspend(self, spec):
        return self.request("suspend", spec)

    def resume(self, spec):
        return self.request("resume", spec)

    def delete(self, spec):
        return self.request("delete", spec)

    def update_details(self, spec):
        return self.request("update_details", spec)

    def change_password(self, spec):
        return self.request("change_password", spec)

    def change_plan(self, spec):
        return self.request("change_plan", spec)

    def check(self) -> str:
        return self.request("check", None)
