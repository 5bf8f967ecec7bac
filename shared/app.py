"""The composition of a domain service: one place where a service is wired.

``create_service_app`` builds the FastAPI app of a service from its ``ServiceSpec``. Nothing
is built at import time: the database, the bus, the relay, the consumers and the sweepers are
created in the lifespan and stopped cleanly with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response

from shared import problems
from shared.auth import TokenVerifier
from shared.db import Database
from shared.messaging.bus import Bus
from shared.messaging.consumer import ConsumerRunner, Subscription
from shared.messaging.kafka import KafkaBus, KafkaSecurity
from shared.messaging.memory import MemoryBus
from shared.messaging.outbox import OutboxRelay
from shared.migrations import upgrade
from shared.observability import Metrics, configure_logging, http_context_middleware
from shared.settings import CommonSettings, ServiceSettings, load_service_settings

log = logging.getLogger("xiaoneng.app")

Sweeper = Callable[["ServiceContext"], Awaitable[int]]


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    title: str
    description: str
    routers: Sequence[APIRouter]
    subscriptions: Sequence[Subscription] = ()
    sweepers: Sequence[Sweeper] = ()
    version: str = "1.0.0"
    # Extra resources a service holds for its lifetime (the gateway's upstream clients).
    extra_lifespan: Callable[[FastAPI, ServiceContext], AbstractAsyncContextManager[None]] | None = None
    # The gateway serves a merged document itself and turns FastAPI's own off.
    openapi_url: str | None = "/openapi.json"


@dataclass
class ServiceContext:
    """What a running service holds; reachable as ``request.app.state.ctx``."""

    spec: ServiceSpec
    common: CommonSettings
    settings: ServiceSettings
    db: Database
    bus: Bus
    tasks: list[asyncio.Task[Any]] = field(default_factory=list)
    relay: OutboxRelay | None = None
    consumers: list[ConsumerRunner] = field(default_factory=list)

    @property
    def source(self) -> str:
        return f"/xiaoneng/{self.spec.name}"


def build_bus(common: CommonSettings, client_id: str) -> Bus:
    if common.bus == "kafka":
        return KafkaBus(
            common.kafka_bootstrap_servers,
            client_id=client_id,
            security=KafkaSecurity.from_settings(common),
            create_topics=common.kafka_create_topics,
        )
    return MemoryBus()


async def _run_sweepers(ctx: ServiceContext) -> None:
    while True:
        for sweep in ctx.spec.sweepers:
            try:
                changed = await sweep(ctx)
                if changed:
                    log.info("sweeper %s changed %d items", sweep.__name__, changed)
            except Exception:
                log.exception("sweeper %s failed; will retry", sweep.__name__)
        await asyncio.sleep(ctx.common.sweep_interval_seconds)


def create_service_app(
    spec: ServiceSpec,
    *,
    common: CommonSettings | None = None,
    settings: ServiceSettings | None = None,
    bus: Bus | None = None,
) -> FastAPI:
    """Build a service. A ``bus`` passed in is shared and not started or stopped here."""
    common = common or CommonSettings()
    settings = settings or load_service_settings(spec.name)
    if common.environment == "production" and settings.fault_crash_before_send:
        raise ValueError("fault injection cannot be enabled in production")
    metrics = Metrics(spec.name)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging(common.log_level, json_lines=common.log_json)
        own_bus = bus is None
        the_bus = bus or build_bus(common, spec.name)
        db = Database(settings.database_url, pool_size=settings.database_pool_size)
        ctx = ServiceContext(spec=spec, common=common, settings=settings, db=db, bus=the_bus)
        app.state.ctx = ctx
        app.state.verifier = TokenVerifier(common)
        if common.migrate_on_start:
            await upgrade(spec.name, settings.database_url)
        if own_bus:
            await the_bus.start()
        if settings.relay_enabled:
            ctx.relay = OutboxRelay(
                db,
                the_bus,
                poll_seconds=common.relay_poll_seconds,
                crash_before_send=settings.fault_crash_before_send,
            )
            ctx.tasks.append(asyncio.create_task(ctx.relay.run(), name=f"{spec.name}-relay"))
        if settings.consumers_enabled:
            for sub in spec.subscriptions:
                runner = ConsumerRunner(
                    db,
                    the_bus,
                    sub,
                    group_prefix=f"{common.topic_prefix}{spec.name}.",
                    topic_prefix=common.topic_prefix,
                    max_attempts=common.consumer_max_attempts,
                    retry_base_seconds=common.consumer_retry_base_seconds,
                )
                ctx.consumers.append(runner)
                ctx.tasks.append(asyncio.create_task(runner.run(), name=f"{spec.name}-{sub.consumer}"))
        if settings.sweepers_enabled and spec.sweepers:
            ctx.tasks.append(asyncio.create_task(_run_sweepers(ctx), name=f"{spec.name}-sweepers"))
        log.info("service %s started", spec.name)
        try:
            if spec.extra_lifespan is not None:
                async with spec.extra_lifespan(app, ctx):
                    yield
            else:
                yield
        finally:
            for task in ctx.tasks:
                task.cancel()
            for task in ctx.tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            if own_bus:
                await the_bus.stop()
            await db.dispose()
            log.info("service %s stopped", spec.name)

    app = FastAPI(
        title=spec.title,
        description=spec.description,
        version=spec.version,
        lifespan=lifespan,
        responses=problems.PROBLEM_RESPONSES,
        openapi_url=spec.openapi_url,
        docs_url=None,
        redoc_url=None,
    )
    problems.install(app)
    app.middleware("http")(http_context_middleware(metrics))
    for router in spec.routers:
        app.include_router(router)
    app.include_router(_operations_router(metrics))
    return app


def _operations_router(metrics: Metrics) -> APIRouter:
    router = APIRouter(tags=["运维 operations"], include_in_schema=False)

    @router.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz")
    async def readyz(request: Request) -> JSONResponse:
        ctx: ServiceContext = request.app.state.ctx
        checks: dict[str, str] = {}
        for name, probe in (("database", ctx.db.ping), ("bus", ctx.bus.ping)):
            try:
                await asyncio.wait_for(probe(), timeout=3)
                checks[name] = "ok"
            except Exception as exc:
                checks[name] = f"failed: {type(exc).__name__}"
        # Only the database gates readiness: with the broker gone a write still commits its event
        # to the outbox, so taking the pod out of service would refuse writes for nothing. The
        # bus is reported, and the status says "degraded" while it is down.
        ready = checks["database"] == "ok"
        status = "not-ready" if not ready else "ready" if checks["bus"] == "ok" else "degraded"
        return JSONResponse({"status": status, "checks": checks}, status_code=200 if ready else 503)

    @router.get("/metrics")
    async def metrics_endpoint() -> Response:
        return metrics.render()

    return router
