"""RFC 5176 Dynamic Authorization client: CoA-Request and Disconnect-Request to a NAS.

Packets are built here from their bytes (no dictionary needed): the attributes are a
list of ``(type, value bytes)`` pairs, vendor attributes through ``vsa()``. Every request
carries a Message-Authenticator (RFC 3579 §3.2, computed as RFC 5176 §3.5 asks: over the
packet with a zero Request Authenticator) and then the Request Authenticator
(MD5 over the packet with a zero authenticator and the shared secret, RFC 5176 §2.3).
Replies are accepted only from the NAS's address, with the request's identifier, and a
valid Response Authenticator (and Message-Authenticator when present).

No database and no Flask here: the enforcement service decides what to send.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import os
import socket
import struct
import time
from dataclasses import dataclass

COA_REQUEST, COA_ACK, COA_NAK = 43, 44, 45
DISCONNECT_REQUEST, DISCONNECT_ACK, DISCONNECT_NAK = 40, 41, 42
ACKS = {COA_ACK, DISCONNECT_ACK}
NAKS = {COA_NAK, DISCONNECT_NAK}

USER_NAME = 1
FRAMED_IP_ADDRESS = 8
VENDOR_SPECIFIC = 26
ACCT_SESSION_ID = 44
EVENT_TIMESTAMP = 55
MESSAGE_AUTHENTICATOR = 80
ERROR_CAUSE = 101

SESSION_CONTEXT_NOT_FOUND = 503

MIKROTIK = 14988
MIKROTIK_RATE_LIMIT = 8
WISPR = 14122
WISPR_BANDWIDTH_MAX_UP = 7
WISPR_BANDWIDTH_MAX_DOWN = 8


class CoaError(Exception):
    """The NAS did not answer (timeout) or answered with something that is not a valid reply."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class CoaReply:
    code: int
    error_cause: int | None = None

    @property
    def acked(self) -> bool:
        return self.code in ACKS

    @property
    def session_not_found(self) -> bool:
        return self.code in NAKS and self.error_cause == SESSION_CONTEXT_NOT_FOUND


# -- attributes ---------------------------------------------------------------------------
def string(attr_type: int, value: str) -> tuple[int, bytes]:
    data = value.encode()
    if not 0 < len(data) <= 253:
        raise ValueError(f"attribute {attr_type}: value of {len(data)} bytes")
    return attr_type, data


def integer(attr_type: int, value: int) -> tuple[int, bytes]:
    return attr_type, struct.pack("!I", value)


def ipaddr(attr_type: int, value: str) -> tuple[int, bytes]:
    return attr_type, ipaddress.IPv4Address(value).packed


def vsa(vendor: int, vendor_type: int, value: bytes) -> tuple[int, bytes]:
    if len(value) > 247:
        raise ValueError("vendor attribute too long")
    return VENDOR_SPECIFIC, struct.pack("!IBB", vendor, vendor_type, len(value) + 2) + value


def _encode(attributes: list[tuple[int, bytes]]) -> bytes:
    out = bytearray()
    for attr_type, value in attributes:
        if len(value) > 253:
            raise ValueError(f"attribute {attr_type} too long")
        out += struct.pack("!BB", attr_type, len(value) + 2) + value
    return bytes(out)


def _decode(data: bytes) -> list[tuple[int, bytes]]:
    attributes, pos = [], 0
    while pos < len(data):
        if pos + 2 > len(data):
            raise CoaError("malformed", "truncated attribute")
        attr_type, length = data[pos], data[pos + 1]
        if length < 2 or pos + length > len(data):
            raise CoaError("malformed", "bad attribute length")
        attributes.append((attr_type, data[pos + 2 : pos + length]))
        pos += length
    return attributes


# -- packets ------------------------------------------------------------------------------
def build_request(code: int, identifier: int, secret: bytes, attributes: list[tuple[int, bytes]]) -> bytes:
    """A CoA- or Disconnect-Request with Message-Authenticator and Request Authenticator."""
    attrs = _encode([a for a in attributes if a[0] != MESSAGE_AUTHENTICATOR])
    ma_attr = struct.pack("!BB", MESSAGE_AUTHENTICATOR, 18)
    length = 20 + len(attrs) + 18
    if length > 4096:
        raise ValueError("packet too long")
    header = struct.pack("!BBH", code, identifier, length)
    zero = b"\x00" * 16
    # RFC 5176 §3.5: the Message-Authenticator of a request is computed with the Request
    # Authenticator field zeroed (it depends on the attributes, the MA included).
    mac = hmac.new(secret, header + zero + attrs + ma_attr + zero, hashlib.md5).digest()
    body = attrs + ma_attr + mac
    authenticator = hashlib.md5(header + zero + body + secret).digest()  # noqa: S324 - RFC 5176
    return header + authenticator + body


