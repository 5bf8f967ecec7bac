"""Composition root of the coordination service (会办事项限时办结, 领导批示督办)."""

from __future__ import annotations

from fastapi import FastAPI

from services.coordination import api
from shared.app import ServiceSpec, create_service_app
from shared.messaging.bus import Bus
from shared.settings import CommonSettings, ServiceSettings

SPEC = ServiceSpec(
    name="coordination",
    title="会办督办 Coordination",
    description="部门会办事项限时办结、逾期视作同意、逐级报告与领导批示督办（C1–C7）。",
    routers=[api.router],
)


def create_app(
    common: CommonSettings | None = None, settings: ServiceSettings | None = None, bus: Bus | None = None
) -> FastAPI:
    return create_service_app(SPEC, common=common, settings=settings, bus=bus)
