"""FreeRADIUS ``users`` file adapter.

The adapter owns one block per realm in the users file::

    # BEGIN realmbill realm=<realm> (managed, do not edit)
    # realmbill user=alice
    "alice"    Cleartext-Password := 'secret', Simultaneous-Use := 1
        Framed-IP-Address = 10.0.0.5,
        Session-Timeout = 3600,
        Mikrotik-Rate-Limit = '10M/10M'
    # END realmbill realm=<realm>

Everything outside the block is kept. Each operation parses the block, replaces (or removes)
the one user's entry and writes the file atomically (temp file in the same directory, fsync,
rename) under an exclusive lock, so it is idempotent per user. Suspended users get
``Auth-Type := Reject`` (their password is kept in the entry, so resume needs none). Values are validated (IP, integers, rate-limit syntax) and strings are
written single-quoted (no ``%{...}`` expansion) with ``\\`` and ``'`` escaped; control
characters are refused. Optionally the file is uploaded (SFTP or FTP) and a reload command
(argv, no shell, e.g. ``kill -HUP <pid>`` or ``systemctl reload freeradius``) runs.

FreeRADIUS re-reads the file on HUP only if its whole-second mtime changed (so writes keep
the mtimes strictly increasing) and ignores a module HUP within about 2 s of that module's
last load: where operations come in bursts, prefer a restart as reload command, or a second
HUP a few seconds later.
"""

from __future__ import annotations

import contextlib
import fcntl
import ipaddress
import os
import re
import shlex
import tempfile
from dataclasses import replace

from .base import Adapter, AdapterError, Field, ServiceSpec, validate_username
from .ssh import SftpUploader, SshConnection, connection_fields

