"""Harness of the gateway tests: the four domain services served over real HTTP, a gateway wired
to them, and upstreams that never answer or are not there. The webhook receiver is in
``tests.support.webhooks``.

A test module uses the module-scoped ``domain`` fixture by importing it (``from
tests.support.gateway import domain``), so each module gets its own four services.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI

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
async def serve(app: FastAPI, sock: socket.socket | None = None) -> AsyncIterator[str]:
    """Serve ``app`` with uvicorn on a free loopback port (or ``sock``) in this event loop."""
    sock = sock or free_socket()
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


def document(department: str = "fgw") -> dict[str, str]:
    return {
        "document_number": f"湖政办发〔2018〕{uuid.uuid4().int % 90000 + 1}号",
        "title": "关于进一步优化营商环境的通知",
        "drafting_department": department,
        "formed_on": "2018-06-14",
    }
