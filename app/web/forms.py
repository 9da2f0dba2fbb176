"""Small helpers for reading HTML forms into service arguments."""

from __future__ import annotations

from flask import request


def text(name: str) -> str:
    return (request.form.get(name) or "").strip()


def optional_text(name: str) -> str | None:
    value = text(name)
    return value or None


def optional_int(name: str) -> int | None:
    value = text(name)
    return int(value) if value.isdigit() else None
