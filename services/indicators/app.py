"""Composition root of the indicators service (重要指标"保五争三")."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from services.indicators import api, sweeper
from services.indicators.service.catalogue import seed_catalogue
from services.indicators.service.duties import recompute_deadlines
from services.indicators.settings import IndicatorsSettings
from shared.app import ServiceContext, ServiceSpec, create_service_app
from shared.messaging.bus import Bus
from shared.settings import CommonSettings, ServiceSettings


@asynccontextmanager
async def _seeded(app: FastAPI, ctx: ServiceContext) -> AsyncIterator[None]:
    # The catalogue starts as the reference list (000 附件1); seeding is idempotent per item.
    await seed_catalogue(ctx)
    yield


SPEC = ServiceSpec(
    name="indicators",
    title="保五争三 Indicators",
    description=(
        "重要指标和考核事项“保五争三”：指标目录（动态调整），省里发布的全省排名，月度、季度、年度通报"
        "（JSON、HTML、XLSX），第5位以后的汇报说明，连续三次第5位以后的约谈（I1–I5）。"
    ),
    routers=api.ROUTERS,
    sweepers=[sweeper.overdue_report_duties],
    extra_lifespan=_seeded,
    recompute_deadlines=recompute_deadlines,
)


def create_app(
    common: CommonSettings | None = None, settings: ServiceSettings | None = None, bus: Bus | None = None
) -> FastAPI:
    app = create_service_app(SPEC, common=common, settings=settings, bus=bus)
    # Which city this deployment serves (XN_INDICATORS_OUR_CITY); the routes read it.
    app.state.indicator_settings = IndicatorsSettings()
    return app
