"""The OpenAPI 3 document, generated from the endpoint declarations (registry.py)."""

from __future__ import annotations

from .registry import ENDPOINTS, INT32_MAX, bp, json_response

ERROR_SCHEMA = {
    "type": "object", "required": ["error", "message"],
    "properties": {"error": {"type": "string"}, "message": {"type": "string"}},
    "additionalProperties": True,
}
STATUS_TEXT = {
    400: "Malformed request", 401: "Missing, unknown or revoked API key",
    403: "The key lacks the scope", 404: "Not found (in this realm)",
    409: "Conflict with the current state", 415: "Unsupported media type",
    422: "Invalid input, or an Idempotency-Key reused with another request",
    429: "Rate limit exceeded",
}


def _operation(ep) -> dict:
    op = {
        "operationId": ep.name, "summary": ep.summary, "tags": [ep.tag],
        "security": [{"bearer": []}, {"apiKey": []}],
        "responses": {},
    }
    if ep.description:
        op["description"] = ep.description
    if ep.scope:
        op["x-scope"] = ep.scope
        op["description"] = (op.get("description", "") + f"\n\nScope: `{ep.scope}`").strip()
    params = [{"name": n, "in": "path", "required": True, "schema": s} for n, s in ep.path_params.items()]
    params += [{"name": n, "in": "query", "required": False, "schema": s} for n, s in ep.query.items()]
    if ep.method == "POST":
        params.append({"name": "Idempotency-Key", "in": "header", "required": False,
                       "schema": {"type": "string", "minLength": 1, "maxLength": 255},
                       "description": "Same key and body: the first response is replayed."})
    if params:
        op["parameters"] = params
    if ep.request is not None:
        content = {}
        for media in ep.request_types:
            schema = (ep.request_doc or ep.request) if media == "application/json" else {"type": "string"}
            content[media] = {"schema": schema}
            if ep.example is not None and media == "application/json":
                content[media]["example"] = ep.example
        op["requestBody"] = {"required": True, "content": content}
    if ep.produces == "application/json":
        success = {"description": "OK", "content": {"application/json": {"schema": ep.response or {"type": "object"}}}}
    else:
        success = {"description": "OK", "content": {ep.produces: {"schema": {"type": "string", "format": "binary"}}}}
    if ep.status == 204:
        success = {"description": "Done (no content)"}
    op["responses"][str(ep.status)] = success
    statuses = {401, 403, 429} | set(ep.errors)
    if ep.path_params:
        statuses.add(404)
    if ep.request is not None or ep.query:
        statuses |= {400, 422}
    if ep.request is not None:
        statuses.add(415)
    for status in sorted(statuses):
        op["responses"][str(status)] = {
            "description": STATUS_TEXT.get(status, "Error"),
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
    for status, response in (ep.responses or {}).items():
        op["responses"][str(status)] = response
    return op


def openapi_document() -> dict:
    paths: dict[str, dict] = {}
    for ep in sorted(ENDPOINTS, key=lambda e: (e.path, e.method)):
        paths.setdefault("/api/v1" + ep.path, {})[ep.method.lower()] = _operation(ep)
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Realmbill API", "version": "1.0.0",
            "description": "The realm is chosen by the host name (as for the portal); every key "
                           "belongs to one realm. Amounts are decimal strings.",
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": {"Error": ERROR_SCHEMA},
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "Authorization: Bearer rb_…"},
                "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
            },
        },
        "x-int-max": INT32_MAX,
    }


@bp.route("/openapi.json")
def openapi_json():
    return json_response(openapi_document())
