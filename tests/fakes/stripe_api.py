"""A local Stripe API over real HTTP (STRIPE_API_BASE points here), and signed webhooks.

Only what duebot calls: creating a Checkout Session and reading the balance (doctor). Each
session is recorded with the form Stripe's SDK sent, flat as it arrived
(`line_items[0][price_data][unit_amount]`), so tests can check what would be charged.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

TEST_KEY = "sk_test_duebot"
TEST_WEBHOOK_SECRET = "whsec_duebot_test"


@dataclass
class FakeStripe:
    sessions: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None
    failing: bool = False  # answer 500 to everything, as Stripe does in an outage

    def start(self) -> str:
        stripe = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                form = dict(parse_qsl(self.rfile.read(length).decode()))
                self._answer(*stripe.answer("POST", self.path, form, self.headers))

            def do_GET(self) -> None:
                self._answer(*stripe.answer("GET", self.path, {}, self.headers))

            def _answer(self, status: int, body: dict[str, Any]) -> None:
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def answer(
        self, method: str, path: str, form: dict[str, str], headers: Any
    ) -> tuple[int, dict[str, Any]]:
        if headers.get("Authorization") != f"Bearer {TEST_KEY}":
            return 401, {"error": {"type": "invalid_request_error", "message": "Invalid API Key"}}
        if self.failing:
            return 500, {"error": {"type": "api_error", "message": "down"}}
        if method == "GET" and path.startswith("/v1/balance"):
            return 200, {"object": "balance", "available": [], "pending": []}
        if method == "POST" and path == "/v1/checkout/sessions":
            with self.lock:
                number = len(self.sessions) + 1
                session = {
                    "id": f"cs_test_{number}",
                    "object": "checkout.session",
                    "url": f"https://checkout.stripe.test/c/pay/cs_test_{number}",
                    "mode": "payment",
                    "payment_status": "unpaid",
                    "amount_total": int(form["line_items[0][price_data][unit_amount]"]),
                    "currency": form["line_items[0][price_data][currency]"],
                    "client_reference_id": form.get("client_reference_id"),
                    "metadata": {
                        key[len("metadata[") : -1]: value
                        for key, value in form.items()
                        if key.startswith("metadata[")
                    },
                    "form": form,
                }
                self.sessions.append(session)
            return 200, {key: value for key, value in session.items() if key != "form"}
        return 404, {"error": {"type": "invalid_request_error", "message": "Unrecognized"}}


def completed_event(
    session: dict[str, Any],
    *,
    kind: str = "checkout.session.completed",
    payment_intent: str = "pi_test_1",
    payment_status: str = "paid",
    event_id: str = "evt_test_1",
) -> bytes:
    """The event Stripe sends once a Checkout Session is paid (or fails, by `kind`)."""
    data = {key: value for key, value in session.items() if key != "form"}
    data.update(payment_status=payment_status, payment_intent=payment_intent)
    event = {
        "id": event_id,
        "object": "event",
        "type": kind,
        "api_version": "2025-01-27.acacia",
        "created": int(time.time()),
        "data": {"object": data},
    }
    return json.dumps(event).encode()


def signature(payload: bytes, secret: str = TEST_WEBHOOK_SECRET, at: int | None = None) -> str:
    """Stripe-Signature as Stripe computes it: HMAC-SHA256 of "<timestamp>.<payload>"."""
    timestamp = int(time.time()) if at is None else at
    signed = f"{timestamp}.".encode() + payload
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"
