"""Composition root of the evaluation service (低效能部门评定)."""

from __future__ import annotations

from fastapi import FastAPI

from services.evaluation import api, assessment_api, assessment_domain, ceremony_api, handlers
from shared.app import ServiceSpec, create_service_app
from shared.messaging.bus import Bus
from shared.settings import CommonSettings, ServiceSettings

SPEC = ServiceSpec(
    name="evaluation",
    title="低效能部门评定 Evaluation",
    description="每季度100名评议人无记名投票评定低效能部门，并汇集各部门效能事实（E1–E5）。",
    routers=(*api.ROUTERS, *assessment_api.ROUTERS, ceremony_api.router),
    subscriptions=[handlers.FACTS],
)


def create_app(
    common: CommonSettings | None = None, settings: ServiceSettings | None = None, bus: Bus | None = None
) -> FastAPI:
    # The shipped assessment schemes are validated when the app is built: a bad file stops it (E6).
    assessment_domain.shipped_schemes()
    return create_service_app(SPEC, common=common, settings=settings, bus=bus)
