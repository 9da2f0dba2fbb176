"""Session fixture ``sshd``: Debian OpenSSH on 127.0.0.1:<free port>, key auth only, SFTP.

Logs in as the current user with a generated ed25519 client key. ``known_host_line`` is the
pinned host key ("ssh-ed25519 AAAA..."); ``other_host_line`` a key of some other host.
"""

from __future__ import annotations

import getpass
import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from ._proc import free_port, stop, wait_port

SSHD = "/usr/sbin/sshd"


@dataclass
class Sshd:
    host: str
    port: int
    username: str
    private_key: str  # PEM/OpenSSH text
    known_host_line: str  # "ssh-ed25519 AAAA..."
    other_host_line: str
    workdir: str  # a scratch directory the tests may use


def _keygen(path: Path) -> None:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)],  # noqa: S603,S607
                   check=True)


def _pub(path: Path) -> str:
    return " ".join(Path(str(path) + ".pub").read_text().split()[:2])


@pytest.fixture(scope="session")
def sshd():
    os.makedirs("/run/sshd", exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="sshd-") as tmp:
        t = Path(tmp)
        _keygen(t / "host_ed25519")
        _keygen(t / "other_host")
        _keygen(t / "client")
        (t / "authorized_keys").write_text(Path(str(t / "client") + ".pub").read_text())
        (t / "work").mkdir()
        port = free_port()
        (t / "sshd_config").write_text(
            f"Port {port}\nListenAddress 127.0.0.1\nHostKey {t}/host_ed25519\n"
            f"PidFile {t}/sshd.pid\nAuthorizedKeysFile {t}/authorized_keys\n"
            "StrictModes no\nUsePAM no\nPasswordAuthentication no\n"
            "KbdInteractiveAuthentication no\nPubkeyAuthentication yes\n"
            "PermitRootLogin prohibit-password\nSubsystem sftp internal-sftp\n"
            "LogLevel ERROR\n"
        )
        log = t / "sshd.log"
        with open(log, "wb") as fh:
            proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(t / "sshd_config")],  # noqa: S603
                                    stdout=fh, stderr=subprocess.STDOUT)
        try:
            wait_port(port, proc, log=str(log))
            yield Sshd("127.0.0.1", port, getpass.getuser(), (t / "client").read_text(),
                       _pub(t / "host_ed25519"), _pub(t / "other_host"), str(t / "work"))
        finally:
            stop(proc)
