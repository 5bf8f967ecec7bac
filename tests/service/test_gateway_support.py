"""Harness of the gateway tests (no tests here): the four domain services served over real HTTP,
a gateway wired to them, a webhook receiver that verifies with the ``standardwebhooks`` package,
and upstreams that never answer or are not there.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from services.gateway.app import create_app
from services.gateway.runtime import Clock, utc_now
from services.gateway.settings import DOMAIN_SERVICES, GatewaySettings
from shared.messaging.memory import MemoryBus
from shared.settings import CommonSettings, ServiceSettings
from tests.support import apps
from tests.support.apps import service_app
from tests.support.infra import PostgresSource

# Short retries for tests; the production default is the Standard Webhooks schedule.
TEST_SCHEDULE = [0.0, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2]


def free_socket() -> socket.socket:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@asynccontextmanager
async def serve(app: FastAPI) -> AsyncIterator[str]:
    """Serve ``app`` with uvicorn on a free loopback port in this event loop."""
    sock = free_socket()
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, lifespan="on", log_config=None, access_log=False, timeout_graceful_shutdown=2)
    )
    task = asyncio.create_task(server._serve(sockets=[sock]))
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError("server stopped during startup")
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
        sock.close()


@asynccontextmanager
async def black_hole() -> AsyncIterator[str]:
    """An upstream that accepts connections and never answers."""
    held: list[asyncio.StreamWriter] = []

    async def swallow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)
        with contextlib.suppress(Exception):
            await reader.read(-1)

    server = await asyncio.start_server(swallow, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        for writer in held:
            writer.close()
        server.close()


def closed_port_url() -> str:
    sock = free_socket()
    port = sock.getsockname()[1]
    sock.close()
    return f"http://127.0.0.1:{port}"


@dataclass
class Domain:
    """The four domain services, each on its own database, sharing one in-process bus."""

    common: CommonSettings
    bus: MemoryBus
    urls: dict[str, str]


@pytest.fixture(scope="module")
async def domain(postgres: PostgresSource) -> AsyncIterator[Domain]:
    common = apps.test_settings()
    bus = MemoryBus()
    async with AsyncExitStack() as stack:
        urls = {}
        for name in DOMAIN_SERVICES:
            app = service_app(name, await postgres.new_database(), common, bus)
            urls[name] = await stack.enter_async_context(serve(app))
        yield Domain(common=common, bus=bus, urls=urls)


def gateway_settings(domain: Domain, **overrides: Any) -> GatewaySettings:
    values: dict[str, Any] = {f"{name}_url": url for name, url in domain.urls.items()}
    values.update(
        webhook_retry_schedule_seconds=TEST_SCHEDULE,
        webhook_retry_jitter=0.0,
        webhook_poll_seconds=0.05,
        webhook_timeout_seconds=3.0,
        openapi_cache_seconds=30.0,
    )
    values.update(overrides)
    return GatewaySettings(**values)


def gateway_app(
    domain: Domain,
    database_url: str,
    *,
    clock: Clock = utc_now,
    common: CommonSettings | None = None,
    **overrides: Any,
) -> FastAPI:
    app: FastAPI = create_app(
        common=common or domain.common,
        settings=ServiceSettings(database_url=database_url),
        bus=domain.bus,
        gateway_settings=gateway_settings(domain, **overrides),
        clock=clock,
    )
    return app


async def until(check: Callable[[], Any], *, timeout: float = 30.0, what: str = "condition") -> Any:
    """Poll ``check`` (sync or async) until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached within {timeout}s")
        await asyncio.sleep(0.05)


def document(department: str = "fgw") -> dict[str, str]:
    return {
        "document_number": f"湖政办发〔2018〕{uuid.uuid4().int % 90000 + 1}号",
        "title": "关于进一步优化营商环境的通知",
        "drafting_department": department,
        "formed_on": "2018-06-14",
    }


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
