"""Composition root of the disclosure service (政务公开)."""

from __future__ import annotations

from fastapi import FastAPI

from services.disclosure import api
from shared.app import ServiceSpec, create_service_app
from shared.messaging.bus import Bus
from shared.settings import CommonSettings, ServiceSettings

SPEC = ServiceSpec(
    name="disclosure",
    title="政务公开 Disclosure",
    description="文件形成或变更后限时公开，不予公开须书面说明并经分管市长签字（D1–D5）。",
    routers=[api.router],
)


def create_app(
    common: CommonSettings | None = None, settings: ServiceSettings | None = None, bus: Bus | None = None
) -> FastAPI:
    return create_service_app(SPEC, common=common, settings=settings, bus=bus)
