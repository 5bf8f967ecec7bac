"""Composition root of the coordination service (会办事项限时办结, 领导批示督办)."""

from __future__ import annotations

from fastapi import FastAPI

from services.coordination import api, sweeper
from services.coordination.service.recompute import recompute_deadlines
from shared.app import ServiceSpec, create_service_app
from shared.messaging.bus import Bus
from shared.settings import CommonSettings, ServiceSettings

SPEC = ServiceSpec(
    name="coordination",
    title="会办督办 Coordination",
    description=(
        "部门会办事项限时办结、逾期视作同意、逐级报告、超期统计与领导批示督办（C1–C7），年度重大事项（C8）。\n\n"
        "身份：department 角色令牌的 department 声明为部门代码；leader 角色令牌的 department 声明为领导代码"
        "（如 dsg-urban、vm-urban）；office 与 supervisor 可查看全部。"
    ),
    routers=api.ROUTERS,
    sweepers=list(sweeper.SWEEPERS),
    recompute_deadlines=recompute_deadlines,
)


def create_app(
    common: CommonSettings | None = None, settings: ServiceSettings | None = None, bus: Bus | None = None
) -> FastAPI:
    return create_service_app(SPEC, common=common, settings=settings, bus=bus)
