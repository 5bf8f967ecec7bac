"""Composition root of the gateway: routing, auth, limits, idempotency, portal, composites, webhooks."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import httpx
from fastapi import FastAPI
from starlette.middleware import Middleware

from services.gateway import api, calendar, composite, idempotency, portal, proxy
from services.gateway.catalog import Catalog
from services.gateway.domain import QuotaPolicy, RateLimiter
from services.gateway.guard import GatewayGuard
from services.gateway.runtime import Clock, GatewayRuntime, utc_now
from services.gateway.settings import GatewaySettings
from services.gateway.webhooks import api as webhooks_api
from services.gateway.webhooks import handlers as webhook_handlers
from services.gateway.webhooks import service as webhooks
from services.gateway.webhooks.delivery import DeliveryWorker
from shared.app import ServiceContext, ServiceSpec, create_service_app
from shared.messaging.bus import Bus
from shared.settings import CommonSettings, ServiceSettings


@dataclass
class _Wiring:
    """Late-bound pieces: the consumer and the sweeper exist before the lifespan builds them."""

    settings: GatewaySettings
    clock: Clock
    runtime: GatewayRuntime | None = None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def wake(self) -> None:
        if self.runtime is not None and self.runtime.worker is not None:
            self.runtime.worker.wake()

    def first_delay(self) -> float:
        return self.settings.webhook_retry_schedule_seconds[0]


def _limiter(gw: GatewaySettings) -> RateLimiter:
    def policy(quota: int) -> QuotaPolicy:
        return QuotaPolicy("per-client", quota, gw.rate_limit_window_seconds)

    return RateLimiter(
        policy(gw.rate_limit_requests), {c: policy(q) for c, q in gw.rate_limit_overrides.items()}
    )


def _lifespan_for(wiring: _Wiring):  # type: ignore[no-untyped-def]
    gw = wiring.settings

    @asynccontextmanager
    async def gateway(app: FastAPI, ctx: ServiceContext) -> AsyncIterator[None]:
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=50)
        upstreams = {
            name: httpx.AsyncClient(
                base_url=url,
                timeout=httpx.Timeout(
                    gw.upstream_timeout(name),
                    connect=min(gw.upstream_connect_timeout_seconds, gw.upstream_timeout(name)),
                ),
                limits=limits,
            )
            for name, url in gw.upstreams().items()
        }
        # Webhook receivers are other organisations' servers: no redirects, no cookies kept.
        webhook_http = httpx.AsyncClient(
            timeout=gw.webhook_timeout_seconds, follow_redirects=False, limits=limits
        )
        runtime = GatewayRuntime(
            settings=gw,
            common=ctx.common,
            db=ctx.db,
            verifier=app.state.verifier,
            catalog=Catalog(upstreams, lambda: portal.gateway_document(app), gw.openapi_cache_seconds),
            limiter=_limiter(gw),
            upstreams=upstreams,
            clock=wiring.clock,
        )
        wiring.runtime = runtime
        app.state.gateway = runtime
        app.state.upstreams = upstreams
        app.state.gateway_settings = gw
        app.state.openapi_cache = portal.OpenApiCache(gw.openapi_cache_seconds)
        if gw.webhooks_enabled:
            runtime.worker = DeliveryWorker(runtime, webhook_http)
            wiring.tasks.append(asyncio.create_task(runtime.worker.run(), name="gateway-webhook-deliveries"))
        try:
            yield
        finally:
            for task in wiring.tasks:
                task.cancel()
            for task in wiring.tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            wiring.tasks.clear()
            await webhook_http.aclose()
            for client in upstreams.values():
                await client.aclose()

    return gateway


def _sweeper(wiring: _Wiring):  # type: ignore[no-untyped-def]
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
    gw = gateway_settings or GatewaySettings()
    wiring = _Wiring(settings=gw, clock=clock)
    spec = ServiceSpec(
        name="gateway",
        title="效能 Xiaoneng API",
        description="统一接口与文档门户。",
        routers=[
            api.router,
            calendar.router,
            webhooks_api.router,
            composite.router,
            portal.router,
            proxy.router,
        ],
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
