"""Session fixture ``nas_simulator`` (and per-test ``nas``): a NAS answering RFC 5176 requests.

A UDP responder on 127.0.0.1 (free port) in a thread, decoding with pyrad (its own
dictionary, independent of the client under test). Every CoA-Request and Disconnect-Request
is recorded with whether its Request Authenticator and Message-Authenticator verify with
the shared secret; a request that does not verify is dropped unanswered, as a NAS does.
Verified requests get the configured answer: ``respond(coa="ack"|"nak"|"drop",
disconnect=..., error_cause=...)``. Replies carry a Message-Authenticator and a proper
Response Authenticator (pyrad's ``ReplyPacket``).
"""

from __future__ import annotations

import io
import socket
import threading
from dataclasses import dataclass, field

import pytest
from pyrad import packet as rp
from pyrad.dictionary import Dictionary

SECRET = "nas-shared-secret-1"

DICTIONARY = """
ATTRIBUTE	User-Name		1	string
ATTRIBUTE	Framed-IP-Address	8	ipaddr
ATTRIBUTE	Acct-Session-Id		44	string
ATTRIBUTE	Event-Timestamp		55	integer
ATTRIBUTE	Message-Authenticator	80	octets
ATTRIBUTE	Error-Cause		101	integer
VENDOR		Mikrotik		14988
BEGIN-VENDOR	Mikrotik
ATTRIBUTE	Mikrotik-Rate-Limit	8	string
END-VENDOR	Mikrotik
VENDOR		WISPr			14122
BEGIN-VENDOR	WISPr
ATTRIBUTE	WISPr-Bandwidth-Max-Up	7	integer
ATTRIBUTE	WISPr-Bandwidth-Max-Down	8	integer
END-VENDOR	WISPr
"""


@dataclass
class Received:
    code: int
    attributes: dict
    authenticator_ok: bool
    message_authenticator_ok: bool

    @property
    def kind(self) -> str:
        return {rp.CoARequest: "coa", rp.DisconnectRequest: "disconnect"}.get(self.code, str(self.code))

    def get(self, name):
        values = self.attributes.get(name)
        return values[0] if values else None


@dataclass
class NasSimulator:
    host: str
    port: int
    secret: str
    requests: list[Received] = field(default_factory=list)
    answers: dict = field(default_factory=dict)
    error_cause: int | None = None

    def respond(self, *, coa: str = "ack", disconnect: str = "ack", error_cause: int | None = None) -> None:
        self.answers = {rp.CoARequest: coa, rp.DisconnectRequest: disconnect}
        self.error_cause = error_cause

    def clear(self) -> None:
        self.requests.clear()
        self.respond()

    def of_kind(self, kind: str) -> list[Received]:
        return [r for r in self.requests if r.kind == kind]


def _serve(sock: socket.socket, sim: NasSimulator, stop: threading.Event, dictionary: Dictionary) -> None:
    secret = sim.secret.encode()
    while not stop.is_set():
        try:
            data, peer = sock.recvfrom(4096)
        except TimeoutError:
            continue
        except OSError:
            return
        try:
            request = rp.CoAPacket(packet=data, secret=secret, dict=dictionary)
        except Exception:  # not a RADIUS packet: a NAS drops it
            continue
        if request.code not in (rp.CoARequest, rp.DisconnectRequest):
            continue
        auth_ok = request.VerifyCoARequest()
        ma_ok = bool(request.message_authenticator) and request.verify_message_authenticator()
        attributes = {}
        for key in request.keys():
            if key == "Message-Authenticator":
                continue
            attributes[key if isinstance(key, str) else str(key)] = list(request[key])
        sim.requests.append(Received(request.code, attributes, auth_ok, ma_ok))
        if not (auth_ok and ma_ok):
            continue
        answer = sim.answers.get(request.code, "ack")
        if answer == "drop":
            continue
        reply = request.CreateReply()
        if answer == "nak":
            reply.code = rp.CoANAK if request.code == rp.CoARequest else rp.DisconnectNAK
            if sim.error_cause is not None:
                reply["Error-Cause"] = sim.error_cause
        reply.add_message_authenticator()
        sock.sendto(reply.ReplyPacket(), peer)


@pytest.fixture(scope="session")
def nas_simulator():
    dictionary = Dictionary(io.StringIO(DICTIONARY))
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.1)
    sim = NasSimulator("127.0.0.1", sock.getsockname()[1], SECRET)
    sim.respond()
    stop = threading.Event()
    thread = threading.Thread(target=_serve, args=(sock, sim, stop, dictionary), name="nas-simulator", daemon=True)
    thread.start()
    try:
        yield sim
    finally:
        stop.set()
        thread.join(timeout=5)
        sock.close()


@pytest.fixture
def nas(nas_simulator):
    nas_simulator.clear()
    yield nas_simulator
    nas_simulator.clear()
