"""A local stand-in for Stripe's API: an HTTP server on 127.0.0.1 (a free port, a thread of the
test process) that records every request the adapter makes and answers with the response bodies
Stripe documents. Like Stripe, a repeated POST with the same ``Idempotency-Key`` gets the first
response again, marked ``Idempotent-Replayed``. Events are signed the way Stripe signs them."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl


@dataclass
class RecordedRequest:
    method: str
    path: str
    idempotency_key: str | None
    authorization: str | None
    params: dict[str, str]


@dataclass
class FakeStripe:
    requests: list[RecordedRequest] = field(default_factory=list)
    sessions: dict[str, dict[str, Any]] = field(default_factory=dict)
    intents: dict[str, dict[str, Any]] = field(default_factory=dict)
    replies: dict[str, tuple[int, bytes]] = field(default_factory=dict)
    hold_first_create: threading.Event | None = None
    create_started: threading.Event = field(default_factory=threading.Event)
    ids: Any = field(default_factory=lambda: itertools.count(1))
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None
    hosted_page: bool = False  # serve the checkout page too (browser tests)

    @property
    def base(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def posts(self, path: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.method == "POST" and r.path == path]

    def gets(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.method == "GET"]

    def pay(
        self, session_id: str, *, amount: int | None = None, currency: str | None = None
    ) -> str:
        """The player pays on the hosted page: the session completes with a PaymentIntent."""
        session = self.sessions[session_id]
        intent_id = f"pi_test_{next(self.ids)}"
        session.update(status="complete", payment_status="paid", payment_intent=intent_id)
        if amount is not None:
            session["amount_total"] = amount
        if currency is not None:
            session["currency"] = currency
        self.intents[intent_id] = payment_intent(session, intent_id)
        return intent_id

    # ------------------------------------------------------------ HTTP

    def handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length).decode() if length else ""
        path = handler.path.split("?", 1)[0]
        key = handler.headers.get("Idempotency-Key")
        with self.lock:
            self.requests.append(
                RecordedRequest(
                    method,
                    path,
                    key,
                    handler.headers.get("Authorization"),
                    dict(parse_qsl(raw, keep_blank_values=True)),
                )
            )
            replay = self.replies.get(f"{path}|{key}") if key and method == "POST" else None
        if replay is not None:
            self._send(handler, *replay, replayed=True)
            return
        if method == "GET" and path.startswith("/c/pay/"):  # the hosted page: the player pays
            session_id = path.rsplit("/", 1)[-1]
            self.pay(session_id)
            handler.send_response(303)
            handler.send_header("Location", str(self.sessions[session_id]["success_url"]))
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        status, body = self._route(method, path, dict(parse_qsl(raw, keep_blank_values=True)))
        encoded = json.dumps(body).encode()
        if key and method == "POST":
            with self.lock:
                self.replies[f"{path}|{key}"] = (status, encoded)
        self._send(handler, status, encoded)

    def _send(
        self, handler: BaseHTTPRequestHandler, status: int, body: bytes, replayed: bool = False
    ) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        handler.send_header("Request-Id", f"req_{next(self.ids)}")
        if replayed:
            handler.send_header("Idempotent-Replayed", "true")
        handler.end_headers()
        handler.wfile.write(body)

    def _route(self, method: str, path: str, params: dict[str, str]) -> tuple[int, dict[str, Any]]:
        parts = path.strip("/").split("/")
        if method == "POST" and path == "/v1/checkout/sessions":
            self.create_started.set()
            if self.hold_first_create is not None:
                hold, self.hold_first_create = self.hold_first_create, None
                hold.wait(timeout=30)
            session = checkout_session(f"cs_test_{next(self.ids):04d}{'a' * 56}", params)
            if self.hosted_page:
                session["url"] = f"{self.base}/c/pay/{session['id']}"
            self.sessions[session["id"]] = session
            return 200, session
        if method == "GET" and parts[:3] == ["v1", "checkout", "sessions"] and len(parts) == 4:
            if parts[3] in self.sessions:
                return 200, self.sessions[parts[3]]
            return 404, not_found("checkout.session", parts[3])
        if method == "GET" and parts[:2] == ["v1", "payment_intents"] and len(parts) == 3:
            if parts[2] in self.intents:
                return 200, self.intents[parts[2]]
            return 404, not_found("payment_intent", parts[2])
        if method == "POST" and path == "/v1/refunds":
            return 200, refund(f"re_test_{next(self.ids)}", params)
        return 404, not_found("resource", path)


def checkout_session(session_id: str, params: dict[str, str]) -> dict[str, Any]:
    """https://docs.stripe.com/api/checkout/sessions/object (fields the adapter reads, and more)."""
    amount = int(params["line_items[0][price_data][unit_amount]"])
    return {
        "id": session_id,
        "object": "checkout.session",
        "amount_subtotal": amount,
        "amount_total": amount,
        "cancel_url": params.get("cancel_url"),
        "client_reference_id": params.get("client_reference_id"),
        "created": int(time.time()),
        "currency": params["line_items[0][price_data][currency]"],
        "customer": None,
        "expires_at": int(params.get("expires_at") or time.time() + 86400),
        "livemode": False,
        "metadata": {"receipt": params.get("metadata[receipt]")},
        "mode": params.get("mode"),
        "payment_intent": None,
        "payment_method_types": ["card"],
        "payment_status": "unpaid",
        "status": "open",
        "success_url": params.get("success_url"),
        "url": f"https://checkout.stripe.com/c/pay/{session_id}",
    }


def payment_intent(session: dict[str, Any], intent_id: str) -> dict[str, Any]:
    """https://docs.stripe.com/api/payment_intents/object"""
    return {
        "id": intent_id,
        "object": "payment_intent",
        "amount": session["amount_total"],
        "amount_received": session["amount_total"],
        "currency": session["currency"],
        "last_payment_error": None,
        "latest_charge": f"ch_for_{intent_id}",
        "livemode": False,
        "metadata": dict(session["metadata"]),
        "status": "succeeded",
    }


def refund(refund_id: str, params: dict[str, str]) -> dict[str, Any]:
    """https://docs.stripe.com/api/refunds/object"""
    return {
        "id": refund_id,
        "object": "refund",
        "amount": int(params["amount"]),
        "charge": f"ch_for_{params['payment_intent']}",
        "created": int(time.time()),
        "currency": "krw",
        "metadata": {},
        "payment_intent": params["payment_intent"],
        "reason": None,
        "status": "succeeded",
    }


def not_found(kind: str, ident: str) -> dict[str, Any]:
    return {
        "error": {
            "code": "resource_missing",
            "message": f"No such {kind}: '{ident}'",
            "type": "invalid_request_error",
        }
    }


def event(event_type: str, obj: dict[str, Any], *, event_id: str | None = None) -> dict[str, Any]:
    """https://docs.stripe.com/api/events/object"""
    return {
        "id": event_id or f"evt_test_{time.time_ns()}",
        "object": "event",
        "api_version": "2025-10-29.clover",
        "created": int(time.time()),
        "data": {"object": obj},
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": event_type,
    }


def sign(body: bytes, secret: str, *, timestamp: int | None = None) -> str:
    """The ``Stripe-Signature`` header: t=…,v1=HMAC-SHA256(secret, "{t}.{payload}")."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    signed = f"{timestamp}.".encode() + body
    signature = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={signature}"


def start() -> FakeStripe:
    fake = FakeStripe()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            fake.handle(self, "GET")

        def do_POST(self) -> None:
            fake.handle(self, "POST")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    fake.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=fake.server.serve_forever, daemon=True).start()
    return fake
