"""Session fixture ``http_echo``: a recording HTTPS JSON server in a thread on 127.0.0.1.

It serves TLS with a certificate from the test CA (``ca_file`` / ``ca_pem``). Every request is
recorded in ``requests`` (method, path, headers, body bytes). ``respond(method, path, status,
body)`` sets a canned answer (default 200 ``{"ok": true}``); ``clear()`` resets both.
"""

from __future__ import annotations

import json
import ssl
import tempfile
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from .tls_ca import make_ca


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict
    body: bytes

    def json(self):
        return json.loads(self.body)


@dataclass
class HttpEcho:
    host: str
    port: int
    ca_file: str
    other_ca_file: str
    requests: list = field(default_factory=list)
    responses: dict = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"https://localhost:{self.port}"

    @property
    def ca_pem(self) -> str:
        with open(self.ca_file) as fh:
            return fh.read()

    def respond(self, method: str, path: str, status: int, body=None) -> None:
        self.responses[(method, path)] = (status, body)

    def clear(self) -> None:
        self.requests.clear()
        self.responses.clear()


@pytest.fixture(scope="session")
def http_echo():
    with tempfile.TemporaryDirectory(prefix="http-echo-") as tmp:
        ca = make_ca(tmp)
        state = HttpEcho("127.0.0.1", 0, ca.ca_file, ca.other_ca_file)

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                state.requests.append(
                    Recorded(self.command, self.path, dict(self.headers.items()), body))
                status, answer = state.responses.get((self.command, self.path),
                                                     (200, {"ok": True}))
                data = json.dumps(answer).encode() if answer is not None else b""
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(ca.cert_file, ca.key_file)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        state.port = server.server_address[1]
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                  name="http-echo", daemon=True)
        thread.start()
        try:
            yield state
        finally:
            server.shutdown()
            server.server_close()
            thread.join(5)