RATE_LIMIT_ATTRIBUTES = (
    ("Mikrotik-Rate-Limit", "Mikrotik-Rate-Limit (e.g. 10M/2M)"),
    ("WISPr-Bandwidth-Max-Down", "WISPr-Bandwidth-Max-Down (bit/s)"),
    ("", "none"),
)
_REALM_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_RATE_RE = re.compile(r"^[0-9A-Za-z/ .:-]{1,64}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_USER_MARK = "# realmbill user="


def quote(value: str) -> str:
    """A FreeRADIUS single-quoted string (literal, no xlat expansion)."""
    if _CONTROL.search(value):
        raise AdapterError("a value contains control characters")
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def unquote(text: str) -> str:
    assert text[0] == "'" and text[-1] == "'"
    return re.sub(r"\\(.)", r"\1", text[1:-1])


class RadiusFileAdapter(Adapter):
    name = "radius_file"
    label = "FreeRADIUS users file"
    settings_fields = (
        Field("path", "Users file (local path)", "text", required=True),
        Field("rate_limit_attribute", "Rate-limit reply attribute", "select",
              default="Mikrotik-Rate-Limit", choices=RATE_LIMIT_ATTRIBUTES),
        Field("plan_rate_limits", "Rate limit per plan ('plan_code: value' per line)",
              "textarea", default=""),
        Field("suspended_message", "Reply-Message for suspended users", "text",
              default="Account suspended"),
        Field("upload", "Upload the file", "select", default="none",
              choices=(("none", "no (local file)"), ("sftp", "SFTP"), ("ftp", "FTP/FTPS"))),
        Field("remote_path", "Remote path of the users file", "text", default=""),
        *[replace(f, required=False) for f in connection_fields("sftp_")],
        Field("ftp_host", "FTP host", "text", default=""),
        Field("ftp_port", "FTP port", "int", default=21),
        Field("ftp_username", "FTP user", "text", default=""),
        Field("ftp_password", "FTP password", "password", default="", secret=True),
        Field("ftp_tls", "FTPS (explicit TLS)", "bool", default=True),
        Field("ftp_ca_pem", "FTPS CA certificate (PEM)", "textarea", default=""),
        Field("reload_command", "Reload command (argv, no shell)", "text", default=""),
        Field("reload_timeout", "Reload timeout (seconds)", "int", default=30),
    )

    def validate(self) -> None:
        s = self.settings
        directory = os.path.dirname(os.path.abspath(s["path"]))
        if not os.path.isdir(directory):
            raise AdapterError("the directory of setting 'path' does not exist")
        self.plan_rates: dict[str, str] = {}
        for number, line in enumerate(s["plan_rate_limits"].splitlines(), 1):
            if not line.strip():
                continue
            plan, sep, value = line.partition(":")
            if not sep or not plan.strip():
                raise AdapterError(f"setting 'plan_rate_limits' line {number}: expected 'plan: value'")
            self.plan_rates[plan.strip()] = self._rate_value(value.strip())
        quote(s["suspended_message"])
        self.uploader = None
        if s["upload"] != "none" and not s["remote_path"]:
            raise AdapterError("setting 'remote_path' is required for an upload")
        if s["upload"] == "sftp":
            self.uploader = SftpUploader(SshConnection(s, prefix="sftp_"))
        elif s["upload"] == "ftp":
            from .ftp import FtpConnection

            self.uploader = FtpConnection(
                host=s["ftp_host"], port=s["ftp_port"], username=s["ftp_username"],
                password=s["ftp_password"], tls=s["ftp_tls"], ca_pem=s["ftp_ca_pem"])
        self.reload_argv: list[str] = []
        if s["reload_command"]:
            try:
                self.reload_argv = shlex.split(s["reload_command"])
            except ValueError:
                raise AdapterError("setting 'reload_command' cannot be split into arguments") from None

    # -- values --------------------------------------------------------------------------
    def _rate_value(self, value) -> str:
        attribute = self.settings["rate_limit_attribute"]
        text = str(value).strip()
        if attribute == "WISPr-Bandwidth-Max-Down":
            if not text.isdigit() or not 0 < int(text) < 2**32:
                raise AdapterError("rate limit must be a number of bit/s")
            return text
        if not _RATE_RE.match(text):
            raise AdapterError("rate limit contains characters that are not allowed")
        return quote(text)

    def render_entry(self, spec: ServiceSpec, old_password: str | None = None) -> str:
        username = validate_username(spec.username)
        lines = [f"{_USER_MARK}{username}"]
        password = spec.password or old_password
        if password and len(password.encode()) > 128:
            raise AdapterError("password longer than 128 bytes")
        if spec.status == "suspended":
            # Auth-Type := Reject wins; the password stays so that resume can restore it
            check = "Auth-Type := Reject" + (f", Cleartext-Password := {quote(password)}"
                                             if password else "")
            lines.append(f'"{username}"\t{check}')
            lines.append(f"\tReply-Message = {quote(self.settings['suspended_message'])}")
            return "\n".join(lines)
        if not password:
            raise AdapterError("no password for this user (cannot write an active entry)")
        check = [f"Cleartext-Password := {quote(password)}"]
        attrs = spec.attributes
        reply = []
        if attrs.get("simultaneous_use") not in (None, ""):
            check.append(f"Simultaneous-Use := {_int(attrs['simultaneous_use'], 'simultaneous_use', 1)}")
        framed_ip = attrs.get("framed_ip") or spec.details.get("ip")
        if framed_ip:
            try:
                ip = ipaddress.IPv4Address(str(framed_ip).strip())
            except ValueError:
                raise AdapterError("framed IP is not an IPv4 address") from None
            reply.append(f"Framed-IP-Address = {ip}")
        if attrs.get("session_timeout") not in (None, ""):
            reply.append(f"Session-Timeout = {_int(attrs['session_timeout'], 'session_timeout', 1)}")
        attribute = self.settings["rate_limit_attribute"]
        if attribute:
            if attrs.get("rate_limit") not in (None, ""):
                rate = self._rate_value(attrs["rate_limit"])
            else:
                rate = self.plan_rates.get(spec.plan_code or "")
            if rate:
                reply.append(f"{attribute} = {rate}")
        lines.append(f'"{username}"\t' + ", ".join(check))
        for i, item in enumerate(reply):
            lines.append("\t" + item + ("," if i < len(reply) - 1 else ""))
        return "\n".join(lines)

    # -- file ----------------------------------------------------------------------------
    def _markers(self, realm: str) -> tuple[str, str]:
        if not _REALM_RE.match(realm or ""):
            raise AdapterError("realm name cannot be used in the users file")
        return (f"# BEGIN realmbill realm={realm} (managed, do not edit)",
                f"# END realmbill realm={realm}")

    def parse(self, text: str, realm: str) -> tuple[str, dict[str, str], str]:
        """Split the file into (before, {user: entry}, after)."""
        begin, end = self._markers(realm)
        lines = text.splitlines()
        try:
            start = lines.index(begin)
        except ValueError:
            return text.rstrip("\n"), {}, ""
        try:
            stop = lines.index(end, start)
        except ValueError:
            raise AdapterError("the managed block in the users file has no END line") from None
        entries: dict[str, str] = {}
        current = None
        for line in lines[start + 1 : stop]:
            if line.startswith(_USER_MARK):
                current = line[len(_USER_MARK):]
                entries[current] = line
            elif current is not None and line.strip():
                entries[current] += "\n" + line
        return "\n".join(lines[:start]).rstrip("\n"), entries, "\n".join(lines[stop + 1 :])

    @staticmethod
    def entry_password(entry: str | None) -> str | None:
        if not entry:
            return None
        m = re.search(r"Cleartext-Password := ('(?:[^'\\]|\\.)*')", entry)
        return unquote(m.group(1)) if m else None

    def compose(self, before: str, entries: dict[str, str], after: str, realm: str) -> str:
        begin, end = self._markers(realm)
        parts = []
        if before:
            parts.append(before + "\n\n")
        if entries:
            block = "\n\n".join(entries[name] for name in sorted(entries))
            parts.append(f"{begin}\n{block}\n{end}\n")
        if after.strip():
            parts.append(after.rstrip("\n") + "\n")
        return "".join(parts)

    @contextlib.contextmanager
    def _locked(self):
        path = os.path.abspath(self.settings["path"])
        with open(path + ".lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield path
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _write(self, path: str, content: str) -> None:
        directory = os.path.dirname(path)
        fd, tmp = tempfile.mkstemp(prefix=".users.", dir=directory)
        try:
            with os.fdopen(fd, "w") as fh:
                fh.write(content)
                fh.flush()
                os.fsync(fh.fileno())
            try:
                previous = os.stat(path)
            except FileNotFoundError:
                previous = None
            os.chmod(tmp, previous.st_mode & 0o777 if previous else 0o640)
            if previous is not None:
                # FreeRADIUS reloads on HUP only when the whole-second mtime changed: keep the
                # mtimes strictly increasing even for several writes within one second.
                mtime = os.stat(tmp).st_mtime_ns
                if mtime // 10**9 <= previous.st_mtime_ns // 10**9:
                    bumped = (previous.st_mtime_ns // 10**9 + 1) * 10**9
                    os.utime(tmp, ns=(bumped, bumped))
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    def _update(self, spec: ServiceSpec, operation: str, *, remove: bool = False) -> str:
        realm = spec.realm
        with self._locked() as path:
            try:
                with open(path) as fh:
                    text = fh.read()
            except FileNotFoundError:
                text = ""
            before, entries, after = self.parse(text, realm)
            old = entries.get(spec.username)
            if remove:
                entries.pop(spec.username, None)
                action = "removed" if old else "absent (nothing to do)"
            else:
                entries[spec.username] = self.render_entry(spec, self.entry_password(old))
                action = "unchanged" if old == entries[spec.username] else ("updated" if old else "added")
            content = self.compose(before, entries, after, realm)
            if content != text:
                self._write(path, content)
            summary = f"{operation}: {spec.username} {action} in {os.path.basename(path)}"
            if self.uploader is not None:
                self.uploader.upload(self.settings["remote_path"], content.encode())
                summary += f"; uploaded by {self.settings['upload'].upper()}"
        if self.reload_argv:
            self._reload()
            summary += "; reload signalled"
        return summary

    def _reload(self) -> None:
        from .cli import CliAdapter

        runner = CliAdapter({"timeout": self.settings["reload_timeout"]})
        code, _out, err = runner.run_argv(self.reload_argv)
        if code != 0:
            raise AdapterError(f"reload command exited with status {code}: {err[:200]}",
                               transient=True)

    # -- operations ----------------------------------------------------------------------
    def create(self, spec):
        return self._update(spec if spec.status != "deleted" else replace(spec, status="active"), "create")

    def suspend(self, spec):
        return self._update(replace(spec, status="suspended"), "suspend")

    def resume(self, spec):
        return self._update(replace(spec, status="active"), "resume")

    def update_details(self, spec):
        return self._update(spec, "update_details")

    def change_password(self, spec):
        if not spec.password:
            raise AdapterError("change_password: no password given")
        return self._update(spec, "change_password")

    def change_plan(self, spec):
        return self._update(spec, "change_plan")

    def delete(self, spec):
        return self._update(spec, "delete", remove=True)

    def check(self) -> str:
        path = os.path.abspath(self.settings["path"])
        directory = os.path.dirname(path)
        if not os.access(directory, os.W_OK):
            raise AdapterError("the users file directory is not writable")
        parts = [f"{path} writable"]
        if self.uploader is not None:
            self.uploader.download(self.settings["remote_path"])
            parts.append(f"{self.settings['upload'].upper()} reachable")
        if self.reload_argv:
            parts.append(f"reload with {self.reload_argv[0]}")
        return ", ".join(parts)


def _int(value, name: str, minimum: int) -> int:
    try:
        number = int(str(value).strip())
    except ValueError:
        raise AdapterError(f"{name} must be a whole number") from None
    if not minimum <= number < 2**31:
        raise AdapterError(f"{name} is out of range")
    return number
