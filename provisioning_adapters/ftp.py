"""FTP/FTPS adapter: upload generated files.

Two modes:

* ``per_user``: one file per service, name and content from templates; delete removes it.
* ``user_list``: one shared list file, one line per service (the line starts with
  ``<username><separator>``); the file is downloaded, the user's line replaced or removed, and
  uploaded again.

Uploads go to a temporary name first and are renamed into place. Explicit FTPS (AUTH TLS,
protected data channel) verifies the server certificate. Template values may not contain
control characters (no line injection); file names must be plain names.
"""

from __future__ import annotations

import ftplib
import io
import posixpath
import re
import ssl
import uuid
from dataclasses import replace
from typing import Any

from .base import Adapter, AdapterError, Field, ServiceSpec, make_environment, render

_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_NAME = re.compile(r"^[A-Za-z0-9@+_-][A-Za-z0-9@+_.-]{0,200}$")


def _no_control(value: Any) -> str:
    text = "" if value is None else str(value)
    if _CONTROL.search(text):
        raise AdapterError("a value contains control characters (newline ...)")
    return text


class FtpConnection:
    """A small FTP/FTPS client: upload (atomic), download, delete."""

    def __init__(self, *, host: str, port: int = 21, username: str, password: str,
                 tls: bool = True, ca_pem: str = "", timeout: int = 20) -> None:
        if not host or not username:
            raise AdapterError("FTP host and user are required")
        self.host, self.port, self.username, self.password = host, port, username, password
        self.tls, self.timeout = tls, timeout
        self.context = None
        if tls:
            try:
                self.context = ssl.create_default_context(cadata=ca_pem or None)
            except ssl.SSLError:
                raise AdapterError("the FTPS CA certificate cannot be read") from None

    def _open(self) -> ftplib.FTP:
        if self.tls:
            ftp = ftplib.FTP_TLS(context=self.context, timeout=self.timeout)  # noqa: S321
        else:  # plain FTP only when the operator switched TLS off for a legacy server
            ftp = ftplib.FTP(timeout=self.timeout)  # noqa: S321
        try:
            ftp.connect(self.host, self.port)
            if self.tls:
                ftp.auth()
            ftp.login(self.username, self.password)
            if self.tls:
                ftp.prot_p()
        except ssl.SSLError as exc:
            _close(ftp)
            raise AdapterError(f"FTPS: TLS failed: {exc.reason or exc}") from None
        except ftplib.error_perm as exc:
            _close(ftp)
            raise AdapterError(f"FTP login refused: {str(exc)[:120]}") from None
        except (OSError, EOFError, ftplib.Error) as exc:
            _close(ftp)
            raise AdapterError(f"cannot reach FTP server {self.host}:{self.port}: {exc}",
                               transient=True) from None
        return ftp

    def _run(self, func):
        ftp = self._open()
        try:
            return func(ftp)
        except ftplib.error_perm as exc:
            raise AdapterError(f"FTP: {str(exc)[:160]}") from None
        except (OSError, EOFError, ftplib.Error) as exc:
            raise AdapterError(f"FTP: {exc}", transient=True) from None
        finally:
            try:
                ftp.quit()
            except (OSError, EOFError, ftplib.Error):
                pass
            _close(ftp)

    def upload(self, remote_path: str, data: bytes) -> str:
        directory, name = posixpath.split(remote_path)
        tmp = posixpath.join(directory, f".{name}.{uuid.uuid4().hex[:8]}.tmp")

        def go(ftp):
            ftp.storbinary(f"STOR {tmp}", io.BytesIO(data))
            try:
                ftp.rename(tmp, remote_path)
            except ftplib.error_perm:
                ftp.delete(tmp)
                raise

        self._run(go)
        return f"uploaded {len(data)} bytes to {remote_path} by FTP{'S' if self.tls else ''}"

    def download(self, remote_path: str) -> bytes | None:
        def go(ftp):
            buf = io.BytesIO()
            try:
                ftp.retrbinary(f"RETR {remote_path}", buf.write)
            except ftplib.error_perm as exc:
                if str(exc).startswith("550"):
                    return None
                raise
            return buf.getvalue()

        return self._run(go)

    def delete(self, remote_path: str) -> bool:
        def go(ftp):
            try:
                ftp.delete(remote_path)
            except ftplib.error_perm as exc:
                if str(exc).startswith("550"):
                    return False
                raise
            return True

        return self._run(go)

    def check(self) -> str:
        return self._run(lambda ftp: ftp.pwd())


