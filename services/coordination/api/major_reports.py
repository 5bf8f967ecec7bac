"""Routes of what the office makes of the major matters (C8): the monthly internal bulletin (JSON,
printable HTML, XLSX), the quarterly public page and Atom feed (no token), and the year-end scores."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status
from fastapi.responses import HTMLResponse

from services.coordination import rendering
from services.coordination.major_schemas import MonthlyBulletin, QuarterlyPage, ScoresCreate, YearScores
from services.coordination.service import major_reports
from shared.deps import CtxDep, NowDep, Office, Overseer, OverseerOrDepartment, YearPath

router = APIRouter(prefix="/v1", tags=["重大事项 major matters"])

ATOM_MEDIA_TYPE = "application/atom+xml"
BULLETIN = (
    "市政府办公室每月内部通报（C8）：该年度清单中截至该月"
    "末已列入的每件事项一行，列出各节点完成情况、是否进展迟缓"
    "（逾期未报告完成的节点、逾期未报的月报）、牵头单位在"
    "该月月报中说明的原因、该月月报是否报送。按该月月报截止"
    "时刻（次月政策配置之日24:00）判断，之前按当前时刻。内部通报：市政府办公室、督查室与市领导可读。"
)
PUBLIC = (
    "每季度媒体公布（C8），无需令牌。只含公开字段：序号、"
    "名称、任务、牵头与配合单位、分管市领导、完成时限、本季度"
    "目标、节点完成情况、可公开的进展表述（月报 public_su"
    "mmary）与状态；不含责任人、联系电话、内部进展、迟缓原因、"
    "佐证材料与督查记录。"
)


@router.get("/major-matter-bulletins/{month}", summary="重大事项月度通报", description=BULLETIN)
async def bulletin(month: str, ctx: CtxDep, principal: Overseer, now: NowDep) -> MonthlyBulletin:
    return await major_reports.monthly_bulletin(ctx, month, now)


@router.get(
    "/major-matter-bulletins/{month}/bulletin.html",
    summary="重大事项月度通报（可打印 HTML）",
    description=BULLETIN + " A4 横向，可在浏览器中打印为 PDF。",
    response_class=HTMLResponse,
    responses={200: {"content": {"text/html": {}}, "description": "月度通报 HTML"}},
)
async def bulletin_html(month: str, ctx: CtxDep, principal: Overseer, now: NowDep) -> HTMLResponse:
    return HTMLResponse(rendering.bulletin_html(await major_reports.monthly_bulletin(ctx, month, now)))


@router.get(
    "/major-matter-bulletins/{month}/bulletin.xlsx",
    summary="重大事项月度通报（XLSX）",
    description=BULLETIN + " 以 Excel 工作簿下载，每件事项一行。",
    response_class=Response,
    responses={200: {"content": {rendering.XLSX_MEDIA_TYPE: {}}, "description": "月度通报工作簿"}},
)
async def bulletin_xlsx(month: str, ctx: CtxDep, principal: Overseer, now: NowDep) -> Response:
    body = rendering.bulletin_xlsx(await major_reports.monthly_bulletin(ctx, month, now))
    return Response(
        body,
        media_type=rendering.XLSX_MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="major-matters-{month}.xlsx"'},
    )


@router.post(
    "/major-matter-publications/{quarter}",
    status_code=status.HTTP_201_CREATED,
    summary="公布季度进展",
    description=(
        "市政府办公室公布已结束季度（如 2018-Q2）的重大事项"
        "进展：按季度末24:00的状态生成公开页面并冻结；每季度一次"
        "（再次公布返回 409），季度未结束返回 422（quarter-not-ended，rule: C8）。" + PUBLIC
    ),
)
async def publish_quarter(quarter: str, ctx: CtxDep, principal: Office, now: NowDep) -> QuarterlyPage:
    return await major_reports.publish_quarter(ctx, quarter, principal, now)


@router.get(
    "/major-matter-publications/feed.atom",
    summary="重大事项季度进展（Atom）",
    description="已公布的各季度重大事项进展，Atom 1.0 订阅源，无需令牌。",
    response_class=Response,
    responses={200: {"content": {ATOM_MEDIA_TYPE: {}}, "description": "Atom 1.0 feed"}},
)
async def feed(ctx: CtxDep, limit: Annotated[int, Query(ge=1, le=100, description="条数")] = 20) -> Response:
    return Response(await major_reports.atom_feed(ctx, limit), media_type=f"{ATOM_MEDIA_TYPE}; charset=utf-8")


@router.get("/major-matter-publications/{quarter}", summary="重大事项季度进展（公开）", description=PUBLIC)
async def quarterly_page(quarter: str, ctx: CtxDep) -> QuarterlyPage:
    return await major_reports.quarterly_page(ctx, quarter)


@router.get(
    "/major-matter-publications/{quarter}/page.html",
    summary="重大事项季度进展（公开 HTML）",
    description=PUBLIC,
    response_class=HTMLResponse,
    responses={200: {"content": {"text/html": {}}, "description": "季度进展 HTML"}},
)
async def quarterly_html(quarter: str, ctx: CtxDep) -> HTMLResponse:
    return HTMLResponse(rendering.quarterly_html(await major_reports.quarterly_page(ctx, quarter)))


@router.post(
    "/major-matter-lists/{year}/scores",
    summary="记录年底打分评价",
    description=(
        "市政府办公室记录市政府常务会议对该年度每件重大事项的"
        "打分（C8 年底打分评价）：自该年最后一个月起可录入，"
        "分值 0 至政策配置的满分（score_max）；同一事项再次打分替换前一次，两次都记入事项的调整记录。"
    ),
)
async def record_scores(
    year: YearPath, body: ScoresCreate, ctx: CtxDep, principal: Office, now: NowDep
) -> YearScores:
    return await major_reports.record_scores(ctx, year, body, principal, now)


@router.get(
    "/major-matter-lists/{year}/scores",
    summary="年底打分评价",
    description="该年度清单中调用者可查看的每件事项及其得分（未打分为空）。",
)
async def year_scores(year: YearPath, ctx: CtxDep, principal: OverseerOrDepartment) -> YearScores:
    return await major_reports.year_scores(ctx, year, principal)
