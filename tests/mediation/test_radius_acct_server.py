"""The accounting server, driven by real clients: Debian's radclient and pyrad's Client."""

import hashlib
import shutil
import socket
import subprocess
import threading
import time

import pytest
from pyrad.client import Client, Timeout
from pyrad.packet import AccountingResponse, AcctPacket

from app.mediation.counters import WRAP, SessionTracker
from app.mediation.radius_acct_server import AccountingServer, verify_request
from app.mediation.radius_dictionary import load_dictionary
from app.mediation.radius_records import record_id
from app.mediation.records import Reject

SECRET = "testing123"
RADCLIENT = shutil.which("radclient")
needs_radclient = pytest.mark.skipif(
    RADCLIENT is None, reason="radclient (freeradius-utils) not installed"
)


class Recorder:
    """A handle_batch that records its batches; can be told to fail or to block."""

    def __init__(self):
        self.batches = []
        self.fail = 0  # fail this many calls
        self.gate = None  # a threading.Event to wait for before returning

    def __call__(self, events):
        if self.gate is not None:
            self.gate.wait(10)
        if self.fail:
            self.fail -= 1
            raise RuntimeError("database is down")
        self.batches.append(list(events))

    @property
    def events(self):
        return [e for batch in self.batches for e in batch]


@pytest.fixture
def start_server():
    servers = []

    def start(handler=None, **options):
        handler = handler or Recorder()
        server = AccountingServer("127.0.0.1", 0, {"127.0.0.1": SECRET}, handler, **options)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        servers.append((server, thread))
        return server, handler

    yield start
    for server, thread in servers:
        server.shutdown()
        thread.join(5)
        assert not thread.is_alive()
        server.server_close()


@pytest.fixture
def pyrad_client():
    """pyrad Clients for a server; their sockets are closed afterwards (pyrad has no close())."""
    clients = []

    def make(server, retries=1, timeout=2):
        client = Client(
            server="127.0.0.1",
            acctport=server.address[1],
            secret=SECRET.encode(),
            dict=load_dictionary(),
            retries=retries,
            timeout=timeout,
        )
        clients.append(client)
        return client

    yield make
    for client in clients:
        client._CloseSocket()


def radclient(server, attributes, secret=SECRET, command="acct"):
    port = server.address[1]
    return subprocess.run(
        [RADCLIENT, "-x", "-r", "1", "-t", "1", f"127.0.0.1:{port}", command, secret],
        input=attributes,
        capture_output=True,
        text=True,
        timeout=20,
    )


def packet(secret=SECRET, message_authenticator=False, **attributes):
    pkt = AcctPacket(dict=load_dictionary(), secret=secret.encode(), **attributes)
    if message_authenticator:
        pkt.add_message_authenticator()
    return pkt


