"""SSH adapter (paramiko): run configured command templates on a host with key auth.

The host key is pinned in the settings; an unknown or changed key is refused during the
handshake, before any command runs (``RejectPolicy``). Values are shell-quoted while the
templates render (see ``commands``). ``SftpUploader`` puts files atomically (temp name +
rename) through the same kind of connection; the radius_file adapter uses it.
"""

from __future__ import annotations

import base64
import contextlib
import io
import posixpath
import socket
import uuid

import paramiko

from .base import Adapter, AdapterError, Field
from .commands import CommandAdapterMixin, CommandTemplates, command_fields

_KEY_CLASSES = (paramiko.Ed25519Key, paramiko.ECDSAKey, paramiko.RSAKey)


def connection_fields(prefix: str = "") -> tuple[Field, ...]:
    return (
        Field(f"{prefix}host", "Host", "text", required=True),
        Field(f"{prefix}port", "Port", "int", default=22),
        Field(f"{prefix}username", "User name", "text", required=True),
        Field(f"{prefix}private_key", "Private key (OpenSSH/PEM)", "textarea", required=True,
              secret=True),
        Field(f"{prefix}private_key_passphrase", "Key passphrase", "password", default="",
              secret=True),
        Field(f"{prefix}host_key", "Pinned host key ('ssh-ed25519 AAAA...')", "text",
              required=True),
        Field(f"{prefix}timeout", "Timeout (seconds)", "int", default=15),
    )


def _load_private_key(text: str, passphrase: str | None) -> paramiko.PKey:
    for cls in _KEY_CLASSES:
        try:
            return cls.from_private_key(io.StringIO(text), password=passphrase or None)
        except paramiko.PasswordRequiredException:
            raise AdapterError("the private key needs a passphrase") from None
        except (paramiko.SSHException, ValueError):
            continue
    raise AdapterError("the private key cannot be read")


def _parse_host_key(line: str) -> paramiko.PKey:
    parts = line.split()
    if len(parts) < 2:
        raise AdapterError("the pinned host key must look like 'ssh-ed25519 AAAA...'")
    try:
        return paramiko.PKey.from_type_string(parts[0], base64.b64decode(parts[1]))
    except (ValueError, paramiko.SSHException, base64.binascii.Error):
        raise AdapterError("the pinned host key cannot be read") from None


class SshConnection:
    """Connection settings (validated) and a context manager giving a connected client."""

    def __init__(self, settings: dict, prefix: str = "") -> None:
        settings = {f.name: f.coerce(settings.get(f.name)) for f in connection_fields(prefix)}
        self.host = settings[f"{prefix}host"]
        self.port = settings[f"{prefix}port"]
        self.username = settings[f"{prefix}username"]
        self.timeout = settings[f"{prefix}timeout"]
        if not (0 < self.port < 65536):
            raise AdapterError(f"setting '{prefix}port' is out of range")
        self.pkey = _load_private_key(settings[f"{prefix}private_key"],
                                      settings[f"{prefix}private_key_passphrase"])
        self.host_key = _parse_host_key(settings[f"{prefix}host_key"])

    @property
    def known_hosts_name(self) -> str:
        return self.host if self.port == 22 else f"[{self.host}]:{self.port}"

    @contextlib.contextmanager
    def client(self):
        client = paramiko.SSHClient()
        client.get_host_keys().add(self.known_hosts_name, self.host_key.get_name(), self.host_key)
        client.set_missing_host_key_policy(paramiko.RejectPolicy())
        try:
            client.connect(
                self.host, port=self.port, username=self.username, pkey=self.pkey,
                timeout=self.timeout, banner_timeout=self.timeout, auth_timeout=self.timeout,
                allow_agent=False, look_for_keys=False,
            )
        except paramiko.BadHostKeyException:
            client.close()
            raise AdapterError("the host key changed: refused (update the pinned key if expected)") from None
        except paramiko.SSHException as exc:
            client.close()
            if "not found in known_hosts" in str(exc):
                raise AdapterError("the host key is not the pinned one: refused") from None
            if isinstance(exc, paramiko.AuthenticationException):
                raise AdapterError("authentication failed") from None
            raise AdapterError(f"SSH error: {exc}", transient=True) from None
        except OSError as exc:
            client.close()
            raise AdapterError(f"cannot reach {self.host}:{self.port}: {exc.strerror or exc}",
                               transient=True) from None
        try:
            yield client
        finally:
            client.close()

    def fingerprint(self) -> str:
        return "SHA256:" + base64.b64encode(
            __import__("hashlib").sha256(self.host_key.asbytes()).digest()
        ).decode().rstrip("=")


def scan_host_key(host: str, port: int = 22, timeout: float = 10) -> str:
    """Fetch a host's key for pinning (shown to the operator to confirm; never trusted blindly)."""
    sock = socket.create_connection((host, port), timeout=timeout)
    transport = paramiko.Transport(sock)
    try:
        transport.start_client(timeout=timeout)
        key = transport.get_remote_server_key()
        return f"{key.get_name()} {key.get_base64()}"
    except paramiko.SSHException as exc:
        raise AdapterError(f"SSH error: {exc}", transient=True) from None
    finally:
        transport.close()
        sock.close()


class SftpUploader:
    """Upload bytes atomically: write ``.<name>.<random>.tmp`` in the target directory, rename."""

    def __init__(self, connection: SshConnection) -> None:
        self.connection = connection

    def upload(self, remote_path: str, data: bytes, mode: int = 0o640) -> str:
        directory, name = posixpath.split(remote_path)
        tmp = posixpath.join(directory, f".{name}.{uuid.uuid4().hex[:8]}.tmp")
        with self.connection.client() as client, client.open_sftp() as sftp:
            try:
                with sftp.open(tmp, "wb") as fh:
                    fh.write(data)
                sftp.chmod(tmp, mode)
                sftp.posix_rename(tmp, remote_path)
            except OSError as exc:
                with contextlib.suppress(OSError):
                    sftp.remove(tmp)
                raise AdapterError(f"SFTP upload of {remote_path} failed: {exc}") from None
        return f"uploaded {len(data)} bytes to {remote_path} by SFTP"

    def download(self, remote_path: str) -> bytes | None:
        with self.connection.client() as client, client.open_sftp() as sftp:
            try:
                with sftp.open(remote_path, "rb") as fh:
                    return fh.read()
            except FileNotFoundError:
                return None


class SshAdapter(CommandAdapterMixin, Adapter):
    name = "ssh"
    label = "SSH commands"
    settings_fields = (*connection_fields(), *command_fields({"check": "true"}))

    def validate(self) -> None:
        self.connection = SshConnection(self.settings)
        self.templates = CommandTemplates(self.settings)

    def _session(self):
        return self.connection.client()

    def _run_line(self, client: paramiko.SSHClient, line: str) -> tuple[int, str, str]:
        try:
            stdin, stdout, stderr = client.exec_command(line, timeout=self.connection.timeout)
            stdin.close()
            out = stdout.read().decode(errors="replace").strip()
            err = stderr.read().decode(errors="replace").strip()
            code = stdout.channel.recv_exit_status()
        except (paramiko.SSHException, OSError, TimeoutError) as exc:
            raise AdapterError(f"command failed to run: {exc}", transient=True) from None
        return code, out, err

    def check(self) -> str:
        result = self._run_operation("check", None)
        return f"{self.connection.known_hosts_name} ({self.connection.fingerprint()}): {result}"
