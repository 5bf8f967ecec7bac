"""/v1/annual-reports: table 三 of an organ's annual report on disclosure (D8), JSON, HTML or XLSX."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Response
from fastapi.responses import HTMLResponse

from services.disclosure.schemas import AnnualReport
from services.disclosure.service import annual_report as service
from services.disclosure.service.statistics import XLSX_MEDIA_TYPE
from shared.deps import AnyOfficial, CtxDep

router = APIRouter(prefix="/v1/annual-reports", tags=["政府信息公开年度报告 annual report"])


@router.get(
    "/{department}/{year}",
    summary="年度报告表三：收到和处理政府信息公开申请情况",
    description=(
        "D8：按国办公开办函〔2021〕30号格式生成机关某年的表三。列为申请人类型（自然人；法人或其他组织："
        "商业企业、科研机构、社会公益组织、法律服务机构、其他）和总计；行为本年新收、上年结转、本年度办理结果"
        "（予以公开、部分公开、不予公开八项理由、无法提供三项、不予处理五项、其他处理三项、总计）和结转下年度继续办理。"
        "本年度办理结果按答复（或视为放弃）之日归年；上年结转为此前收到、本年1月1日仍未办结的申请；"
        "每件申请只计一次，生成前核对：各项之和等于小计，小计之和等于总计，"
        "新收 + 上年结转 = 办理结果总计 + 结转下年度。"
        "`format=html` 为可打印的表格，`format=xlsx` 为带合并表头的工作簿。"
    ),
    response_model=AnnualReport,
    responses={
        200: {
            "content": {
                "text/html": {"schema": {"type": "string"}},
                XLSX_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}},
            }
        }
    },
)
async def annual_report(
    ctx: CtxDep,
    principal: AnyOfficial,
    department: Annotated[str, Path(max_length=32, description="机关（部门代码）", examples=["fgw"])],
    year: Annotated[int, Path(ge=2004, le=2099, description="报告年度", examples=[2018])],
    format: Annotated[Literal["json", "html", "xlsx"], Query(description="输出格式")] = "json",
) -> Any:
    report = await service.annual_report(ctx, department, year)
    if format == "json":
        return report
    if format == "html":
        return HTMLResponse(service.to_html(report))
    name = f"annual-report-{department}-{year}-table3.xlsx"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    return Response(service.to_xlsx(report), media_type=XLSX_MEDIA_TYPE, headers=headers)
