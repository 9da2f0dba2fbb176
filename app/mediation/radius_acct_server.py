"""RADIUS accounting server (RFC 2866) that hands usage to a batch handler.

::

    server = AccountingServer("0.0.0.0", 1813, {"10.0.0.1": "s3cret"}, store_batch)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    ...
    server.shutdown(); server.server_close()

How it works
============

One thread, one UDP socket. Datagrams that arrive within ``batch_wait_ms`` of the
first one (at most ``batch_max``) form a batch. Each datagram is

1. looked up by its source address in ``clients`` (``{nas_ip: secret}``); an
   unknown NAS is dropped silently;
2. verified: the Request Authenticator (RFC 2866 section 3: MD5 over the packet
   with a zero authenticator and the secret) and, if the packet has one, the
   Message-Authenticator (RFC 3579 / RFC 5080: HMAC-MD5 with the secret over the
   packet with zeroed authenticator and Message-Authenticator value). A failure is
   dropped silently, as the RFC says, and counted (a wrong secret shows up in
   :attr:`stats`). ``require_message_authenticator=True`` also drops packets
   without one. Status-Server (RFC 5997) needs a valid Message-Authenticator and
   is answered with an Accounting-Response;
3. decoded (an Accounting-Request straight from its bytes, only the attributes an
   event needs, with the types and VALUE names of the dictionary of
   :mod:`~app.mediation.radius_dictionary`; a Status-Server with
   :class:`pyrad.packet.AcctPacket`), and turned into a
   :class:`~app.mediation.records.UsageEvent` (``source="radius"``) by
   :func:`app.mediation.radius_records.build_event`, which documents the
   ``source_record_id`` (a retransmission maps to the same id), ``session_key``,
   ``nas`` and ``event_time`` rules. A packet that authenticates but cannot become
   an event (no Acct-Session-Id, Acct-Status-Type Failed, ...) becomes a
   :class:`~app.mediation.records.Reject` (``file="radius:<nas address>"``,
   ``raw`` = its attributes as text).

Then ``handle_batch(events)`` is called once (events deduplicated by
``source_record_id`` within the batch; not called for a batch without events),
then ``on_reject(rejects)`` if there are rejects and it is given. Only when both
returned are the Accounting-Responses sent, one per datagram (retransmissions
included, Proxy-State copied). If either raises, *nothing* of the batch is
answered: the NASes retransmit, and since retransmissions keep their
``source_record_id`` storing them again is idempotent. Rejects are answered only
when ``on_reject`` stored them; without ``on_reject`` they stay unanswered.

``handle_batch`` runs on the server thread: while it works, datagrams wait in the
socket's receive buffer (``receive_buffer`` bytes asked of the kernel), so one
database round trip serves a whole batch.

Counters and deltas: the decision
=================================

Events carry the session's *cumulative* counters (``counting`` is
``"cumulative"`` or ``"cumulative32"``), not per-record usage. The server keeps no
session state: a state in process memory is lost on restart, is wrong with two
servers behind one NAS list (or a NAS failing over), and would advance even when
``handle_batch`` fails and the NAS later retransmits. Instead the database side
turns them into deltas from what it stored, inside the transaction that stores
them::

    from app.mediation.counters import SessionCounters, to_delta

    prev = SessionCounters(cum_in, cum_out, cum_time)  # of the last stored record
                                                       # of event.session_key, or None
    usage, state = to_delta(prev, event)   # usage.bytes_in/... = this record's delta,
                                           # usage.notes += wrap / out-of-order notes
    store(usage, cumulative=state)         # keep state.bytes_in/bytes_out/session_time

For a whole batch: load the last stored state of every ``session_key`` in it
(one query), then apply :func:`~app.mediation.counters.to_delta` to the events
*in list order* (arrival order; a batch can hold several records of one
session), carrying the states in a dict, and store each record with its usage
and its state. A record that is already stored (its response was lost and the
NAS retransmitted) needs no special care: as the latest record it gives a zero
delta, as an older one it is out of order; either way the state is unchanged,
and the unique ``source_record_id`` keeps it from being stored twice. Records of
one session must not be computed concurrently from the same previous state (one
ingest path per session key, or a row lock on the session).
:class:`app.mediation.counters.SessionTracker` is that loop in memory, for tests
and benchmarks.

Accounting-On / Accounting-Off become events with status ``"accounting-on"`` /
``"accounting-off"`` (a NAS reboot: its open sessions are over).

Replies and throughput
======================

An Accounting-Response is built directly (RFC 2866 Response Authenticator, with
the request's Proxy-State attributes copied in order); the reply to a
Status-Server is built by pyrad (it needs a Message-Authenticator). Measured on
the 2-core development machine: about 13,000 packets/s through verification,
decoding and event building, about 9,500 packets/s end to end from a Python
client on the same machine with an in-memory handler (batches of 500).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import select
import socket
import struct
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pyrad.dictionary import Dictionary
from pyrad.packet import (
    AccountingRequest,
    AccountingResponse,
    AcctPacket,
    PacketError,
    StatusServer,
)
from pyrad.tools import DecodeAttr

from app.mediation.radius_dictionary import load_dictionary
from app.mediation.radius_records import RecordError, build_event
from app.mediation.records import Reject, UsageEvent

log = logging.getLogger(__name__)

MESSAGE_AUTHENTICATOR = 80
PROXY_STATE = 33
MAX_PACKET = 4096
_FOUR_BYTE_INTS = frozenset({"integer", "date"})
ZERO16 = bytes(16)

#: Attributes read from a packet to build its event.
EVENT_ATTRIBUTES = (
    "Acct-Status-Type",
    "Acct-Session-Id",
    "User-Name",
    "NAS-IP-Address",
    "NAS-Identifier",
    "Framed-IP-Address",
    "Acct-Input-Octets",
    "Acct-Output-Octets",
    "Acct-Input-Gigawords",
    "Acct-Output-Gigawords",
    "Acct-Session-Time",
    "Event-Timestamp",
    "Acct-Delay-Time",
)


@dataclass
class ServerStats:
    """What the server did since it started (read them from any thread)."""

    received: int = 0  # datagrams read from the socket
    answered: int = 0  # Accounting-Responses sent
    dropped_unknown_client: int = 0  # source address not in clients
    dropped_bad_authenticator: int = 0  # Request- or Message-Authenticator wrong/missing
    dropped_malformed: int = 0  # not a decodable Accounting-Request / Status-Server
    unanswered_rejects: int = 0  # rejects with no on_reject to store them
    unanswered_failed: int = 0  # datagrams of batches whose handler raised
    batches: int = 0  # handle_batch calls
    handler_errors: int = 0  # handle_batch / on_reject calls that raised
    events: int = 0  # events handed over
    rejects: int = 0  # rejects produced

    @property
    def dropped(self) -> int:
        """Datagrams dropped before the handler (unknown NAS, bad authenticator, malformed)."""
        return self.dropped_unknown_client + self.dropped_bad_authenticator + self.dropped_malformed


def _attributes(raw: bytes) -> list[tuple[int, int, int]] | None:
    """(type, offset, length) of each attribute of a packet, None if lengths are broken."""
    out = []
    pos = 20
    end = len(raw)
    while pos < end:
        if pos + 2 > end:
            return None
        kind, length = raw[pos], raw[pos + 1]
        if length < 2 or pos + length > end:
            return None
        out.append((kind, pos, length))
        pos += length
    return out


class _Request:
    """A verified Accounting-Request read straight from its bytes: the hot path needs a
    dozen attributes of it, not a decoded pyrad packet (a dict of every attribute)."""

    __slots__ = ("code", "id", "authenticator", "secret", "raw", "offsets")

    def __init__(self, raw: bytes, secret: bytes, offsets: list[tuple[int, int, int]]) -> None:
        self.code = raw[0]
        self.id = raw[1]
        self.authenticator = raw[4:20]
        self.secret = secret
        self.raw = raw
        self.offsets = offsets


def verify_request(raw: bytes, secret: bytes, require_ma: bool = False) -> str | None:
    """Check a received Accounting-Request or Status-Server; None if valid, else why not.

    ``raw`` must already be cut to its Length field. Verifies the Request
    Authenticator of an Accounting-Request (RFC 2866 section 3) and the
    Message-Authenticator when present (required for Status-Server, RFC 5997, and
    with ``require_ma``). For the HMAC the Authenticator field is zeroed for an
    Accounting-Request (as FreeRADIUS and pyrad compute it) and kept for a
    Status-Server, and the Message-Authenticator value is zeroed.
    """
    attrs = _attributes(raw)
    if attrs is None:
        return "malformed attributes"
    return _verify(raw, secret, require_ma, attrs)


def _verify(raw: bytes, secret: bytes, require_ma: bool, attrs: list[tuple[int, int, int]]) -> str | None:
    code = raw[0]
    if code == AccountingRequest:
        expected = hashlib.md5(raw[:4] + ZERO16 + raw[20:] + secret).digest()  # noqa: S324 - RFC 2866
        if not hmac.compare_digest(expected, raw[4:20]):
            return "bad Request Authenticator"
    ma = [(pos, length) for kind, pos, length in attrs if kind == MESSAGE_AUTHENTICATOR]
    if not ma:
        if code == StatusServer or require_ma:
            return "no Message-Authenticator"
        return None
    if len(ma) > 1 or ma[0][1] != 18:
        return "malformed Message-Authenticator"
    pos = ma[0][0]
    vector = raw[4:20] if code == StatusServer else ZERO16
    signed = raw[:4] + vector + raw[20 : pos + 2] + ZERO16 + raw[pos + 18 :]
    expected = hmac.new(secret, signed, "md5").digest()
    if not hmac.compare_digest(expected, raw[pos + 2 : pos + 18]):
        return "bad Message-Authenticator"
    return None


def _render(packet: AcctPacket) -> str:
    """A packet's attributes as ``Name = value`` lines (for rejects)."""
    lines = []
    for key in packet.keys():
        try:
            values = packet[key]
        except Exception:  # an undecodable value is shown as such
            values = ["<undecodable>"]
        for value in values:
            lines.append(f"{key} = {value!r}")
    return "\n".join(lines)


