"""Assessment scheme routes (考核, E6): schemes per year, scores, proposals, results.

Who may do what: the office (``office``, ``supervisor``) sets the year's scheme (a shipped scheme
file or a whole document, versioned) and publishes the results; an assessing unit — a caller
whose token names the department the item's ``assessors`` list — enters scores and deductions
under its items (one by one or a whole batch), confirms or dismisses the deductions the platform
proposes from its facts, and closes its tiers, rank and panel items; everyone reads the results
once published.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request, Response, status
from fastapi.responses import HTMLResponse

from services.evaluation import assessment_rendering
from services.evaluation.api import PUBLIC_READ, Anyone
from services.evaluation.assessment_schemas import (
    ClosureView,
    ConfirmIn,
    DismissIn,
    EntryIn,
    EntryPage,
    EntryRecorded,
    EntryView,
    ImportIn,
    ImportRecorded,
    ProposalView,
    ResultsView,
    SchemeSummary,
    SchemeVersionIn,
    SchemeVersionView,
    UnitBreakdown,
    WithdrawIn,
)
from services.evaluation.service import assessment
from shared.deps import AnyOfficial, CtxDep, Organizer, PageDep
from shared.pagination import linked

router = APIRouter(prefix="/v1/assessment", tags=["考核 assessment"])
ROUTERS = (router,)

Year = Annotated[int, Path(ge=1949, le=2999, description="考核年度", examples=[2013])]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get("/schemes", summary="考核方案文件", description="随平台提供、启动时已校验的考核方案文件（E6）。")
async def list_schemes(principal: AnyOfficial) -> list[SchemeSummary]:
    return assessment.shipped()


@router.get("/schemes/{scheme_id}", summary="考核方案文件内容", description="方案文件的全部字段（E6）。")
async def get_shipped_scheme(scheme_id: str, principal: AnyOfficial) -> dict[str, object]:
    return assessment.shipped_document(scheme_id)


@router.put(
    "/years/{year}/scheme",
    summary="设定年度考核方案",
    description=(
        "考核办为一个年度设定考核方案：引用方案文件（based_on，可替换被考核单位名单 units）或给出完整方案"
        "（document）。每次设定产生一个新版本；各部分分值之和须等于基本分×倍数、权重之和须为100%，"
        "已有评分的单位和项目须保留；结果公布后不能再改（E6）。"
    ),
)
async def put_scheme(
    year: Year, body: SchemeVersionIn, ctx: CtxDep, principal: Organizer
) -> SchemeVersionView:
    return await assessment.put_scheme(ctx, year, body, principal)


@router.get("/years/{year}/scheme", summary="年度考核方案", description="本年度生效的考核方案（最新版本）。")
async def get_scheme(year: Year, ctx: CtxDep, principal: AnyOfficial) -> SchemeVersionView:
    return await assessment.get_scheme(ctx, year)


@router.get(
    "/years/{year}/scheme/versions",
    summary="年度考核方案的各版本",
    description="本年度考核方案的全部版本（依次），各含设定人、时间、所依据的方案文件和完整方案。",
)
async def scheme_versions(year: Year, ctx: CtxDep, principal: AnyOfficial) -> list[SchemeVersionView]:
    return await assessment.scheme_versions(ctx, year)


@router.post(
    "/years/{year}/entries",
    status_code=status.HTTP_201_CREATED,
    summary="录入评分或扣分",
    description=(
        "考核项目所列的考核单位录入一条评分或扣分，保存依据、录入人和时间（E6）。扣分超过该项剩余分值时"
        "只扣至该项分值为止，并在 notice 中说明；每事项不重复扣分的项目对同一事项第二次扣分予以拒绝（409）；"
        "不是被考核单位的评分予以拒绝。"
    ),
)
async def record_entry(year: Year, body: EntryIn, ctx: CtxDep, principal: AnyOfficial) -> EntryRecorded:
    return await assessment.record_entry(ctx, year, body, principal)


@router.post(
    "/years/{year}/entries/import",
    status_code=status.HTTP_201_CREATED,
    summary="批量导入评分或扣分",
    description="一批评分或扣分整批成功或整批拒绝；拒绝时指明第几条及其字段（entries[i].field, E6）。",
)
async def import_entries(year: Year, body: ImportIn, ctx: CtxDep, principal: AnyOfficial) -> ImportRecorded:
    return await assessment.import_entries(ctx, year, body, principal)


@router.post(
    "/years/{year}/entries/{entry_id}/withdraw",
    summary="撤销评分或扣分（更正）",
    description=(
        "考核单位在结项和结果公布前撤销录错的一条记录：记录保留并注明撤销人、时间和理由，不再计分；"
        "同一事项此后可重新扣分（E6）。"
    ),
)
async def withdraw_entry(
    year: Year, entry_id: str, body: WithdrawIn, ctx: CtxDep, principal: AnyOfficial
) -> EntryView:
    return await assessment.withdraw_entry(ctx, year, entry_id, body.reason, principal)


@router.get(
    "/years/{year}/entries", summary="评分与扣分记录", description="按录入时间顺序分页，含来源和录入人。"
)
async def list_entries(
    year: Year,
    request: Request,
    response: Response,
    ctx: CtxDep,
    principal: AnyOfficial,
    page: PageDep,
    unit: Annotated[str | None, Query(description="按被考核单位筛选")] = None,
    item: Annotated[str | None, Query(description="按考核项目筛选")] = None,
) -> EntryPage:
    return linked(request, response, await assessment.list_entries(ctx, year, page, unit, item))


@router.post(
    "/years/{year}/items/{item}/close",
    summary="结项计算",
    description=(
        "考核单位结项：按档次比例（如20%/50%/30%→5/3/1分）、组内排名（第一名得满分，每降一位递减3%）"
        "或评审组平均分计算各单位得分；须每个被考核单位都已录入（E6）。"
    ),
)
async def close_item(year: Year, item: str, ctx: CtxDep, principal: AnyOfficial) -> ClosureView:
    return await assessment.close_item(ctx, year, item, principal)


@router.get(
    "/years/{year}/proposals",
    summary="平台事件提出的扣分",
    description=(
        "方案 proposed_from 所列的部门事实（如领导批示逾期 instruction-overdue）"
        "为本年度被考核单位提出的扣分，"
        "考核单位看到本单位负责的项目，考核办看到全部。事后被补录撤销的事实不再提出扣分。"
    ),
)
async def list_proposals(
    year: Year,
    ctx: CtxDep,
    principal: AnyOfficial,
    state: Annotated[
        Literal["proposed", "confirmed", "dismissed"] | None, Query(description="按状态筛选")
    ] = None,
) -> list[ProposalView]:
    return await assessment.list_proposals(ctx, year, principal, state)


@router.post(
    "/years/{year}/proposals/{proposal_id}/confirm",
    summary="确认扣分",
    description=(
        "考核单位确认事件提出的扣分：按扣分规则（封顶、每事项不重复扣分）记入，来源为该部门事实；"
        "扣分情形未规定分值或现场查访类项目须写明 amount。"
    ),
)
async def confirm_proposal(
    year: Year, proposal_id: str, ctx: CtxDep, principal: AnyOfficial, body: ConfirmIn | None = None
) -> ProposalView:
    body = body or ConfirmIn()
    return await assessment.decide(
        ctx, year, proposal_id, principal, confirm=True, note=body.note, amount=body.amount
    )


@router.post(
    "/years/{year}/proposals/{proposal_id}/dismiss",
    summary="不予扣分",
    description="考核单位写明理由不予扣分（E6）。",
)
async def dismiss_proposal(
    year: Year, proposal_id: str, body: DismissIn, ctx: CtxDep, principal: AnyOfficial
) -> ProposalView:
    return await assessment.decide(ctx, year, proposal_id, principal, confirm=False, note=body.reason)


@router.post(
    "/years/{year}/publish",
    summary="公布考核结果",
    description=(
        "考核办公布年度考核结果（须全部单位全部项目已评分）：最后得分 =（日常考核×70% + 年末考核×30%）×10%，"
        "A类单位达标与否，B类单位名次，一等奖5%、二等奖10%（并列同名次）。公布后结果及其全部评分来源固定，"
        "发布 assessment-published 事件。"
    ),
)
async def publish(year: Year, ctx: CtxDep, principal: Organizer) -> ResultsView:
    return await assessment.publish(ctx, year, principal)


@router.get(
    "/years/{year}/results",
    openapi_extra=PUBLIC_READ,
    summary="考核结果",
    description="各单位各项目得分、分部合计、最后得分、达标与名次、先进奖。公布前考核办可看到按当前评分计算的预览。",
)
async def results(year: Year, ctx: CtxDep, principal: Anyone) -> ResultsView:
    view, _ = await assessment.results(ctx, year, principal)
    return view


@router.get(
    "/years/{year}/results.html",
    openapi_extra=PUBLIC_READ,
    summary="考核结果表（打印版）",
    response_class=HTMLResponse,
)
async def results_html(year: Year, ctx: CtxDep, principal: Anyone) -> HTMLResponse:
    view, scheme = await assessment.results(ctx, year, principal)
    return HTMLResponse(assessment_rendering.results_html(view, scheme))


@router.get(
    "/years/{year}/results.xlsx",
    openapi_extra=PUBLIC_READ,
    summary="考核结果表（XLSX）",
    response_class=Response,
    responses={200: {"content": {XLSX: {}}}},
)
async def results_xlsx(year: Year, ctx: CtxDep, principal: Anyone) -> Response:
    view, scheme = await assessment.results(ctx, year, principal)
    body = assessment_rendering.results_xlsx(view, scheme)
    disposition = f'attachment; filename="assessment-{year}.xlsx"'
    return Response(body, media_type=XLSX, headers={"Content-Disposition": disposition})


@router.get(
    "/years/{year}/units/{code}.html",
    openapi_extra=PUBLIC_READ,
    summary="单位得分明细（打印版）",
    response_class=HTMLResponse,
)
async def unit_breakdown_html(year: Year, code: str, ctx: CtxDep, principal: Anyone) -> HTMLResponse:
    return HTMLResponse(
        assessment_rendering.breakdown_html(await assessment.breakdown(ctx, year, code, principal))
    )


@router.get(
    "/years/{year}/units/{code}",
    openapi_extra=PUBLIC_READ,
    summary="单位得分明细",
    description="一个单位逐项得分及每一条评分、扣分的来源（录入、导入或平台事件）、录入人、确认人和时间。",
)
async def unit_breakdown(year: Year, code: str, ctx: CtxDep, principal: Anyone) -> UnitBreakdown:
    return await assessment.breakdown(ctx, year, code, principal)
