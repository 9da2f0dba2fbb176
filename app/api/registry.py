"""The API blueprint and the ``endpoint`` decorator every endpoint module uses.

An endpoint declares its path (OpenAPI style, ``/accounts/{account_id}``), method, scope,
summary, query parameters and request/response JSON schemas in one place. The decorator
registers the URL rule, wraps the view with key authentication, the scope check, input
validation and ``Idempotency-Key`` handling, and records the declaration for the OpenAPI
document (openapi.py). Views receive ``body`` (the validated JSON or raw text), ``query``
(validated, typed) and path parameters, and return ``(data, status)`` or a Response.

Adding an area: create ``app/api/<area>.py`` using ``@endpoint(...)``; it is imported by
``app.api.discover_endpoints`` with no central list to edit.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps

from flask import Blueprint, Response, g, request
from jsonschema import Draft7Validator

bp = Blueprint("api", __name__, url_prefix="/api/v1")

INT32_MAX = 2**31 - 1
_PARAM = re.compile(r"\{([a-z_][a-z0-9_]*)\}")


@dataclass
class Endpoint:
    path: str
    method: str
    name: str
    summary: str
    scope: str | None
    tag: str
    path_params: dict[str, dict]
    query: dict[str, dict]
    request: dict | None
    request_types: tuple[str, ...]
    response: dict | None
    status: int
    produces: str
    errors: tuple[int, ...]
    description: str = ""
    request_doc: dict | None = None  # a fuller schema for the document than the one enforced
    example: dict | None = None  # a valid request body (document, tests)
    responses: dict | None = None  # further (or fuller) response objects for the document
    replay_omits: tuple[str, ...] = ()  # top-level keys never stored for an Idempotency-Key replay


ENDPOINTS: list[Endpoint] = []


class ApiError(Exception):
    """An API answer other than success: status, machine code, optional details."""

    def __init__(self, status: int, code: str, message: str = "", **details) -> None:
        super().__init__(message or code)
        self.status = status
        self.code = code
        self.message = message or code.replace("_", " ")
        self.details = details


def nullable(schema: dict) -> dict:
    return {**schema, "nullable": True}


def _json_schema(schema):
    """OpenAPI 3.0 schema → JSON Schema for validation (``nullable`` becomes a null type)."""
    if isinstance(schema, list):
        return [_json_schema(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _json_schema(v) for k, v in schema.items() if k != "nullable"}
    if schema.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"] if isinstance(out["type"], str) else [*out["type"], "null"]
    return out


def _error_path(error) -> str:
    parts = [str(p) for p in error.absolute_path]
    if error.validator == "required":
        missing = re.findall(r"'([^']+)' is a required property", error.message)
        parts += missing[:1]
    elif error.validator == "additionalProperties":
        extra = re.findall(r"'([^']+)' was unexpected", error.message)
        parts += extra[:1]
    return ".".join(parts) or "body"


ERROR_CODES = {
    "required": "required", "additionalProperties": "unknown_key", "type": "wrong_type",
    "maxLength": "too_long", "minLength": "too_short", "maxItems": "too_many", "minItems": "too_few",
    "pattern": "invalid", "enum": "invalid", "maximum": "too_large", "minimum": "too_small",
    "format": "invalid", "minProperties": "required",
}


def validate(schema: dict, value, *, where: str = "body") -> None:
    errors: dict[str, list[str]] = {}
    for error in Draft7Validator(_json_schema(schema)).iter_errors(value):
        path = _error_path(error) if where == "body" else f"{where}.{_error_path(error)}"
        errors.setdefault(path, []).append(ERROR_CODES.get(error.validator, "invalid"))
    if errors:
        raise ApiError(422, "invalid", "the request is not valid", errors=errors)


def check_text(value) -> None:
    """Refuse NUL characters and lone surrogates anywhere in the input (no database takes them)."""
    if isinstance(value, str):
        if "\x00" in value:
            raise ApiError(400, "invalid_characters", "NUL characters are not allowed")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ApiError(400, "invalid_characters", "text must be valid UTF-8") from None
    elif isinstance(value, dict):
        for key, item in value.items():
            check_text(key)
            check_text(item)
    elif isinstance(value, list):
        for item in value:
            check_text(item)


def _parse_query(spec: dict[str, dict]) -> dict:
    values = {}
    for name, schema in spec.items():
        raw = request.args.get(name)
        if raw is None:
            continue
        check_text(raw)
        if schema.get("type") == "integer":
            if not re.fullmatch(r"-?\d{1,12}", raw):
                raise ApiError(422, "invalid", errors={f"query.{name}": ["wrong_type"]})
            values[name] = int(raw)
        elif schema.get("type") == "boolean":
            if raw not in ("true", "false"):
                raise ApiError(422, "invalid", errors={f"query.{name}": ["wrong_type"]})
            values[name] = raw == "true"
        else:
            values[name] = raw
    validate({"type": "object", "properties": spec}, values, where="query")
    return values


def _parse_body(ep: Endpoint):
    if ep.request is None:
        return None
    mimetype = request.mimetype or ""
    if mimetype not in ep.request_types:
        raise ApiError(415, "unsupported_media_type", f"send one of: {', '.join(ep.request_types)}")
    if mimetype == "application/json":
        try:
            body = json.loads(request.get_data(cache=True) or b"null")
        except (ValueError, RecursionError):
            raise ApiError(400, "invalid_json", "the body is not valid JSON") from None
        check_text(body)
        validate(ep.request, body)
        return body
    try:
        text = request.get_data(cache=True).decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError(400, "invalid_characters", "the body is not UTF-8 text") from None
    check_text(text)
    return text


def endpoint(path: str, method: str = "GET", *, summary: str, scope: str | None, tag: str,
             request: dict | None = None, request_types: tuple[str, ...] = ("application/json",),
             response: dict | None = None, status: int = 200, query: dict | None = None,
             produces: str = "application/json", errors: tuple[int, ...] = (),
             description: str = "", request_doc: dict | None = None,
             example: dict | None = None, path_types: dict[str, dict] | None = None,
             responses: dict | None = None, replay_omits: tuple[str, ...] = ()) -> Callable:
    """``path_types`` declares path parameters that are not ids (a string schema with a
    ``pattern``); every other path parameter is an integer id."""
    method = method.upper()
    path_types = path_types or {}

    def decorator(view: Callable) -> Callable:
        params = _PARAM.findall(path)

        def converter(match) -> str:
            name = match.group(1)
            return f"<string:{name}>" if name in path_types else f"<int(max={INT32_MAX}):{name}>"

        rule = _PARAM.sub(converter, path)
        ep = Endpoint(
            path=path, method=method, name=view.__name__, summary=summary, scope=scope, tag=tag,
            path_params={p: path_types.get(p, {"type": "integer", "minimum": 0, "maximum": INT32_MAX})
                         for p in params},
            query=query or {}, request=request, request_types=request_types, response=response,
            status=status, produces=produces, errors=errors, description=description,
            request_doc=request_doc, example=example, responses=responses, replay_omits=replay_omits,
        )

        @wraps(view)
        def wrapper(**kwargs):
            from .auth import require_key
            from .idempotency import run_idempotent

            key = require_key(scope)
            g.api_endpoint = ep
            for name in path_types:
                if not re.fullmatch(path_types[name].get("pattern", ".+"), kwargs.get(name, "")):
                    raise ApiError(404, "not_found", "no such resource")

            def run():
                body = _parse_body(ep)
                query_values = _parse_query(ep.query)
                extra = {}
                if ep.request is not None:
                    extra["body"] = body
                if ep.query:
                    extra["query"] = query_values
                return make_response(view(**kwargs, **extra), ep)

            if method == "POST":
                return run_idempotent(key, run)
            return run()

        bp.add_url_rule(rule, endpoint=view.__name__, view_func=wrapper, methods=[method])
        ENDPOINTS.append(ep)
        return view

    return decorator


def json_response(data, status: int = 200) -> Response:
    return Response(json.dumps(data, separators=(",", ":"), default=str) + "\n", status=status,
                    mimetype="application/json")


def make_response(result, ep: Endpoint) -> Response:
    if isinstance(result, Response):
        return result
    if isinstance(result, tuple):
        data, status = result
    else:
        data, status = result, ep.status
    return json_response(data, status)
