"""Telnet adapter (legacy devices only; insecure: credentials travel in clear text).

The same command templates as the ssh adapter, sent over a telnetlib3 session: wait for the
login prompt, send the user, wait for the password prompt, send the password, wait for the
shell prompt (a regex), then one command per line, each answered by the next prompt. A
device has no exit status, so success is judged by an optional error pattern on the output
and/or an optional status command (e.g. ``echo $?``) whose output must be 0.

Each session runs in a worker thread with its own asyncio loop (``asyncio.run``), so nothing
leaks into the caller's loop and everything is closed when the operation ends. Values are
shell-quoted like for ssh, and values with control characters are refused (a newline would
start another command).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import threading

from .base import Adapter, AdapterError, Field
from .commands import CommandAdapterMixin, CommandTemplates, command_fields, redact


def run_in_thread(coro_factory, timeout: float):
    """Run ``coro_factory()`` in a fresh event loop in its own thread; return its result."""
    result: dict = {}

    def target():
        try:
            result["value"] = asyncio.run(asyncio.wait_for(coro_factory(), timeout))
        except BaseException as exc:  # handed to the caller's thread
            result["error"] = exc

    thread = threading.Thread(target=target, name="telnet-session", daemon=True)
    thread.start()
    thread.join(timeout + 5)
    if thread.is_alive():
        raise AdapterError("telnet session did not finish", transient=True)
    if "error" in result:
        raise result["error"]
    return result["value"]


class _Session:
    def __init__(self, reader, writer, timeout: float) -> None:
        self.reader, self.writer, self.timeout = reader, writer, timeout
        self.buffer = ""
        self.matched = ""
        self.which = 0

    async def expect(self, pattern: re.Pattern, what: str, *others: re.Pattern) -> str:
        """Read until ``pattern`` (or one of ``others``) matches the buffer; return the text
        before the match (``self.which`` is the index of the pattern that matched)."""
        while True:
            found = [(m.start(), i, m) for i, p in enumerate((pattern, *others))
                     if (m := p.search(self.buffer))]
            if found:
                _, self.which, match = min(found, key=lambda t: (t[0], t[1]))
                self.matched = match.group(0)
                before = self.buffer[: match.start()]
                self.buffer = self.buffer[match.end():]
                return before
            try:
                chunk = await asyncio.wait_for(self.reader.read(4096), self.timeout)
            except TimeoutError:
                raise AdapterError(f"telnet: no {what} within {self.timeout}s", transient=True) from None
            if not chunk:
                raise AdapterError(f"telnet: connection closed while waiting for {what}",
                                   transient=True)
            self.buffer += chunk.replace("\x00", "")

    def send(self, line: str) -> None:
        self.writer.write(line + "\r\n")


class TelnetAdapter(CommandAdapterMixin, Adapter):
    name = "telnet"
    label = "Telnet commands (legacy, insecure)"
    insecure = True
    settings_fields = (
        Field("host", "Host", "text", required=True),
        Field("port", "Port", "int", default=23),
        Field("username", "User", "text", required=True),
        Field("password", "Password", "password", required=True, secret=True),
        Field("login_prompt", "Login prompt (regex)", "text", default=r"(?i)(login|username):\s*$"),
        Field("password_prompt", "Password prompt (regex)", "text", default=r"(?i)password:\s*$"),
        Field("prompt", "Shell prompt (regex)", "text", required=True, default=r"[#>$]\s*$"),
        Field("login_failed", "Login failure text (regex)", "text",
              default=r"(?i)(incorrect|failed|denied|invalid)"),
        Field("error_pattern", "Error in command output (regex)", "text", default=""),
        Field("status_command", "Status command after each command (e.g. echo $?)", "text",
              default=""),
        Field("status_pattern", "Status in its output (regex, group 1 = number)", "text",
              default=r"(-?\d+)"),
        Field("timeout", "Timeout (seconds)", "int", default=15),
        *command_fields(),
    )

    def validate(self) -> None:
        s = self.settings
        self.patterns = {}
        for key in ("login_prompt", "password_prompt", "prompt", "login_failed",
                    "error_pattern", "status_pattern"):
            try:
                self.patterns[key] = re.compile(s[key], re.M) if s[key] else None
            except re.error as exc:
                raise AdapterError(f"setting {key!r} is not a valid regex: {exc}") from None
        for key in ("username", "password", "status_command"):
            if re.search(r"[\r\n\x00]", s[key]):
                raise AdapterError(f"setting {key!r} contains line breaks")
        self.templates = CommandTemplates(self.settings)

    async def _dialog(self, lines: list[str]) -> list[tuple[int, str]]:
        import telnetlib3

        s = self.settings
        timeout = s["timeout"]
        try:
            reader, writer = await asyncio.wait_for(
                telnetlib3.open_connection(s["host"], s["port"], encoding="utf8",
                                           connect_minwait=0.05, connect_maxwait=0.5,
                                           connect_timeout=timeout),
                timeout)
        except (OSError, TimeoutError) as exc:
            raise AdapterError(f"cannot reach {s['host']}:{s['port']}: {exc}", transient=True) from None
        session = _Session(reader, writer, timeout)
        results = []
        try:
            await session.expect(self.patterns["login_prompt"], "login prompt")
            session.send(s["username"])
            await session.expect(self.patterns["password_prompt"], "password prompt")
            session.send(s["password"])
            failed, prompt = self.patterns["login_failed"], self.patterns["prompt"]
            await session.expect(prompt, "shell prompt", *([failed] if failed else []))
            if session.which == 1:
                raise AdapterError("telnet login refused")
            for line in lines:
                session.send(line)
                out = self._strip_echo(await session.expect(prompt, "prompt after a command"), line)
                code = 0
                if self.patterns["error_pattern"] and self.patterns["error_pattern"].search(out):
                    code = 1
                if s["status_command"]:
                    session.send(s["status_command"])
                    status_out = self._strip_echo(
                        await session.expect(prompt, "prompt after the status command"),
                        s["status_command"])
                    m = self.patterns["status_pattern"].search(status_out)
                    code = code or (int(m.group(1)) if m else 1)
                results.append((code, out))
                if code:
                    break
            with contextlib.suppress(Exception):
                session.send("exit")
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), 2)
        return results

    @staticmethod
    def _strip_echo(text: str, line: str) -> str:
        text = text.replace("\r", "").strip("\n")
        first, _, rest = text.partition("\n")
        return rest.strip() if first.strip() == line.strip() else text.strip()

    def _run_operation(self, operation, spec):
        lines = self.templates.lines(operation, spec)
        if not lines:
            return f"{operation}: nothing configured"
        timeout = self.settings["timeout"] * (2 + 2 * len(lines))
        results = run_in_thread(lambda: self._dialog(lines), timeout)
        for code, out in results:
            if code not in self.templates.accept:
                raise AdapterError(f"{operation}: device reported an error: "
                                   f"{redact(out[:200], spec, (self.settings['password'],))}")
        outputs = " ".join(out for _, out in results if out)
        summary = redact(outputs[:300], spec, (self.settings["password"],))
        return f"{operation}: {len(lines)} command(s) ok" + (f" ({summary})" if summary else "")

    def check(self) -> str:
        lines = self.templates.lines("check", None)
        if lines:
            result = self._run_operation("check", None)
        else:
            run_in_thread(lambda: self._dialog([]), self.settings["timeout"] * 2)
            result = "login ok"
        return f"{self.settings['host']}:{self.settings['port']}: {result} (telnet is unencrypted)"
