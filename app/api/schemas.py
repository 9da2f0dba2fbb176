"""JSON schemas shared by endpoint modules (OpenAPI 3.0 dialect)."""

from __future__ import annotations

from .registry import INT32_MAX, nullable

ID = {"type": "integer", "minimum": 1, "maximum": INT32_MAX}
DECIMAL = {"type": "string", "pattern": r"^\d{1,12}(\.\d{1,6})?$", "maxLength": 19,
           "description": "A non-negative decimal number as a string, e.g. \"12.50\"."}
MONEY = {"type": "string", "description": "An exact decimal amount as a string."}
DATE = {"type": "string", "format": "date"}
DATETIME = {"type": "string", "format": "date-time"}
LIMIT = {"type": "integer", "minimum": 1, "maximum": 1000}


def text(max_length: int, min_length: int = 0) -> dict:
    return {"type": "string", "minLength": min_length, "maxLength": max_length}


def listing(item: dict) -> dict:
    return {"type": "object", "required": ["items"], "properties": {"items": {"type": "array", "items": item}}}


def obj(properties: dict, required: list[str] | None = None, *, closed: bool = True) -> dict:
    schema = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    if closed:
        schema["additionalProperties"] = False
    return schema


__all__ = ["DATE", "DATETIME", "DECIMAL", "ID", "LIMIT", "MONEY", "listing", "nullable", "obj", "text"]
