"""Composition root of the gateway: routing, auth, the docs portal."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI

from services.gateway import api, portal, proxy
from services.gateway.settings import GatewaySettings
from shared.app import ServiceContext, ServiceSpec, create_service_app
from shared.messaging.bus import Bus
from shared.settings import CommonSettings, ServiceSettings


def _lifespan_for(gateway_settings: GatewaySettings):  # type: ignore[no-untyped-def]
    @asynccontextmanager
    async def upstreams(app: FastAPI, ctx: ServiceContext) -> AsyncIterator[None]:
        timeout = httpx.Timeout(gateway_settings.upstream_timeout_seconds, connect=2.0)
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=50)
        app.state.upstreams = {
            name: httpx.AsyncClient(base_url=url, timeout=timeout, limits=limits)
            for name, url in gateway_settings.upstreams().items()
        }
        app.state.gateway_settings = gateway_settings
        app.state.openapi_cache = portal.OpenApiCache(gateway_settings.openapi_cache_seconds)
        try:
            yield
        finally:
            for client in app.state.upstreams.values():
                await client.aclose()

    return upstreams


def create_app(
    common: CommonSettings | None = None,
    settings: ServiceSettings | None = None,
    bus: Bus | None = None,
    gateway_settings: GatewaySettings | None = None,
) -> FastAPI:
    gw = gateway_settings or GatewaySettings()
    spec = ServiceSpec(
        name="gateway",
        title="效能 Xiaoneng API",
        description="统一接口与文档门户。",
        routers=[api.router, portal.router, proxy.router],
        extra_lifespan=_lifespan_for(gw),
        openapi_url=None,
    )
    app = create_service_app(spec, common=common, settings=settings, bus=bus)
    app.mount("/static", portal.STATIC, name="static")
    return app
