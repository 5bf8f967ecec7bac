"""A webhook receiver on a real loopback socket that verifies what it gets with the
``standardwebhooks`` package, for the gateway's service, end-to-end and resilience tests."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


class _Server(ThreadingHTTPServer):
    # Taking the receiver down must not wait for connections a sender left half-open.
    daemon_threads = True
    block_on_close = False


@dataclass
class Received:
    """One webhook request as the receiver saw it."""

    webhook_id: str
    timestamp: str
    signature: str
    body: dict[str, Any]
    verified_with: list[str]
    refused_by: list[str]


@dataclass
class Receiver:
    """A webhook receiver on a real loopback socket.

    Every request is checked with the ``standardwebhooks`` package against each secret in
    ``secrets``; the result is kept per request. ``status`` is what it answers; ``stop`` takes
    it down (connections refused) and ``start`` brings it back on the same port.
    """

    secrets: list[str] = field(default_factory=list)
    status: int = 204
    retry_after: str | None = None
    received: list[Received] = field(default_factory=list)
    port: int = 0
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            timeout = 5  # a sender that stalls mid-request cannot hold the receiver up

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("content-length", "0")))
                headers = {k.lower(): v for k, v in self.headers.items()}
                ok, refused = [], []
                for secret in list(receiver.secrets):
                    try:
                        Webhook(secret).verify(raw, headers)
                        ok.append(secret)
                    except WebhookVerificationError:
                        refused.append(secret)
                with receiver._lock:
                    receiver.received.append(
                        Received(
                            webhook_id=headers.get("webhook-id", ""),
                            timestamp=headers.get("webhook-timestamp", ""),
                            signature=headers.get("webhook-signature", ""),
                            body=json.loads(raw),
                            verified_with=ok,
                            refused_by=refused,
                        )
                    )
                self.send_response(receiver.status)
                if receiver.retry_after is not None:
                    self.send_header("Retry-After", receiver.retry_after)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = _Server(("127.0.0.1", self.port), Handler)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def of_type(self, event_type: str) -> list[Received]:
        with self._lock:
            return [r for r in self.received if r.body.get("type") == event_type]

    def with_id(self, webhook_id: str) -> list[Received]:
        with self._lock:
            return [r for r in self.received if r.webhook_id == webhook_id]


@contextlib.contextmanager
def receiving(**kwargs: Any) -> Iterator[Receiver]:
    receiver = Receiver(**kwargs).start()
    try:
        yield receiver
    finally:
        receiver.stop()
