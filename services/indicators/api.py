"""Indicators HTTP routes: catalogue, releases, bulletins, report duties and interviews (I1–I5).

Who may do what: the office (市政府办公室) keeps the catalogue, records releases and publishes
bulletins; departments file their heads' reports and see their own duties; the supervision
office and city leaders read everything; the catalogue and published bulletins are public.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal, TypeVar
from urllib.parse import quote

from fastapi import APIRouter, Depends, Header, Query, Request, Response, status
from fastapi.responses import HTMLResponse

from services.indicators.bulletin import XLSX_MEDIA_TYPE, render_html, render_xlsx
from services.indicators.schemas import (
    Bulletin,
    BulletinListItem,
    Indicator,
    IndicatorAdjust,
    IndicatorCreate,
    IndicatorDetail,
    Interview,
    PublishRequest,
    ReleaseCorrection,
    ReleaseCreate,
    ReleaseSummary,
    ReleaseView,
    ReportDuty,
    ReportFiling,
)
from services.indicators.service import catalogue, duties, publication, releases
from services.indicators.settings import IndicatorsSettings
from shared.deps import CtxDep, Department, NowDep, Office, Overseer, OverseerOrDepartment, PageDep
from shared.pagination import Page, linked

T = TypeVar("T")

FrequencyFilter = Annotated[
    Literal["monthly", "quarterly", "annual"] | None, Query(description="频度：monthly、quarterly、annual")
]
# The largest PostgreSQL ``integer``: no stored edition has a higher number.
Edition = Annotated[int | None, Query(ge=1, le=2_147_483_647, description="版次，默认最新版")]

PERIOD_DOC = "期别：2018-05（月度）、2018-Q2（季度）、2018（年度）"


async def _our_city(request: Request) -> str:
    settings: IndicatorsSettings = request.app.state.indicator_settings
    return settings.our_city


OurCity = Annotated[str, Depends(_our_city)]


catalogue_router = APIRouter(prefix="/v1/indicators", tags=["保五争三 目录与发布 catalogue & releases"])


@catalogue_router.get(
    "",
    summary="指标目录",
    description=(
        "“保五争三”工作责任清单（附件1，动态调整）：月度（累计）、季度（累计）指标及年度考核事项，"
        "含指标属性、单位、发布精度与责任部门（牵头部门在前）（I1、I2）。"
        "给出 `on` 时只列出当日有效的指标及其定义；"
        "否则列出全部指标及最新定义（已停用的可从 effective_to 看出）。公开，无需令牌。"
    ),
)
async def list_indicators(
    request: Request,
    response: Response,
    page: PageDep,
    ctx: CtxDep,
    frequency: FrequencyFilter = None,
    on: Annotated[date | None, Query(description="只列出该日有效的指标")] = None,
) -> Page[Indicator]:
    return linked(request, response, await catalogue.list_indicators(ctx, page, frequency=frequency, on=on))


@catalogue_router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="新增目录事项",
    description=(
        "市政府办公室新增指标或年度考核事项（如省对市党政领导班子实绩考核、高质量发展评价等第三方评估），"
        "含生效日期；年度考核事项可设置等次及“等次靠后”的等次（I1、I4）。"
    ),
)
async def create_indicator(
    body: IndicatorCreate, response: Response, principal: Office, ctx: CtxDep
) -> IndicatorDetail:
    view = await catalogue.create_indicator(ctx, body, principal)
    response.headers["Location"] = f"/v1/indicators/{view.code}"
    return view


@catalogue_router.get(
    "/{code}", summary="目录事项", description="指标的当前定义及全部调整历史（I1）。公开，无需令牌。"
)
async def get_indicator(code: str, ctx: CtxDep) -> IndicatorDetail:
    return await catalogue.get_indicator(ctx, code)


@catalogue_router.patch(
    "/{code}",
    summary="调整目录事项（动态调整）",
    description=(
        "给出要变更的字段和 `effective_from`：新定义自该日起生效，原定义于前一日失效，未给出的字段沿用；"
        "只给出 `effective_to`：当前定义于该日失效（null 表示恢复持续有效）。"
        "会改变已通报发布所依据定义的调整被拒绝（409 published-release-would-change，I1）；"
        "已录入未通报的发布按新定义重新排名（生成新版本）。"
    ),
)
async def adjust_indicator(
    code: str, body: IndicatorAdjust, principal: Office, ctx: CtxDep, our_city: OurCity
) -> IndicatorDetail:
    return await catalogue.adjust_indicator(ctx, code, body, principal, our_city)


@catalogue_router.post(
    "/{code}/releases",
    status_code=status.HTTP_201_CREATED,
    summary="录入发布",
    description=(
        "市政府办公室录入省里某期的发布：全省各城市的数值（按发布精度四舍五入后，依指标属性方向用竞争排名"
        "“1224”法排名，并列同名次），或省里给定的本市排名（年度考核事项可给等次）（I3）。"
        "期别须与指标频度一致；城市不可重复；未给定排名时须有全部城市的数值。"
    ),
)
async def record_release(
    code: str, body: ReleaseCreate, response: Response, principal: Office, ctx: CtxDep, our_city: OurCity
) -> ReleaseView:
    view = await releases.record_release(ctx, code, body, principal, our_city)
    response.headers["Location"] = f"/v1/indicators/{code}/releases/{view.period}"
    response.headers["ETag"] = releases.etag(view.revision)
    return view


@catalogue_router.get(
    "/{code}/releases",
    summary="指标的发布",
    description="某指标各期发布（当前版本），最新期别在前。市政府办公室、督查室、市领导可读。",
)
async def list_releases(
    code: str, request: Request, response: Response, principal: Overseer, page: PageDep, ctx: CtxDep
) -> Page[ReleaseSummary]:
    return linked(request, response, await releases.list_releases(ctx, code, page))


@catalogue_router.get(
    "/{code}/releases/{period}",
    summary="查看发布",
    description=f"某期发布的当前版本与全部更正历史。{PERIOD_DOC}。ETag 为当前版本。",
)
async def get_release(
    code: str, period: str, response: Response, principal: Overseer, ctx: CtxDep
) -> ReleaseView:
    view = await releases.get_release(ctx, code, period)
    response.headers["ETag"] = releases.etag(view.revision)
    return view


@catalogue_router.post(
    "/{code}/releases/{period}/corrections",
    status_code=status.HTTP_201_CREATED,
    summary="更正发布",
    description=(
        "更正生成新版本，历史版本保留（I3）。已通报的发布更正后，须重新发布该期通报（新版次），"
        "才会发出 ranking-published 并据此增减汇报说明与约谈。可带 If-Match（ETag）防止覆盖他人的更正。"
    ),
)
async def correct_release(
    code: str,
    period: str,
    body: ReleaseCorrection,
    response: Response,
    principal: Office,
    ctx: CtxDep,
    our_city: OurCity,
    if_match: Annotated[str | None, Header(description="当前版本的 ETag")] = None,
) -> ReleaseView:
    view = await releases.correct_release(ctx, code, period, body, principal, our_city, if_match)
    response.headers["Location"] = f"/v1/indicators/{code}/releases/{view.period}"
    response.headers["ETag"] = releases.etag(view.revision)
    return view


bulletins_router = APIRouter(prefix="/v1/bulletins", tags=["保五争三 通报 bulletins"])


@bulletins_router.get(
    "",
    summary="已发布的通报",
    description="已发布的月度、季度、年度通报（含各版次），最新在前。公开，无需令牌。",
)
async def list_bulletins(
    request: Request, response: Response, page: PageDep, ctx: CtxDep, frequency: FrequencyFilter = None
) -> Page[BulletinListItem]:
    return linked(request, response, await publication.list_bulletins(ctx, page, frequency=frequency))


@bulletins_router.post(
    "/{period}/editions",
    status_code=status.HTTP_201_CREATED,
    summary="发布通报",
    description=(
        "市政府办公室发布某期（月度、季度、年度）通报（I3）："
        "对本版次新增或更正的每项发布发出 ranking-published"
        "（本市排名、责任部门、是否在第5位以后）；排名在第5位以后或等次靠后的，为牵头部门生成汇报说明义务，"
        "时限按政策参数自通报日期起算（I4）；连续三次发布排名在第5位以后的月度、季度指标及排名靠后或等次靠后的"
        "年度考核事项发出 interview-required，约谈人为牵头部门的分管市长和分管秘书长（I5）。"
        "更正已通报的发布后再次发布即生成新版次。"
    ),
)
async def publish_bulletin(
    period: str,
    response: Response,
    principal: Office,
    ctx: CtxDep,
    now: NowDep,
    our_city: OurCity,
    body: PublishRequest | None = None,
) -> Bulletin:
    bulletin = await publication.publish(ctx, period, body or PublishRequest(), principal, our_city, now)
    response.headers["Location"] = f"/v1/bulletins/{bulletin.period}?edition={bulletin.edition}"
    return bulletin


@bulletins_router.get(
    "/{period}/preview",
    summary="预览通报",
    description="按当前录入的发布预览通报（不发布、不产生义务与事件）。市政府办公室、督查室、市领导可读。",
)
async def preview_bulletin(
    period: str, principal: Overseer, ctx: CtxDep, now: NowDep, our_city: OurCity
) -> Bulletin:
    return await publication.preview(ctx, period, our_city, now)


@bulletins_router.get(
    "/{period}",
    summary="通报（JSON）",
    description=f"已发布的通报，默认最新版次。{PERIOD_DOC}。公开，无需令牌。",
)
async def get_bulletin(period: str, ctx: CtxDep, edition: Edition = None) -> Bulletin:
    return await publication.get_bulletin(ctx, period, edition)


@bulletins_router.get(
    "/{period}/bulletin.html",
    summary="通报（HTML）",
    description="已发布的通报网页：排名表、较上次变化、保五争三标记、责任部门，以及每项指标的排名走势图（SVG）。公开。",
    response_class=HTMLResponse,
    responses={200: {"content": {"text/html": {}}, "description": "通报网页"}},
)
async def get_bulletin_html(period: str, ctx: CtxDep, edition: Edition = None) -> HTMLResponse:
    bulletin = await publication.get_bulletin(ctx, period, edition)
    return HTMLResponse(render_html(bulletin))


@bulletins_router.get(
    "/{period}/bulletin.xlsx",
    summary="通报（XLSX）",
    description="已发布的通报表格：通报、各市数据、排名走势三张工作表。公开。",
    response_class=Response,
    responses={200: {"content": {XLSX_MEDIA_TYPE: {}}, "description": "通报表格"}},
)
async def get_bulletin_xlsx(period: str, ctx: CtxDep, edition: Edition = None) -> Response:
    bulletin = await publication.get_bulletin(ctx, period, edition)
    filename = quote(f"{bulletin.title}.xlsx")
    return Response(
        render_xlsx(bulletin),
        media_type=XLSX_MEDIA_TYPE,
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{filename}"},
    )


duties_router = APIRouter(prefix="/v1", tags=["保五争三 汇报与约谈 duties"])

DutyStatus = Annotated[Literal["open", "filed", "overdue", "withdrawn"] | None, Query(description="状态")]


@duties_router.get(
    "/report-duties",
    summary="汇报说明义务",
    description=("排名在第5位以后（或等次靠后）产生的汇报说明义务（I4），最新在前。部门只能看到本部门的。"),
)
async def list_report_duties(
    request: Request,
    response: Response,
    principal: OverseerOrDepartment,
    page: PageDep,
    ctx: CtxDep,
    department: Annotated[str | None, Query(description="牵头部门代码")] = None,
    status: DutyStatus = None,
    indicator: Annotated[str | None, Query(description="指标代码")] = None,
) -> Page[ReportDuty]:
    return linked(
        request,
        response,
        await duties.list_report_duties(
            ctx, principal, page, department=department, status=status, indicator=indicator
        ),
    )


@duties_router.get(
    "/report-duties/{duty_id}", summary="查看汇报说明义务", description="部门只能查看本部门的。"
)
async def get_report_duty(duty_id: str, principal: OverseerOrDepartment, ctx: CtxDep) -> ReportDuty:
    return await duties.get_report_duty(ctx, principal, duty_id)


@duties_router.post(
    "/report-duties/{duty_id}/report",
    summary="报送汇报说明",
    description=(
        "牵头部门报送主要负责人向市政府常务会议的汇报说明：问题原因、工作目标、改进措施（I4），义务关闭。"
        "逾期后仍可报送，标记为逾期；逾期本身已发出 deadline-passed（report-duty，overdue）。"
    ),
)
async def file_report(
    duty_id: str, body: ReportFiling, principal: Department, ctx: CtxDep, now: NowDep
) -> ReportDuty:
    return await duties.file_report(ctx, principal, duty_id, body, now)


@duties_router.get(
    "/interviews",
    summary="约谈",
    description=(
        "连续三次排名在第5位以后的月度、季度指标，及排名在第5位以后或等次靠后的年度考核事项引起的约谈（I5），"
        "约谈人为牵头部门的分管市长和分管秘书长。部门只能看到本部门的。"
    ),
)
async def list_interviews(
    request: Request,
    response: Response,
    principal: OverseerOrDepartment,
    page: PageDep,
    ctx: CtxDep,
    department: Annotated[str | None, Query(description="部门代码")] = None,
    status: Annotated[Literal["required", "withdrawn"] | None, Query(description="状态")] = None,
    indicator: Annotated[str | None, Query(description="指标代码")] = None,
) -> Page[Interview]:
    return linked(
        request,
        response,
        await duties.list_interviews(
            ctx, principal, page, department=department, status=status, indicator=indicator
        ),
    )


ROUTERS = (catalogue_router, bulletins_router, duties_router)
