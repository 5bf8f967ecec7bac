"""Composition root of the disclosure service (政务公开)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from services.disclosure import api, search, service, sweeper
from services.disclosure.settings import disclosure_settings
from shared.app import ServiceContext, ServiceSpec, create_service_app
from shared.messaging.bus import Bus
from shared.settings import CommonSettings, ServiceSettings


@asynccontextmanager
async def _search_ready(app: FastAPI, ctx: ServiceContext) -> AsyncIterator[None]:
    # jieba loads its dictionary in about a second: before the first request, not during it.
    await asyncio.to_thread(search.warm_up)
    yield


SPEC = ServiceSpec(
    name="disclosure",
    title="政务公开 Disclosure",
    description=(
        "市政府及市政府办公室文件自形成或变更之日起限时在门户网站公开（D1），不予公开须有法定理由、"
        "起草部门书面说明并经分管市长签字（D2），逾期未公开自动记录并通报（D3）；"
        "公开目录含索引号、文号等目录信息（D4），任何人可检索和阅读（D5）。"
    ),
    routers=api.ROUTERS,
    sweepers=[sweeper.sweep_overdue, sweeper.sweep_requests],
    recompute_deadlines=service.recompute_deadlines,
    extra_lifespan=_search_ready,
)


def create_app(
    common: CommonSettings | None = None, settings: ServiceSettings | None = None, bus: Bus | None = None
) -> FastAPI:
    return create_service_app(SPEC, common=common, settings=disclosure_settings(settings), bus=bus)
