"""Typed failures raised by services; each surface maps them to a response in one place.

Codes are machine words (``"taken"``, ``"required"``), not sentences: pages translate them
(app/web/errors.py), the API returns them as they are, the CLI prints them.
"""

from __future__ import annotations


class ServiceError(Exception):
    code = "error"


class NotFound(ServiceError):
    code = "not_found"

    def __init__(self, what: str) -> None:
        super().__init__(f"{what} not found")
        self.what = what


class NotAllowed(ServiceError):
    def __init__(self, code: str, message: str = "") -> None:
        super().__init__(message or code)
        self.code = code


class Invalid(ServiceError):
    """Field errors: ``{"email": ["required"], "amount": ["not_a_number"]}``."""

    code = "invalid"

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("; ".join(f"{k}: {', '.join(v)}" for k, v in errors.items()))
        self.errors = errors


class FieldErrors:
    """Collects field errors while a service checks its input, then raises once."""

    def __init__(self) -> None:
        self.errors: dict[str, list[str]] = {}

    def add(self, field: str, code: str) -> None:
        self.errors.setdefault(field, []).append(code)

    def require(self, field: str, value) -> None:
        if value is None or (isinstance(value, str) and not value.strip()):
            self.add(field, "required")

    def raise_if_any(self) -> None:
        if self.errors:
            raise Invalid(self.errors)
