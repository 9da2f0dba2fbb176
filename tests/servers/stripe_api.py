"""A local stand-in for the Stripe API, for the official ``stripe`` SDK to talk to.

``stripe_api`` (session-scoped) serves ``POST /v1/payment_intents`` and ``POST /v1/refunds``
on 127.0.0.1 and a free port over real HTTP, the way api.stripe.com answers them: form
encoded requests with a bearer key, JSON objects back, ``Idempotency-Key`` replays
answered with the first response, card errors as HTTP 402 with the PaymentIntent.
Payment methods decide the outcome, like Stripe's test methods:

- ``pm_card_visa``: the intent succeeds
- ``pm_card_chargeDeclinedInsufficientFunds``: declined (402, ``insufficient_funds``)
- ``pm_card_processing``: the intent stays ``processing`` (settled later by webhook)

``signed(event, secret)`` builds a webhook body and its ``Stripe-Signature`` header.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

import pytest

SECRET_KEY = "sk_test_realmbill_local"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _nest(pairs: list[tuple[str, str]]) -> dict:
    """``metadata[a]=1`` → ``{"metadata": {"a": "1"}}`` (one level, as the SDK sends here)."""
    out: dict = {}
    for key, value in pairs:
        if "[" in key and key.endswith("]"):
            outer, inner = key[:-1].split("[", 1)
            out.setdefault(outer, {})[inner] = value
        else:
            out[key] = value
    return out


class FakeStripe:
    def __init__(self) -> None:
        self.intents: dict[str, dict] = {}
        self.refunds: dict[str, dict] = {}
        self.requests: list[tuple[str, str, dict, dict]] = []
        self.replies: dict[str, tuple[int, dict]] = {}
        self.lock = threading.Lock()
        self.server: ThreadingHTTPServer | None = None
        self.url = ""

    def clear(self) -> None:
        with self.lock:
            self.intents.clear()
            self.refunds.clear()
            self.requests.clear()
            self.replies.clear()

    # -- API
    def handle(self, method: str, path: str, headers, body: dict) -> tuple[int, dict]:
        if headers.get("Authorization") != f"Bearer {SECRET_KEY}":
            return 401, {"error": {"type": "invalid_request_error", "message": "Invalid API Key provided"}}
        key = headers.get("Idempotency-Key")
        with self.lock:
            self.requests.append((method, path, dict(headers), body))
            if key and key in self.replies:
                return self.replies[key]
            if method == "POST" and path == "/v1/payment_intents":
                reply = self._create_intent(body)
            elif method == "POST" and path == "/v1/refunds":
                reply = self._refund(body)
            else:
                reply = 404, {"error": {"type": "invalid_request_error", "message": "Unrecognized request URL"}}
            if key:
                self.replies[key] = reply
            return reply

    def _create_intent(self, body: dict) -> tuple[int, dict]:
        intent = {
            "id": f"pi_{uuid.uuid4().hex[:20]}", "object": "payment_intent",
            "amount": int(body["amount"]), "currency": body["currency"],
            "customer": body.get("customer"), "payment_method": body.get("payment_method"),
            "metadata": body.get("metadata", {}), "status": "requires_payment_method",
            "latest_charge": None, "last_payment_error": None, "livemode": False,
        }
        method = body.get("payment_method")
        if method == "pm_card_visa":
            intent["status"] = "succeeded"
            intent["latest_charge"] = f"ch_{uuid.uuid4().hex[:20]}"
        elif method == "pm_card_processing":
            intent["status"] = "processing"
        else:
            error = {"type": "card_error", "code": "card_declined", "decline_code": "insufficient_funds",
                     "message": "Your card has insufficient funds."}
            intent["last_payment_error"] = error
            self.intents[intent["id"]] = intent
            return 402, {"error": {**error, "payment_intent": intent}}
        self.intents[intent["id"]] = intent
        return 200, intent

    def _refund(self, body: dict) -> tuple[int, dict]:
        intent = self.intents.get(body.get("payment_intent", ""))
        if intent is None or intent["status"] != "succeeded":
            return 400, {"error": {"type": "invalid_request_error", "code": "resource_missing",
                                   "message": "No such payment_intent"}}
        refund = {"id": f"re_{uuid.uuid4().hex[:20]}", "object": "refund", "status": "succeeded",
                  "amount": int(body.get("amount") or intent["amount"]), "currency": intent["currency"],
                  "payment_intent": intent["id"], "charge": intent["latest_charge"]}
        self.refunds[refund["id"]] = refund
        return 200, refund


def signed(event: dict, secret: str, *, timestamp: int | None = None) -> tuple[bytes, str]:
    """(payload, Stripe-Signature header) as Stripe signs webhook deliveries."""
    payload = json.dumps(event).encode()
    ts = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{ts}.".encode() + payload, hashlib.sha256).hexdigest()
    return payload, f"t={ts},v1={digest}"


def event(event_type: str, obj: dict, *, event_id: str | None = None) -> dict:
    return {"id": event_id or f"evt_{uuid.uuid4().hex[:20]}", "object": "event", "api_version": "2024-06-20",
            "created": int(time.time()), "type": event_type, "livemode": False,
            "data": {"object": obj}}


def _handler(fake: FakeStripe):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:  # keep test output clean
            pass

        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length).decode() if length else ""
            body = _nest(parse_qsl(raw, keep_blank_values=True))
            status, reply = fake.handle("POST", self.path.split("?")[0], self.headers, body)
            data = json.dumps(reply).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Request-Id", f"req_{uuid.uuid4().hex[:12]}")
            self.end_headers()
            self.wfile.write(data)

    return Handler


@pytest.fixture(scope="session")
def stripe_api():
    fake = FakeStripe()
    port = _free_port()
    server = ThreadingHTTPServer(("127.0.0.1", port), _handler(fake))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="fake-stripe", daemon=True)
    thread.start()
    with socket.create_connection(("127.0.0.1", port), timeout=2):
        pass
    fake.server, fake.url = server, f"http://127.0.0.1:{port}"
    yield fake
    server.shutdown()
    server.server_close()
    thread.join(timeout=2)


@pytest.fixture
def stripe_server(stripe_api):
    stripe_api.clear()
    return stripe_api
