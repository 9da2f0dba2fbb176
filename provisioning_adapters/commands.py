"""Command templates shared by the ssh, telnet and cli adapters.

Each operation has its own template (one command per line). Every value printed by a
``{{ ... }}`` expression is shell-quoted (``shlex.quote``) by the environment's ``finalize``,
so hostile input stays one word: over SSH the remote shell sees a quoted word, and the cli
adapter splits the rendered line back into an argv list with ``shlex.split`` (no shell).
"""

from __future__ import annotations

import re
import shlex
from typing import Any

from .base import OPERATIONS, AdapterError, Field, ServiceSpec, make_environment, render

_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def _quote(value: Any) -> str:
    if value is None:
        return "''"
    text = str(value)
    if _CONTROL.search(text):
        raise AdapterError("a value contains control characters (newline, NUL ...)")
    return shlex.quote(text)


def command_fields(examples: dict[str, str] | None = None) -> tuple[Field, ...]:
    """One textarea per operation plus the connection check command."""
    examples = examples or {}
    fields = [
        Field(f"command_{op}", f"Commands for {op.replace('_', ' ')}", "textarea",
              default=examples.get(op, ""))
        for op in OPERATIONS
    ]
    fields.append(Field("command_check", "Command for the connection check", "text",
                        default=examples.get("check", "")))
    fields.append(Field("accept_exit_codes", "Exit codes counted as success (comma separated)",
                        "text", default="0"))
    return tuple(fields)


class CommandTemplates:
    """Renders the configured command lines of an operation."""

    def __init__(self, settings: dict) -> None:
        self.settings = settings
        self.env = make_environment()
        self.env.finalize = _quote
        codes = settings.get("accept_exit_codes") or "0"
        try:
            self.accept = {int(c) for c in codes.replace(" ", "").split(",") if c}
        except ValueError:
            raise AdapterError("setting 'accept_exit_codes' must list whole numbers") from None
        for op in (*OPERATIONS, "check"):
            source = settings.get(f"command_{op}") or ""
            try:
                self.env.parse(source)
            except Exception as exc:  # jinja2.TemplateSyntaxError
                raise AdapterError(f"command template for {op} is invalid: {exc}") from None

    def lines(self, operation: str, spec: ServiceSpec | None) -> list[str]:
        source = self.settings.get(f"command_{operation}") or ""
        context = (spec or ServiceSpec(username="")).context(operation=operation)
        text = render(self.env, source, context, what=f"command template for {operation}")
        return [line.strip() for line in text.splitlines() if line.strip()]

    def argv(self, line: str) -> list[str]:
        try:
            return shlex.split(line)
        except ValueError as exc:
            raise AdapterError(f"command line cannot be split: {exc}") from None


def redact(text: str, spec: ServiceSpec | None, secrets: tuple[str, ...] = ()) -> str:
    """Remove passwords from text shown in errors/summaries."""
    for secret in (spec.password if spec else None, *secrets):
        if secret:
            text = text.replace(secret, "***")
            text = text.replace(shlex.quote(secret), "***")
    return text


def short(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class CommandAdapterMixin:
    """Operations implemented as 'render the lines, run each one'."""

    def _run_line(self, session, line: str) -> tuple[int, str, str]:
        raise NotImplementedError

    def _session(self):  # context manager around a group of lines
        raise NotImplementedError

    def _run_operation(self, operation: str, spec: ServiceSpec | None) -> str:
        lines = self.templates.lines(operation, spec)
        if not lines:
            return f"{operation}: nothing configured"
        outputs = []
        with self._session() as session:
            for line in lines:
                code, out, err = self._run_line(session, line)
                if code not in self.templates.accept:
                    shown = redact(short(err or out), spec)
                    raise AdapterError(
                        f"{operation}: command exited with status {code}"
                        + (f": {shown}" if shown else "")
                    )
                outputs.append(out)
        summary = redact(short(" ".join(o for o in outputs if o)), spec)
        return f"{operation}: {len(lines)} command(s) ok" + (f" ({summary})" if summary else "")

    def create(self, spec):
        return self._run_operation("create", spec)

    def suspend(self, spec):
        return self._run_operation("suspend", spec)

    def resume(self, spec):
        return self._run_operation("resume", spec)

    def delete(self, spec):
        return self._run_operation("delete", spec)

    def update_details(self, spec):
        return self._run_operation("update_details", spec)

    def change_password(self, spec):
        return self._run_operation("change_password", spec)

    def change_plan(self, spec):
        return self._run_operation("change_plan", spec)

    def check(self):
        return self._run_operation("check", None)
