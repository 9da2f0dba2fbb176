"""Session fixture ``slapd``: OpenLDAP on 127.0.0.1 (plain+StartTLS and LDAPS ports), test CA.

Base ``dc=example,dc=com`` with ``ou=people``; admin ``cn=admin,dc=example,dc=com`` / ``secret``.
"""

from __future__ import annotations

import contextlib
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from ._proc import free_port, stop, wait_port
from .tls_ca import make_ca

SLAPD = "/usr/sbin/slapd"


@dataclass
class Slapd:
    host: str
    port: int
    ldaps_port: int
    base_dn: str
    people_dn: str
    admin_dn: str
    admin_password: str
    ca_file: str
    other_ca_file: str

    @property
    def url(self) -> str:
        return f"ldap://{self.host}:{self.port}"

    @property
    def ldaps_url(self) -> str:
        return f"ldaps://{self.host}:{self.ldaps_port}"

    @contextlib.contextmanager
    def connection(self):
        """An admin ldap3 connection (bound), unbound on exit."""
        import ldap3

        server = ldap3.Server(self.host, port=self.port, connect_timeout=5)
        conn = ldap3.Connection(server, self.admin_dn, self.admin_password, receive_timeout=5)
        try:
            assert conn.bind(), conn.result
            yield conn
        finally:
            conn.unbind()

    def entry(self, uid: str) -> dict | None:
        """Attributes of ``uid=<uid>,ou=people`` or None."""
        import ldap3
        from ldap3.utils.dn import escape_rdn

        with self.connection() as conn:
            ok = conn.search(f"uid={escape_rdn(uid)},{self.people_dn}", "(objectClass=*)",
                             search_scope=ldap3.BASE, attributes=["*"])
            if not ok or not conn.entries:
                return None
            return {k: list(v) for k, v in conn.response[0]["raw_attributes"].items()}

    def can_bind(self, uid: str, password: str) -> bool:
        import ldap3
        from ldap3.utils.dn import escape_rdn

        server = ldap3.Server(self.host, port=self.port, connect_timeout=5)
        conn = ldap3.Connection(server, f"uid={escape_rdn(uid)},{self.people_dn}", password,
                                receive_timeout=5)
        try:
            return bool(conn.bind())
        finally:
            conn.unbind()


@pytest.fixture(scope="session")
def slapd():
    with tempfile.TemporaryDirectory(prefix="slapd-") as tmp:
        tmp_path = Path(tmp)
        ca = make_ca(tmp_path / "tls")
        (tmp_path / "db").mkdir()
        port, ldaps_port = free_port(), free_port()
        conf = tmp_path / "slapd.conf"
        conf.write_text(
            "include /etc/ldap/schema/core.schema\n"
            "include /etc/ldap/schema/cosine.schema\n"
            "include /etc/ldap/schema/inetorgperson.schema\n"
            "include /etc/ldap/schema/nis.schema\n"
            "modulepath /usr/lib/ldap\n"
            "moduleload back_mdb\n"
            f"pidfile {tmp}/slapd.pid\n"
            f"argsfile {tmp}/slapd.args\n"
            f"TLSCACertificateFile {ca.ca_file}\n"
            f"TLSCertificateFile {ca.cert_file}\n"
            f"TLSCertificateKeyFile {ca.key_file}\n"
            "password-hash {SSHA}\n"
            "database mdb\n"
            "maxsize 104857600\n"
            'suffix "dc=example,dc=com"\n'
            'rootdn "cn=admin,dc=example,dc=com"\n'
            "rootpw secret\n"
            f"directory {tmp}/db\n"
            "index objectClass eq\n"
            "index uid eq\n"
            "access to attrs=userPassword by anonymous auth by self write by * none\n"
            "access to * by * read\n"
        )
        log = tmp_path / "slapd.log"
        with open(log, "wb") as logfh:
            proc = subprocess.Popen(  # noqa: S603
                [SLAPD, "-d", "0", "-f", str(conf), "-h",
                 f"ldap://127.0.0.1:{port}/ ldaps://127.0.0.1:{ldaps_port}/"],
                stdout=logfh, stderr=subprocess.STDOUT,
            )
        try:
            wait_port(port, proc, log=str(log))
            wait_port(ldaps_port, proc, log=str(log))
            server = Slapd("127.0.0.1", port, ldaps_port, "dc=example,dc=com",
                           "ou=people,dc=example,dc=com", "cn=admin,dc=example,dc=com",
                           "secret", ca.ca_file, ca.other_ca_file)
            with server.connection() as conn:
                conn.add("dc=example,dc=com", ["top", "dcObject", "organization"],
                         {"dc": "example", "o": "Example"})
                conn.add(server.people_dn, ["top", "organizationalUnit"], {"ou": "people"})
                assert conn.result["result"] == 0, conn.result
            yield server
        finally:
            stop(proc)