def parse_reply(data: bytes, *, identifier: int, request_authenticator: bytes, secret: bytes) -> CoaReply:
    """Check a reply to our request and read its code and Error-Cause."""
    if len(data) < 20:
        raise CoaError("malformed", "short reply")
    code, ident, length = struct.unpack("!BBH", data[:4])
    if length > len(data) or length < 20:
        raise CoaError("malformed", "bad reply length")
    data = data[:length]
    if ident != identifier:
        raise CoaError("mismatch", "reply to another request")
    if code not in ACKS | NAKS:
        raise CoaError("malformed", f"unexpected reply code {code}")
    expected = hashlib.md5(data[:4] + request_authenticator + data[20:] + secret).digest()  # noqa: S324 - RFC 5176
    if not hmac.compare_digest(expected, data[4:20]):
        raise CoaError("authenticator", "reply authenticator does not match the shared secret")
    attributes = _decode(data[20:])
    error_cause = None
    for attr_type, value in attributes:
        if attr_type == ERROR_CAUSE and len(value) == 4:
            error_cause = struct.unpack("!I", value)[0]
        if attr_type == MESSAGE_AUTHENTICATOR:
            if len(value) != 16:
                raise CoaError("authenticator", "bad Message-Authenticator")
            zeroed = _zero_message_authenticator(data)
            mac = hmac.new(secret, zeroed[:4] + request_authenticator + zeroed[20:], hashlib.md5).digest()
            if not hmac.compare_digest(mac, value):
                raise CoaError("authenticator", "reply Message-Authenticator does not match")
    return CoaReply(code=code, error_cause=error_cause)


def _zero_message_authenticator(packet: bytes) -> bytes:
    out, pos = bytearray(packet[:20]), 20
    while pos + 2 <= len(packet):
        attr_type, length = packet[pos], packet[pos + 1]
        if length < 2:
            break
        chunk = packet[pos : pos + length]
        out += chunk[:2] + b"\x00" * 16 if attr_type == MESSAGE_AUTHENTICATOR else chunk
        pos += length
    return bytes(out)


def send(code: int, *, host: str, port: int, secret: str, attributes: list[tuple[int, bytes]],
         timeout: float = 2.0, retries: int = 2) -> CoaReply:
    """Send one request (re-sent unchanged on timeout, as RFC 5176 allows) and return the reply."""
    if code not in (COA_REQUEST, DISCONNECT_REQUEST):
        raise ValueError("only CoA-Request and Disconnect-Request are sent")
    secret_bytes = secret.encode()
    identifier = os.urandom(1)[0]
    attrs = list(attributes) + [integer(EVENT_TIMESTAMP, int(time.time()))]
    packet = build_request(code, identifier, secret_bytes, attrs)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        for _attempt in range(retries + 1):
            sock.sendto(packet, (host, port))
            deadline = time.monotonic() + timeout
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                sock.settimeout(remaining)
                try:
                    data, peer = sock.recvfrom(4096)
                except TimeoutError:
                    break
                except ConnectionRefusedError:
                    raise CoaError("refused", f"{host}:{port} refused the request") from None
                if ipaddress.ip_address(peer[0]) != ipaddress.ip_address(host):
                    continue  # not from the NAS: ignored
                try:
                    return parse_reply(data, identifier=identifier, request_authenticator=packet[4:20],
                                       secret=secret_bytes)
                except CoaError as exc:
                    if exc.code == "mismatch":
                        continue
                    raise
    raise CoaError("timeout", f"no answer from {host}:{port}")


# -- rate limits --------------------------------------------------------------------------
_SUFFIX = {"": 1, "k": 1000, "m": 1000**2, "g": 1000**3}


def parse_rate(text: str) -> tuple[int, int]:
    """``"2M/512k"`` (Mikrotik rx/tx, i.e. the subscriber's upload/download) → bit/s (up, down).

    A single figure applies to both directions.
    """
    parts = (text or "").strip().split()[0].split("/") if text and text.strip() else []
    if not 1 <= len(parts) <= 2:
        raise ValueError("rate limit: expected 'up/down' like '2M/512k'")
    values = []
    for part in parts:
        part = part.strip().lower()
        number, suffix = (part[:-1], part[-1]) if part and part[-1] in "kmg" else (part, "")
        if not number.isdigit() or int(number) <= 0:
            raise ValueError("rate limit: bad figure")
        values.append(int(number) * _SUFFIX[suffix])
    up, down = (values[0], values[-1])
    if max(up, down) >= 2**32:
        raise ValueError("rate limit: figure too large")
    return up, down


def rate_attributes(rate_limit: str) -> list[tuple[int, bytes]]:
    """The rate-limit attributes NASes understand: Mikrotik-Rate-Limit and WISPr bandwidth."""
    up, down = parse_rate(rate_limit)
    return [
        vsa(MIKROTIK, MIKROTIK_RATE_LIMIT, rate_limit.strip().encode()),
        vsa(WISPR, WISPR_BANDWIDTH_MAX_UP, struct.pack("!I", up)),
        vsa(WISPR, WISPR_BANDWIDTH_MAX_DOWN, struct.pack("!I", down)),
    ]


def session_attributes(*, username: str | None, session_id: str | None, framed_ip: str | None) -> list[tuple[int, bytes]]:
    """Session identification attributes (RFC 5176 §3)."""
    attrs = []
    if username:
        attrs.append(string(USER_NAME, username))
    if session_id:
        attrs.append(string(ACCT_SESSION_ID, session_id))
    if framed_ip:
        try:
            attrs.append(ipaddr(FRAMED_IP_ADDRESS, framed_ip))
        except ValueError:
            pass
    return attrs