class AccountingServer:
    """A batching RADIUS accounting server; see the module docs.

    ``clients`` maps NAS addresses (as they appear as the UDP source) to shared
    secrets (str or bytes). ``port`` 0 picks a free port: read :attr:`address`.
    The socket is bound when the server is created; with ``reuse_port`` several
    servers (worker processes) can bind the same port (SO_REUSEPORT).
    """

    def __init__(
        self,
        host: str,
        port: int,
        clients: Mapping[str, str | bytes],
        handle_batch: Callable[[list[UsageEvent]], None],
        batch_max: int = 500,
        batch_wait_ms: float = 5,
        *,
        on_reject: Callable[[list[Reject]], None] | None = None,
        dictionary: Dictionary | None = None,
        require_message_authenticator: bool = False,
        receive_buffer: int = 4 << 20,
        reuse_port: bool = False,
    ):
        if batch_max < 1:
            raise ValueError("batch_max must be at least 1")
        self.clients: dict[str, bytes] = {
            _normal_ip(address): secret.encode() if isinstance(secret, str) else bytes(secret)
            for address, secret in clients.items()
        }
        self.handle_batch = handle_batch
        self.on_reject = on_reject
        self.batch_max = batch_max
        self.batch_wait = batch_wait_ms / 1000
        self.require_message_authenticator = require_message_authenticator
        self.dictionary = dictionary or load_dictionary()
        self.stats = ServerStats()
        self._addresses: dict[str, str] = {}
        self._wanted: dict[int, tuple[str, Any]] = {}
        for name in EVENT_ATTRIBUTES:
            attribute = self.dictionary.attributes.get(name)
            if attribute is not None and not attribute.vendor:
                self._wanted[attribute.code] = (name, attribute)

        family, kind, proto, _name, sockaddr = socket.getaddrinfo(
            host, port, type=socket.SOCK_DGRAM
        )[0]
        self.socket = socket.socket(family, kind, proto)
        try:
            self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
            if reuse_port:
                # Several worker processes on one port: the kernel hashes each sender
                # (address and port) to one of them, so a NAS's packets stay in order.
                self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            self.socket.bind(sockaddr)
        except OSError:
            self.socket.close()
            raise
        self.socket.setblocking(False)
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._stop = threading.Event()
        self._stopped = threading.Event()
        self._stopped.set()

    @property
    def address(self) -> tuple[str, int]:
        """The bound (host, port)."""
        host, port = self.socket.getsockname()[:2]
        return host, port

    # --- running -------------------------------------------------------------------------

    def serve_forever(self) -> None:
        """Receive, handle and answer batches until :meth:`shutdown` is called."""
        self._stop.clear()
        self._stopped.clear()
        while True:  # a wake-up left by an earlier shutdown()
            try:
                self._wake_r.recv(64)
            except (BlockingIOError, InterruptedError):
                break
        poller = select.poll()
        poller.register(self.socket, select.POLLIN)
        poller.register(self._wake_r, select.POLLIN)
        try:
            while not self._stop.is_set():
                batch = self._collect(poller)
                if batch:
                    self._process(batch)
        finally:
            self._stopped.set()

    def shutdown(self, timeout: float | None = 5) -> None:
        """Stop :meth:`serve_forever` after the batch in hand and wait for it to return.

        Do not call it from ``handle_batch`` (it would wait for itself).
        """
        self._stop.set()
        try:
            self._wake_w.send(b"x")
        except OSError:
            pass
        self._stopped.wait(timeout)

    def server_close(self) -> None:
        """Close the socket (after :meth:`shutdown`)."""
        self.socket.close()
        self._wake_r.close()
        self._wake_w.close()

    def __enter__(self) -> AccountingServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if not self._stopped.is_set():
            self.shutdown()
        self.server_close()

    # --- internals -----------------------------------------------------------------------

    def _address(self, address: str) -> str:
        try:
            return self._addresses[address]
        except KeyError:
            if len(self._addresses) > 10_000:
                self._addresses.clear()
            normal = self._addresses[address] = _normal_ip(address)
            return normal

    def _collect(self, poller: select.poll) -> list[tuple[bytes, Any, float]]:
        """Wait for a datagram, then gather more for up to batch_wait."""
        batch: list[tuple[bytes, Any, float]] = []
        deadline = None
        recvfrom = self.socket.recvfrom
        while True:
            timeout_ms = None if deadline is None else max(0, (deadline - time.monotonic()) * 1000)
            if not poller.poll(timeout_ms):
                return batch  # the wait window is over
            if self._stop.is_set():
                return batch
            while len(batch) < self.batch_max:
                try:
                    data, sender = recvfrom(MAX_PACKET)
                except (BlockingIOError, InterruptedError):
                    break
                except OSError as exc:  # e.g. ICMP port unreachable reported on Linux
                    log.debug("recvfrom failed: %s", exc)
                    continue
                batch.append((data, sender, time.time()))
                self.stats.received += 1
            if batch and deadline is None:
                deadline = time.monotonic() + self.batch_wait
            if len(batch) >= self.batch_max or (
                deadline is not None and time.monotonic() >= deadline
            ):
                return batch

    def _process(self, batch: list[tuple[bytes, Any, float]]) -> None:
        events: list[UsageEvent] = []
        seen: set[str] = set()
        rejects: list[Reject] = []
        answer: list[tuple[AcctPacket, Any]] = []  # answered if the handlers succeed
        answer_if_stored: list[tuple[AcctPacket, Any]] = []  # rejects: if on_reject stored them
        for data, sender, received in batch:
            packet = self._accept(data, sender)
            if packet is None:
                continue
            if packet.code == StatusServer:
                answer.append((packet, sender))
                continue
            result = self._event(packet, sender[0], received)
            if isinstance(result, Reject):
                rejects.append(result)
                answer_if_stored.append((packet, sender))
                continue
            if result.source_record_id not in seen:
                seen.add(result.source_record_id)
                events.append(result)
            answer.append((packet, sender))
        self.stats.rejects += len(rejects)
        try:
            if events:
                self.stats.batches += 1
                self.handle_batch(events)
                self.stats.events += len(events)
            if rejects and self.on_reject is not None:
                self.on_reject(rejects)
        except Exception:
            self.stats.handler_errors += 1
            self.stats.unanswered_failed += len(answer) + len(answer_if_stored)
            log.exception(
                "accounting batch handler failed: %d datagrams not answered",
                len(answer) + len(answer_if_stored),
            )
            return
        if self.on_reject is not None:
            answer.extend(answer_if_stored)
        else:
            self.stats.unanswered_rejects += len(answer_if_stored)
        for packet, sender in answer:
            try:
                self.socket.sendto(self._reply(packet), sender)
            except OSError as exc:
                log.warning("could not answer %s: %s", sender[0], exc)
                continue
            self.stats.answered += 1

    def _accept(self, data: bytes, sender: Any) -> AcctPacket | None:
        """The verified, decoded packet of a datagram, or None (dropped and counted)."""
        secret = self.clients.get(self._address(sender[0]))
        if secret is None:
            self.stats.dropped_unknown_client += 1
            log.debug("dropped datagram from unknown client %s", sender[0])
            return None
        if len(data) < 20:
            self.stats.dropped_malformed += 1
            return None
        length = struct.unpack_from("!H", data, 2)[0]
        if length < 20 or length > len(data) or data[0] not in (AccountingRequest, StatusServer):
            self.stats.dropped_malformed += 1
            log.debug("dropped malformed datagram from %s", sender[0])
            return None
        data = data[:length]
        offsets = _attributes(data)
        problem = ("malformed attributes" if offsets is None
                   else _verify(data, secret, self.require_message_authenticator, offsets))
        if problem is not None:
            if problem.startswith("malformed"):
                self.stats.dropped_malformed += 1
            else:
                self.stats.dropped_bad_authenticator += 1
            log.debug("dropped packet from %s: %s", sender[0], problem)
            return None
        if data[0] == AccountingRequest:
            return _Request(data, secret, offsets)
        try:
            return AcctPacket(packet=data, secret=secret, dict=self.dictionary)
        except PacketError as exc:
            self.stats.dropped_malformed += 1
            log.debug("dropped undecodable packet from %s: %s", sender[0], exc)
            return None

    def _event(self, packet: AcctPacket | _Request, source: str, received: float) -> UsageEvent | Reject:
        address = self._address(source)
        try:
            attrs = self._read(packet)
            return build_event(
                attrs,
                source="radius",
                received=datetime.fromtimestamp(received, UTC),
                fallback_nas=address,
            )
        except RecordError as exc:
            return Reject(
                f"radius:{address}", None, exc.field, exc.reason, self._render(packet), exc.code
            )

    def _render(self, packet: AcctPacket | _Request) -> str:
        if isinstance(packet, _Request):
            try:
                packet = AcctPacket(packet=packet.raw, secret=packet.secret, dict=self.dictionary)
            except PacketError as exc:
                return f"<undecodable packet: {exc}>"
        return _render(packet)

    def _read(self, packet: AcctPacket | _Request) -> dict[str, Any]:
        """The first value of each attribute in EVENT_ATTRIBUTES, decoded as pyrad does.

        One pass over the decoded packet's raw values (pyrad's ``packet[name]``
        costs a dictionary lookup and an encode of the key per name), decoding only
        the attributes needed, with the dictionary's types and VALUE names.
        """
        attrs: dict[str, Any] = {}
        wanted = self._wanted
        if isinstance(packet, _Request):
            raw_packet = packet.raw
            for key, pos, length in packet.offsets:
                spec = wanted.get(key)
                if spec is None:
                    continue
                name, attribute = spec
                if name in attrs:
                    continue
                raw = raw_packet[pos + 2 : pos + length]
                backward = attribute.values.backward
                if raw in backward:
                    attrs[name] = backward[raw]
                    continue
                kind = attribute.type
                # The common types of well-formed values, decoded as pyrad decodes them;
                # anything else (and every malformed value) goes through pyrad.
                if kind == "string":
                    try:
                        attrs[name] = raw.decode("utf-8")
                    except UnicodeDecodeError:
                        attrs[name] = raw
                    continue
                if length == 6 and kind in _FOUR_BYTE_INTS:
                    attrs[name] = int.from_bytes(raw, "big")
                    continue
                if length == 6 and kind == "ipaddr":
                    attrs[name] = f"{raw[0]}.{raw[1]}.{raw[2]}.{raw[3]}"
                    continue
                try:
                    attrs[name] = DecodeAttr(kind, raw)
                except (ValueError, TypeError, struct.error, PacketError) as exc:
                    raise RecordError(name, f"{name} cannot be decoded: {exc}", "bad_value") from exc
            return attrs
        for key, values in OrderedDict.items(packet):
            spec = wanted.get(key)
            if spec is None or not values:
                continue
            name, attribute = spec
            if name in attrs:
                continue
            raw = values[0]
            try:
                if attribute.values.HasBackward(raw):
                    attrs[name] = attribute.values.GetBackward(raw)
                else:
                    attrs[name] = DecodeAttr(attribute.type, raw)
            except (ValueError, TypeError, struct.error, PacketError) as exc:
                raise RecordError(name, f"{name} cannot be decoded: {exc}", "bad_value") from exc
        return attrs

    def _reply(self, packet: AcctPacket) -> bytes:
        """The Accounting-Response to a verified request (RFC 2866 section 3).

        Proxy-State attributes are copied in order (RFC 2865 section 5.33). The
        reply to a Status-Server carries a Message-Authenticator (RFC 5997), built
        by pyrad.
        """
        if packet.code == StatusServer:
            return packet.CreateReply().ReplyPacket()
        if isinstance(packet, _Request):
            raw = packet.raw
            attributes = b"".join(raw[pos : pos + length]
                                  for kind, pos, length in packet.offsets if kind == PROXY_STATE)
        else:
            attributes = b"".join(
                bytes((PROXY_STATE, len(value) + 2)) + value
                for value in OrderedDict.get(packet, PROXY_STATE, ())
            )
        header = struct.pack("!BBH", AccountingResponse, packet.id, 20 + len(attributes))
        authenticator = hashlib.md5(  # noqa: S324 - the RFC 2866 Response Authenticator
            header + packet.authenticator + attributes + packet.secret
        ).digest()
        return header + authenticator + attributes


def _normal_ip(address: str) -> str:
    """Canonical text of an address; an IPv4-mapped IPv6 address as IPv4."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is not None:
        return str(parsed.ipv4_mapped)
    return str(parsed)
