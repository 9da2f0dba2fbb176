"""Session fixture ``freeradius``: Debian FreeRADIUS 3 on 127.0.0.1 (auth + acct ports).

A copy of /etc/freeradius/3.0 with a minimal site (preprocess, files, pap), one client
127.0.0.1 with secret ``testing123``. ``users_file`` is the files module's users file
(``mods-config/files/authorize``); after changing it call ``reload()`` (HUP, waits until the
server reloaded) or give an adapter ``reload_command`` and call ``wait_reloaded(count)``.
``authenticate(user, password) -> (accepted, reply)`` uses ``radclient``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from ._proc import free_port, stop

FREERADIUS = shutil.which("freeradius") or "/usr/sbin/freeradius"
RADCLIENT = shutil.which("radclient") or "/usr/bin/radclient"
ETC = Path("/etc/freeradius/3.0")

SITE = """server default {{
listen {{
    type = auth
    ipaddr = 127.0.0.1
    port = {auth_port}
}}
listen {{
    type = acct
    ipaddr = 127.0.0.1
    port = {acct_port}
}}
authorize {{
    preprocess
    files
    pap
}}
authenticate {{
    Auth-Type PAP {{
        pap
    }}
}}
preacct {{
    preprocess
}}
accounting {{
    ok
}}
post-auth {{
    Post-Auth-Type REJECT {{
        attr_filter.access_reject
    }}
}}
}}
"""

_REPLY_RE = re.compile(r"^\s+([A-Za-z0-9-]+) = (.*)$")


@dataclass
class FreeRadius:
    host: str
    auth_port: int
    acct_port: int
    secret: str
    raddb: str
    users_file: str
    log_file: str
    proc: subprocess.Popen | None = field(default=None, repr=False)

    def start(self) -> None:
        with open(self.log_file, "wb") as fh:
            self.proc = subprocess.Popen(  # noqa: S603
                [FREERADIUS, "-f", "-l", "stdout", "-d", self.raddb],
                stdout=fh, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while "Ready to process requests" not in Path(self.log_file).read_text():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                text = Path(self.log_file).read_text()
                stop(self.proc)
                raise RuntimeError("freeradius did not start: " + text[-2000:])
            time.sleep(0.01)

    def stop(self) -> None:
        if self.proc is not None:
            stop(self.proc)

    def reload(self) -> None:
        """Re-read the configuration and users file: a restart (~0.1 s). A HUP is not enough
        in tests: FreeRADIUS ignores a module HUP within 2 s of its last load."""
        self.stop()
        self.start()

    def authenticate(self, user: str, password: str) -> tuple[bool, dict[str, str]]:
        """Access-Request with PAP; returns (accepted, reply attributes as text)."""

        def q(v: str) -> str:
            return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'

        request = f"User-Name = {q(user)}, User-Password = {q(password)}\n"
        proc = subprocess.run(  # noqa: S603
            [RADCLIENT, "-x", "-r", "1", "-t", "3", f"{self.host}:{self.auth_port}", "auth",
             self.secret],
            input=request, capture_output=True, text=True, timeout=15, check=False,
        )
        out = proc.stdout
        if "Received Access-Accept" in out:
            accepted = True
        elif "Received Access-Reject" in out:
            accepted = False
        else:
            raise RuntimeError(f"no answer from freeradius: {out} {proc.stderr}")
        reply: dict[str, str] = {}
        received = out.split("Received Access-", 1)[1]
        for line in received.splitlines()[1:]:
            m = _REPLY_RE.match(line)
            if m:
                value = m.group(2)
                if value.startswith('"') and value.endswith('"'):
                    value = value[1:-1].replace('\\"', '"').replace("\\\\", "\\")
                reply[m.group(1)] = value
        return accepted, reply


def _link_config(raddb: Path) -> None:
    """A config dir made of symlinks into /etc/freeradius/3.0 (copying ~340 files is slow),
    with our own radiusd.conf, clients.conf, site, enabled modules and users file."""
    raddb.mkdir()
    for entry in os.listdir(ETC):
        if entry not in ("radiusd.conf", "clients.conf", "mods-enabled", "sites-enabled",
                         "mods-config"):
            os.symlink(ETC / entry, raddb / entry)
    shutil.copy(ETC / "radiusd.conf", raddb / "radiusd.conf")
    (raddb / "sites-enabled").mkdir()
    (raddb / "mods-enabled").mkdir()
    for name in ("always", "attr_filter", "expr", "files", "pap", "preprocess"):
        os.symlink(ETC / "mods-available" / name, raddb / "mods-enabled" / name)
    (raddb / "mods-config").mkdir()
    for entry in os.listdir(ETC / "mods-config"):
        if entry != "files":
            os.symlink(ETC / "mods-config" / entry, raddb / "mods-config" / entry)
    (raddb / "mods-config" / "files").mkdir()
    for entry in os.listdir(ETC / "mods-config" / "files"):
        if entry != "authorize":
            os.symlink(ETC / "mods-config" / "files" / entry, raddb / "mods-config" / "files" / entry)


@pytest.fixture(scope="session")
def freeradius():
    with tempfile.TemporaryDirectory(prefix="freeradius-") as tmp:
        t = Path(tmp)
        raddb = t / "raddb"
        _link_config(raddb)
        auth_port, acct_port = free_port(), free_port()
        (raddb / "sites-enabled" / "realmbill").write_text(
            SITE.format(auth_port=auth_port, acct_port=acct_port))
        (raddb / "clients.conf").write_text(
            "client localhost {\n    ipaddr = 127.0.0.1\n    secret = testing123\n"
            "    nas_type = other\n}\n")
        conf = (raddb / "radiusd.conf").read_text()
        conf = re.sub(r"(?m)^(\s*)(user|group) = freerad", r"\1#\2 = freerad", conf)
        conf = re.sub(r"(?m)^logdir = .*$", f"logdir = {t}", conf)
        conf = re.sub(r"(?m)^run_dir = .*$", f"run_dir = {t}", conf)
        conf = re.sub(r"(?m)^proxy_requests\s*=.*$", "proxy_requests = no", conf)
        conf = re.sub(r"(?m)^(\s*)reject_delay\s*=.*$", r"\1reject_delay = 0", conf)
        (raddb / "radiusd.conf").write_text(conf)
        users = raddb / "mods-config" / "files" / "authorize"
        users.write_text("# users file for the tests\n")
        server = FreeRadius("127.0.0.1", auth_port, acct_port, "testing123", str(raddb),
                            str(users), str(t / "radiusd.log"))
        server.start()
        try:
            yield server
        finally:
            server.stop()
