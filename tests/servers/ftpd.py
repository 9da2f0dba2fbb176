"""Session fixture ``ftpd``: pyftpdlib on 127.0.0.1 in a thread, explicit FTPS available
(TLS_FTPHandler with a certificate from the test CA; plain FTP allowed too).

User ``prov`` / ``prov-pw`` with full rights on ``root`` (a temp directory).
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
import warnings
from dataclasses import dataclass

import pytest

from ._proc import free_port
from .tls_ca import make_ca


@dataclass
class Ftpd:
    host: str
    port: int
    username: str
    password: str
    root: str
    ca_file: str
    other_ca_file: str

    @property
    def ca_pem(self) -> str:
        with open(self.ca_file) as fh:
            return fh.read()


@pytest.fixture(scope="session")
def ftpd():
    with warnings.catch_warnings():  # pyftpdlib imports asyncore/asynchat (deprecated in 3.11)
        warnings.simplefilter("ignore", DeprecationWarning)
        from pyftpdlib.authorizers import DummyAuthorizer
        from pyftpdlib.handlers import TLS_FTPHandler
        from pyftpdlib.servers import FTPServer

    logging.getLogger("pyftpdlib").setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="ftpd-") as tmp:
        ca = make_ca(f"{tmp}/tls")
        root = f"{tmp}/root"
        os.mkdir(root)
        authorizer = DummyAuthorizer()
        authorizer.add_user("prov", "prov-pw", root, perm="elradfmwMT")

        class Handler(TLS_FTPHandler):
            pass

        Handler.authorizer = authorizer
        Handler.certfile = ca.cert_file
        Handler.keyfile = ca.key_file
        Handler.tls_control_required = False
        Handler.tls_data_required = False
        Handler.auth_failed_timeout = 0.05
        port = free_port()
        Handler.passive_ports = range(port + 1, port + 40) if port < 65000 else None
        server = FTPServer(("127.0.0.1", port), Handler)
        stop = threading.Event()

        def serve():
            while not stop.is_set():
                server.serve_forever(timeout=0.05, blocking=False, handle_exit=False)
            server.close_all()

        thread = threading.Thread(target=serve, name="ftpd", daemon=True)
        thread.start()
        try:
            yield Ftpd("127.0.0.1", port, "prov", "prov-pw", root, ca.ca_file, ca.other_ca_file)
        finally:
            stop.set()
            thread.join(5)