def _close(ftp: ftplib.FTP) -> None:
    try:
        ftp.close()
    except OSError:
        pass


class FtpAdapter(Adapter):
    name = "ftp"
    label = "FTP/FTPS file upload"
    settings_fields = (
        Field("host", "Host", "text", required=True),
        Field("port", "Port", "int", default=21),
        Field("username", "User", "text", required=True),
        Field("password", "Password", "password", required=True, secret=True),
        Field("tls", "FTPS (explicit TLS, certificate verified)", "bool", default=True),
        Field("ca_pem", "CA certificate (PEM)", "textarea", default=""),
        Field("mode", "Files", "select", default="per_user",
              choices=(("per_user", "one file per user"), ("user_list", "one user list"))),
        Field("remote_dir", "Remote directory", "text", default="/"),
        Field("filename_template", "File name (per user)", "text",
              default="{{ username }}.conf"),
        Field("content_template", "File content (per user)", "textarea",
              default="username={{ username }}\nstatus={{ status }}\nplan={{ plan_code }}\n"),
        Field("list_file", "User list file name", "text", default="users.txt"),
        Field("line_template", "Line per user (starts with the user name)", "text",
              default="{{ username }}:{{ status }}:{{ plan_code }}"),
        Field("separator", "Separator after the user name", "text", default=":"),
        Field("timeout", "Timeout (seconds)", "int", default=20),
    )

    def validate(self) -> None:
        s = self.settings
        self.connection = FtpConnection(host=s["host"], port=s["port"], username=s["username"],
                                        password=s["password"], tls=s["tls"], ca_pem=s["ca_pem"],
                                        timeout=s["timeout"])
        self.env = make_environment(keep_trailing_newline=True)
        self.env.finalize = _no_control
        for key in ("filename_template", "content_template", "line_template"):
            try:
                self.env.parse(s[key])
            except Exception as exc:
                raise AdapterError(f"setting {key!r} is invalid: {exc}") from None
        if not s["remote_dir"].startswith("/"):
            raise AdapterError("setting 'remote_dir' must be absolute")
        if s["mode"] == "user_list" and not _NAME.match(s["list_file"]):
            raise AdapterError("setting 'list_file' must be a plain file name")
        if not s["separator"]:
            raise AdapterError("setting 'separator' is required")

    def _path(self, name: str) -> str:
        if not _NAME.match(name) or ".." in name:
            raise AdapterError("the generated file name is not a plain file name")
        return posixpath.join(self.settings["remote_dir"], name)

    def _sync(self, spec: ServiceSpec, operation: str, *, remove: bool = False) -> str:
        s = self.settings
        ctx = spec.context(operation=operation)
        if s["mode"] == "per_user":
            path = self._path(render(self.env, s["filename_template"], ctx, what="file name"))
            if remove:
                existed = self.connection.delete(path)
                return f"{operation}: {path} {'removed' if existed else 'absent (nothing to do)'}"
            content = render(self.env, s["content_template"], ctx, what="file content")
            return f"{operation}: " + self.connection.upload(path, content.encode())
        path = self._path(s["list_file"])
        key = spec.username + s["separator"]
        current = (self.connection.download(path) or b"").decode()
        lines = [line for line in current.splitlines() if line and not line.startswith(key)]
        if not remove:
            line = render(self.env, s["line_template"], ctx, what="line")
            if not line.startswith(key):
                raise AdapterError("the line template must start with the user name and separator")
            lines.append(line)
        lines.sort()
        content = "".join(line + "\n" for line in lines)
        if content == current:
            return f"{operation}: {path} unchanged"
        return f"{operation}: " + self.connection.upload(path, content.encode())

    def create(self, spec):
        return self._sync(spec, "create")

    def suspend(self, spec):
        return self._sync(replace(spec, status="suspended"), "suspend")

    def resume(self, spec):
        return self._sync(replace(spec, status="active"), "resume")

    def update_details(self, spec):
        return self._sync(spec, "update_details")

    def change_password(self, spec):
        return self._sync(spec, "change_password")

    def change_plan(self, spec):
        return self._sync(spec, "change_plan")

    def delete(self, spec):
        return self._sync(spec, "delete", remove=True)

    def check(self) -> str:
        where = self.connection.check()
        return f"logged in to {self.settings['host']}:{self.settings['port']} " \
               f"({'FTPS' if self.settings['tls'] else 'plain FTP'}), directory {where}"
