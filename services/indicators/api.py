"""Indicators HTTP routes."""

from __future__ import annotations

from fastapi import APIRouter

from services.indicators.schemas import Indicator
from shared import reference

router = APIRouter(prefix="/v1", tags=["保五争三 indicators"])


@router.get(
    "/indicators",
    summary="指标目录",
    description="“保五争三”重要指标目录（附件1）：月度、季度指标及年度考核事项，含属性与责任部门（I1）。公开，无需令牌。",
)
async def list_indicators() -> list[Indicator]:
    return [
        Indicator(
            code=i.code,
            name=i.name,
            frequency=i.frequency,
            attribute=i.attribute,
            departments=list(i.responsible_departments),
        )
        for i in reference.indicators()
    ]