def exchange(server, raw, source="127.0.0.1", timeout=0.5):
    """Send one datagram, return the reply or None."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((source, 0))
        sock.settimeout(timeout)
        sock.sendto(raw, server.address)
        try:
            return sock.recv(4096)
        except TimeoutError:
            return None


def wait_for(condition, timeout=5):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


SESSION = (
    'User-Name = "alice@visp1.example", Acct-Session-Id = "81a00001", '
    "NAS-IP-Address = 10.0.0.1, NAS-Port = 7, Framed-IP-Address = 100.64.0.5"
)


@needs_radclient
def test_radclient_session_start_interim_stop(start_server):
    server, recorder = start_server()
    lines = [
        f"{SESSION}, Acct-Status-Type = Start, Event-Timestamp = 1795600000",
        f"{SESSION}, Acct-Status-Type = Interim-Update, Acct-Input-Octets = 4294967000, "
        "Acct-Output-Octets = 1000, Acct-Session-Time = 300, Event-Timestamp = 1795600300",
        f"{SESSION}, Acct-Status-Type = Interim-Update, Acct-Input-Octets = 704, "
        "Acct-Output-Octets = 3000, Acct-Session-Time = 600, Event-Timestamp = 1795600600",
        f"{SESSION}, Acct-Status-Type = Stop, Acct-Input-Octets = 2704, Acct-Input-Gigawords = 1, "
        "Acct-Output-Octets = 3500, Acct-Session-Time = 700, Acct-Terminate-Cause = User-Request",
    ]
    for line in lines:
        result = radclient(server, line + "\n")
        assert result.returncode == 0, result.stdout + result.stderr
        assert "Received Accounting-Response" in result.stdout
    events = recorder.events
    assert [e.status for e in events] == ["start", "interim", "interim", "stop"]
    start, first, second, stop = events
    assert start.source == "radius"
    assert (start.username, start.ip, start.nas, start.session_id) == (
        "alice@visp1.example",
        "100.64.0.5",
        "10.0.0.1",
        "81a00001",
    )
    assert start.session_key == "10.0.0.1/81a00001"
    assert start.event_time.timestamp() == 1795600000
    assert (first.bytes_in, first.bytes_out, first.duration_s, first.counting) == (
        4294967000,
        1000,
        300,
        "cumulative32",
    )
    assert first.source_record_id == record_id(
        "s", "10.0.0.1", "81a00001", "interim", 4294967000, 1000, 300
    )
    assert (stop.bytes_in, stop.counting) == (WRAP + 2704, "cumulative")
    # no Event-Timestamp on the Stop: the arrival time
    assert abs(stop.event_time.timestamp() - time.time()) < 5
    tracker = SessionTracker()
    usage = [tracker.apply(e) for e in events]
    assert [u.bytes_in for u in usage] == [0, 4294967000, 1000, 2000]
    assert [u.duration_s for u in usage] == [0, 300, 300, 100]
    assert sum(u.bytes_in for u in usage) == WRAP + 2704
    assert usage[2].notes == ("counter wrap corrected on Acct-Input-Octets",)
    wait_for(lambda: server.stats.answered == 4)  # counted after the reply was sent
    assert server.stats.received == 4


@needs_radclient
def test_radclient_wrong_secret_gets_no_answer(start_server):
    server, recorder = start_server()
    result = radclient(server, f"{SESSION}, Acct-Status-Type = Start\n", secret="not-the-secret")
    assert result.returncode != 0
    assert "Received" not in result.stdout
    assert recorder.batches == []
    assert server.stats.dropped_bad_authenticator == 1
    assert server.stats.answered == 0


@needs_radclient
def test_radclient_message_authenticator_and_proxy_state(start_server):
    server, recorder = start_server(require_message_authenticator=True)
    result = radclient(
        server,
        f"{SESSION}, Acct-Status-Type = Start, Message-Authenticator = 0x00, Proxy-State = 0x0a0b\n",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Proxy-State = 0x0a0b" in result.stdout.split("Received")[1]
    assert len(recorder.events) == 1
    # without one, a server that requires it drops the packet
    result = radclient(server, f"{SESSION}, Acct-Status-Type = Stop\n")
    assert result.returncode != 0
    assert server.stats.dropped_bad_authenticator == 1


@needs_radclient
def test_radclient_status_server(start_server):
    server, recorder = start_server()
    result = radclient(server, "Message-Authenticator = 0x00\n", command="status")
    assert result.returncode == 0, result.stdout + result.stderr
    assert recorder.batches == []


@needs_radclient
def test_radclient_handler_failure_means_no_answer(start_server):
    recorder = Recorder()
    recorder.fail = 10
    server, _ = start_server(recorder)
    result = radclient(server, f"{SESSION}, Acct-Status-Type = Start\n")
    assert result.returncode != 0
    assert "Received" not in result.stdout
    assert server.stats.handler_errors >= 1
    assert server.stats.answered == 0


def test_pyrad_client(start_server, pyrad_client):
    server, recorder = start_server()
    client = pyrad_client(server)
    request = client.CreateAcctPacket(
        User_Name="bob@visp2.example",
        Acct_Status_Type="Interim-Update",
        Acct_Session_Id="b-1",
        NAS_Identifier="bras-2",
        Acct_Input_Octets=10,
        Acct_Output_Octets=20,
        Acct_Output_Gigawords=3,
        Acct_Session_Time=30,
        Event_Timestamp=1795600000,
    )
    request.add_message_authenticator()
    reply = client.SendPacket(request)
    assert reply.code == AccountingResponse
    (event,) = recorder.events
    assert (event.nas, event.session_key) == ("bras-2", "bras-2/b-1")
    assert (event.bytes_in, event.bytes_out, event.counting) == (10, 3 * WRAP + 20, "cumulative")


def test_pyrad_client_retransmits_after_a_failed_batch_with_the_same_id(start_server, pyrad_client):
    recorder = Recorder()
    recorder.fail = 1
    server, _ = start_server(recorder)
    client = pyrad_client(server, retries=3, timeout=0.5)
    request = client.CreateAcctPacket(
        User_Name="carol",
        Acct_Status_Type="Stop",
        Acct_Session_Id="c-1",
        NAS_IP_Address="10.0.0.3",
        Acct_Input_Octets=5,
        Acct_Session_Time=9,
    )
    first_raw = request.RequestPacket()
    reply = client.SendPacket(request)  # the first attempt is not answered
    assert reply.code == AccountingResponse
    assert request["Acct-Delay-Time"]  # pyrad added the time waited
    assert request.RequestPacket() != first_raw  # so the retransmission differs on the wire
    assert server.stats.handler_errors == 1
    (event,) = recorder.events
    assert event.source_record_id == record_id("s", "10.0.0.3", "c-1", "stop", 5, 0, 9)


def test_same_packet_twice_same_id_answered_twice(start_server):
    server, recorder = start_server()
    raw = packet(
        Acct_Status_Type="Interim-Update",
        Acct_Session_Id="d-1",
        NAS_IP_Address="10.0.0.4",
        Acct_Input_Octets=123,
        Acct_Session_Time=60,
    ).RequestPacket()
    assert exchange(server, raw) is not None
    assert exchange(server, raw) is not None
    first, second = recorder.events
    assert first.source_record_id == second.source_record_id
    # The server counts an answer after sending it: the reply can arrive first.
    wait_for(lambda: server.stats.answered == 2)


def test_duplicates_within_a_batch_are_handed_over_once(start_server):
    server, recorder = start_server(batch_wait_ms=200)
    raw = packet(
        Acct_Status_Type="Start",
        Acct_Session_Id="e-1",
        NAS_IP_Address="10.0.0.4",
    ).RequestPacket()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(3)
        sock.sendto(raw, server.address)
        sock.sendto(raw, server.address)
        replies = [sock.recv(4096), sock.recv(4096)]
    assert len(replies) == 2
    assert len(recorder.batches) == 1
    assert len(recorder.batches[0]) == 1


def test_message_authenticator_is_verified(start_server):
    server, recorder = start_server()
    good = packet(
        message_authenticator=True,
        Acct_Status_Type="Start",
        Acct_Session_Id="f-1",
        NAS_IP_Address="10.0.0.5",
    ).RequestPacket()
    assert verify_request(good, SECRET.encode()) is None
    # corrupt the Message-Authenticator and sign the packet again, so that only the
    # Message-Authenticator is wrong
    at = good.index(bytes([80, 18]), 20)
    bad = bytearray(good)
    bad[at + 5] ^= 0xFF
    bad[4:20] = hashlib.md5(bytes(bad[:4]) + bytes(16) + bytes(bad[20:]) + SECRET.encode()).digest()
    bad = bytes(bad)
    assert verify_request(bad, SECRET.encode()) == "bad Message-Authenticator"
    assert exchange(server, bad) is None
    assert server.stats.dropped_bad_authenticator == 1
    assert exchange(server, good) is not None
    assert len(recorder.events) == 1


def test_unknown_nas_is_dropped(start_server):
    server, recorder = start_server()
    raw = packet(Acct_Status_Type="Start", Acct_Session_Id="g-1", NAS_IP_Address="10.0.0.6")
    assert exchange(server, raw.RequestPacket(), source="127.0.0.2") is None
    assert server.stats.dropped_unknown_client == 1
    assert server.stats.dropped == 1
    assert recorder.batches == []


def test_garbage_is_dropped(start_server):
    server, recorder = start_server()
    assert exchange(server, b"\x04\x01\x00") is None
    assert exchange(server, b"\x01" + bytes(19)) is None  # an Access-Request code
    assert server.stats.dropped_malformed == 2
    assert recorder.batches == []


def test_reply_only_after_the_handler_returned(start_server):
    recorder = Recorder()
    recorder.gate = threading.Event()
    server, _ = start_server(recorder)
    raw = packet(Acct_Status_Type="Start", Acct_Session_Id="h-1", NAS_IP_Address="10.0.0.7")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(0.3)
        sock.sendto(raw.RequestPacket(), server.address)
        with pytest.raises(TimeoutError):
            sock.recv(4096)
        recorder.gate.set()
        sock.settimeout(3)
        reply = AcctPacket(packet=sock.recv(4096), dict=load_dictionary())
    assert reply.code == AccountingResponse
    assert raw.VerifyReply(reply)


def test_batches_collect_datagrams_of_the_wait_window(start_server):
    server, recorder = start_server(batch_max=8, batch_wait_ms=100)
    raws = [
        packet(
            Acct_Status_Type="Start", Acct_Session_Id=f"i-{n}", NAS_IP_Address="10.0.0.8"
        ).RequestPacket()
        for n in range(20)
    ]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(3)
        for raw in raws:
            sock.sendto(raw, server.address)
        replies = [sock.recv(4096) for _ in raws]
    assert len(replies) == 20
    sizes = [len(batch) for batch in recorder.batches]
    assert sum(sizes) == 20
    assert max(sizes) <= 8
    assert len(sizes) <= 5  # 20 datagrams sent at once: about three full batches
    assert server.stats.batches == len(sizes)


def test_rejects_are_answered_only_when_stored(start_server):
    stored = []
    server, recorder = start_server(on_reject=stored.extend)
    failed = packet(Acct_Status_Type="Failed", Acct_Session_Id="j-1", NAS_IP_Address="10.0.0.9")
    no_session = packet(Acct_Status_Type="Stop", NAS_IP_Address="10.0.0.9")
    assert exchange(server, failed.RequestPacket()) is not None
    assert exchange(server, no_session.RequestPacket()) is not None
    assert recorder.batches == []
    assert [(r.field, r.code) for r in stored] == [
        ("Acct-Status-Type", "unsupported"),
        ("Acct-Session-Id", "missing"),
    ]
    assert all(isinstance(r, Reject) and r.file == "radius:127.0.0.1" for r in stored)
    assert "Acct-Status-Type = 'Failed'" in stored[0].raw

    plain, _ = start_server()
    assert exchange(plain, failed.RequestPacket()) is None
    assert plain.stats.unanswered_rejects == 1


def test_accounting_on_marks_a_nas_reboot(start_server):
    server, recorder = start_server()
    raw = packet(
        Acct_Status_Type="Accounting-On", NAS_IP_Address="10.0.0.10", Event_Timestamp=1795600000
    ).RequestPacket()
    assert exchange(server, raw) is not None
    (event,) = recorder.events
    assert (event.status, event.nas, event.session_key, event.counting) == (
        "accounting-on",
        "10.0.0.10",
        None,
        "record",
    )


def test_shutdown_is_prompt_and_pyrad_times_out_afterwards(start_server, pyrad_client):
    server, _ = start_server()
    began = time.monotonic()
    server.shutdown()
    assert time.monotonic() - began < 1
    client = pyrad_client(server, timeout=0.2)
    with pytest.raises(Timeout):
        client.SendPacket(client.CreateAcctPacket(Acct_Status_Type="Start", Acct_Session_Id="k"))


def test_serve_forever_can_run_again_after_shutdown(pyrad_client):
    recorder = Recorder()
    with AccountingServer("127.0.0.1", 0, {"127.0.0.1": SECRET}, recorder) as server:
        for session in ("l-1", "l-2"):
            thread = threading.Thread(target=server.serve_forever, daemon=True)
            thread.start()
            client = pyrad_client(server)
            reply = client.SendPacket(
                client.CreateAcctPacket(
                    Acct_Status_Type="Start", Acct_Session_Id=session, NAS_IP_Address="10.0.0.11"
                )
            )
            assert reply.code == AccountingResponse
            server.shutdown()
            thread.join(5)
            assert not thread.is_alive()
    assert [e.session_id for e in recorder.events] == ["l-1", "l-2"]
