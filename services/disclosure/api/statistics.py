"""/v1/statistics: publication outcomes per department and period, as JSON, CSV or XLSX."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response

from services.disclosure import service
from services.disclosure.schemas import StatisticsReport
from shared.deps import AnyOfficial, CtxDep

router = APIRouter(prefix="/v1/statistics", tags=["政务公开统计 disclosure statistics"])


@router.get(
    "",
    summary="政务公开统计",
    description=(
        "按部门统计期间内形成（含变更）的文件版本：按时公开、逾期公开、逾期未公开、不予公开、待公开、"
        "被取代和按时公开率。期间为 `2018`、`2018-Q2` 或 `2018-05`，按版本的形成或变更日期归属。"
        "`format=csv` 或 `format=xlsx` 下载带中文表头的报表。"
    ),
    response_model=StatisticsReport,
    responses={
        200: {
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                service.XLSX_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}},
            }
        }
    },
)
async def statistics(
    ctx: CtxDep,
    principal: AnyOfficial,
    period: Annotated[str, Query(description="期间", examples=["2018-Q2"])],
    department: Annotated[str | None, Query(description="部门代码；省略为全部部门", examples=["fgw"])] = None,
    format: Annotated[Literal["json", "csv", "xlsx"], Query(description="输出格式")] = "json",
) -> Any:
    report = await service.statistics(ctx, period, department)
    if format == "json":
        return report
    name = f"disclosure-statistics-{report.period}.{format}"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    if format == "csv":
        return Response(service.to_csv(report), media_type="text/csv; charset=utf-8", headers=headers)
    return Response(service.to_xlsx(report), media_type=service.XLSX_MEDIA_TYPE, headers=headers)
