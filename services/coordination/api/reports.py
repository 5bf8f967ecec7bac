"""Routes of the overdue table (附件3) and the ranking of late departments (C6)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import Response

from services.coordination import rendering
from services.coordination.schemas import LateRanking, OverdueTable, ReviewCreate
from services.coordination.service import reports
from shared.deps import CtxDep, Leader, NowDep, Overseer, OverseerOrDepartment

router = APIRouter(prefix="/v1", tags=["超期统计 overdue reports"])

PeriodPath = Annotated[
    str, Path(description="期别：月 2018-06、季 2018-Q2 或年 2018（按办结时限的最后一日归期）")
]

TABLE = (
    "附件3《部门会办事项超期办理反馈情况统计表》：主办单位在"
    "该期内到期、未按时反馈的会办事项，每行为 序号、会办事项、"
    "会办单位、办结时限（..月..日）、实际办理反馈时间（..月..日，未反馈的填“尚未办理反馈”）、超期原因。"
    "审核人为主办单位的分管秘书长（reviewer）。主办单位本身、市政府办公室、督查室和市领导可查看。"
)


async def _overdue_table(
    lead_department: str,
    period: PeriodPath,
    ctx: CtxDep,
    principal: OverseerOrDepartment,
    now: NowDep,
    contact_person: Annotated[str | None, Query(max_length=64, description="填报联系人")] = None,
    phone: Annotated[str | None, Query(max_length=32, description="填报联系电话")] = None,
) -> OverdueTable:
    return await reports.overdue_table(
        ctx, lead_department, period, principal, now, contact_person=contact_person, phone=phone
    )


Table = Annotated[OverdueTable, Depends(_overdue_table)]


@router.get(
    "/overdue-tables/{lead_department}/{period}",
    summary="超期办理反馈情况统计表（JSON）",
    description=TABLE + " columns 为表头，rows 与之一一对应；items 为结构化数据。",
)
async def overdue_table(table: Table) -> OverdueTable:
    return table


@router.get(
    "/overdue-tables/{lead_department}/{period}/xlsx",
    summary="超期办理反馈情况统计表（XLSX）",
    description=TABLE + " 以 Excel 工作簿下载，表头与附件3一致。",
    response_class=Response,
    responses={200: {"content": {rendering.XLSX_MEDIA_TYPE: {}}, "description": "附件3 工作簿"}},
)
async def overdue_table_xlsx(table: Table) -> Response:
    filename = f"overdue-{table.lead_department}-{table.period}.xlsx"
    return Response(
        rendering.overdue_table_xlsx(table),
        media_type=rendering.XLSX_MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.post(
    "/overdue-tables/{lead_department}/{period}/review",
    summary="分管秘书长审核统计表",
    description=(
        "附件3 注：此表经市政府分管秘书长审核后报相关市领导，同时抄送市政府督查室。仅限主办单位的分管秘书长"
        "（leader 角色，department 声明为其领导代码）；每期审核一次。"
    ),
)
async def review(
    lead_department: str, period: PeriodPath, body: ReviewCreate, ctx: CtxDep, principal: Leader, now: NowDep
) -> OverdueTable:
    return await reports.review_overdue_table(ctx, lead_department, period, body, principal, now)


@router.get(
    "/late-item-rankings/{period}",
    summary="会办单位超期事项排名",
    description=(
        "该期内到期且未按时反馈的会办事项按会办单位计数，多者在前（并列同名次），供市政府办公室通报执行不力的部门（C6）。"
    ),
)
async def late_ranking(period: PeriodPath, ctx: CtxDep, principal: Overseer, now: NowDep) -> LateRanking:
    return await reports.late_ranking(ctx, period, now)
