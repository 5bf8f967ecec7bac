"""Composition root of the gateway: routing, auth, limits, idempotency, portal, composites, webhooks."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass

import httpx
from fastapi import FastAPI
from starlette.middleware import Middleware

from services.gateway import api, calendar, composite, idempotency, portal, problem_pages, proxy
from services.gateway.accounts import api as accounts_api
from services.gateway.catalog import Catalog
from services.gateway.domain import QuotaPolicy, RateLimiter
from services.gateway.guard import GatewayGuard
from services.gateway.runtime import GatewayRuntime
from services.gateway.settings import GatewaySettings
from services.gateway.webhooks import api as webhooks_api
from services.gateway.webhooks import handlers as webhook_handlers
from services.gateway.webhooks import service as webhooks
from services.gateway.webhooks.delivery import DeliveryWorker
from shared.app import ServiceContext, ServiceSpec, Sweeper, create_service_app
from shared.clock import Clock, utc_now
from shared.messaging.bus import Bus
from shared.settings import CommonSettings, ServiceSettings

ROUTERS = (
    api.router,
    accounts_api.router,
    calendar.router,
    webhooks_api.router,
    composite.router,
    portal.router,
    problem_pages.router,
    proxy.router,
)
_LIMITS = httpx.Limits(max_connections=200, max_keepalive_connections=50)


@dataclass
class _Wiring:
    """Late-bound pieces: the consumer and the sweeper exist before the lifespan builds them."""

    settings: GatewaySettings
    clock: Clock
    runtime: GatewayRuntime | None = None

    def wake(self) -> None:
        if self.runtime is not None:
            self.runtime.wake_worker()

    def first_delay(self) -> float:
        return self.settings.webhook_retry_schedule_seconds[0]


def _limiter(gw: GatewaySettings) -> RateLimiter:
    def policy(quota: int) -> QuotaPolicy:
        return QuotaPolicy("per-client", quota, gw.rate_limit_window_seconds)

    return RateLimiter(
        policy(gw.rate_limit_requests), {c: policy(q) for c, q in gw.rate_limit_overrides.items()}
    )


def _upstream_clients(gw: GatewaySettings) -> dict[str, httpx.AsyncClient]:
    """One long-lived client per domain service, each with its own timeout."""
    return {
        name: httpx.AsyncClient(
            base_url=url,
            timeout=httpx.Timeout(
                gw.upstream_timeout(name),
                connect=min(gw.upstream_connect_timeout_seconds, gw.upstream_timeout(name)),
            ),
            limits=_LIMITS,
        )
        for name, url in gw.upstreams().items()
    }


def _start_worker(runtime: GatewayRuntime) -> None:
    gw = runtime.settings
    # Webhook receivers are other organisations' servers: no redirects, no cookies kept.
    http = httpx.AsyncClient(timeout=gw.webhook_timeout_seconds, follow_redirects=False, limits=_LIMITS)
    runtime.worker = DeliveryWorker(runtime, http)
    # One of the service's tasks: the kernel stops it with the others, before the database closes
    # (the worker gives back its leases and closes its client as it stops).
    task = asyncio.create_task(runtime.worker.run(), name="gateway-webhook-deliveries")
    runtime.ctx.tasks.append(task)


def _lifespan_for(
    wiring: _Wiring,
) -> Callable[[FastAPI, ServiceContext], AbstractAsyncContextManager[None]]:
    gw = wiring.settings

    @asynccontextmanager
    async def gateway(app: FastAPI, ctx: ServiceContext) -> AsyncIterator[None]:
        upstreams = _upstream_clients(gw)
        runtime = GatewayRuntime(
            ctx=ctx,
            settings=gw,
            verifier=app.state.verifier,
            catalog=Catalog(upstreams, lambda: portal.gateway_document(app), gw.openapi_cache_seconds),
            limiter=_limiter(gw),
            upstreams=upstreams,
            clock=wiring.clock,
        )
        wiring.runtime = runtime
        app.state.gateway = runtime
        app.state.openapi_cache = portal.OpenApiCache(gw.openapi_cache_seconds)
        if gw.webhooks_enabled:
            _start_worker(runtime)
        try:
            yield
        finally:
            for client in upstreams.values():
                await client.aclose()

    return gateway


def _sweeper(wiring: _Wiring) -> Sweeper:
    async def sweep_expired_records(ctx: ServiceContext) -> int:
        """Idempotency keys past their 24 h, webhook messages past their retention."""
        rt = wiring.runtime
        if rt is None:
            return 0
        now = rt.clock()
        return await idempotency.purge_expired(rt.db, now) + await webhooks.purge_old_messages(rt, now)

    return sweep_expired_records


def create_app(
    common: CommonSettings | None = None,
    settings: ServiceSettings | None = None,
    bus: Bus | None = None,
    gateway_settings: GatewaySettings | None = None,
    clock: Clock = utc_now,
) -> FastAPI:
    """The gateway; ``clock`` is its transport clock (``GatewayRuntime.clock``), business time
    is the kernel's (``XN_CLOCK_START`` outside production)."""
    gw = gateway_settings or GatewaySettings()
    wiring = _Wiring(settings=gw, clock=clock)
    spec = ServiceSpec(
        name="gateway",
        title="效能 Xiaoneng API",
        description="统一接口与文档门户。",
        routers=ROUTERS,
        subscriptions=[webhook_handlers.subscription(clock, wiring.first_delay, wiring.wake)]
        if gw.webhooks_enabled
        else [],
        sweepers=[_sweeper(wiring)],
        extra_lifespan=_lifespan_for(wiring),
        openapi_url=None,
        # The gateway owns the official holiday tables (services/gateway/calendar.py).
        keeps_calendar=False,
    )
    app = create_service_app(spec, common=common, settings=settings, bus=bus)
    # Inside the request-context middleware, so refusals carry the request id and are counted.
    app.user_middleware.append(Middleware(GatewayGuard))
    app.mount("/static", portal.STATIC, name="static")
    return app
