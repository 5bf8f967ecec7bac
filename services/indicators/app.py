"""Composition root of the indicators service (重要指标"保五争三")."""

from __future__ import annotations

from fastapi import FastAPI

from services.indicators import api
from shared.app import ServiceSpec, create_service_app
from shared.messaging.bus import Bus
from shared.settings import CommonSettings, ServiceSettings

SPEC = ServiceSpec(
    name="indicators",
    title="保五争三 Indicators",
    description="全省排名通报，第5位以后作汇报说明，连续三次约谈（I1–I5）。",
    routers=[api.router],
)


def create_app(
    common: CommonSettings | None = None, settings: ServiceSettings | None = None, bus: Bus | None = None
) -> FastAPI:
    return create_service_app(SPEC, common=common, settings=settings, bus=bus)
