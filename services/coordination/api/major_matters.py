"""Routes of the major matters (年度重大事项, C8): the year's list, adjustments, monthly progress
reports, on-site checks, close-off (销号) and the chasing list of matters behind."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status

from services.coordination.api.deps import created
from services.coordination.domain import MatterState
from services.coordination.major_schemas import (
    BehindItem,
    ChangeView,
    CheckCreate,
    CheckView,
    CloseOffDecisionCreate,
    CloseOffRequestCreate,
    CloseOffView,
    MajorListCreate,
    MajorListView,
    MajorMatterAdjust,
    MajorMatterIn,
    MajorMatterSummary,
    MajorMatterView,
    MilestoneDoneCreate,
    MilestoneView,
    PlannedMilestone,
    PlanRequest,
    ProgressReportCreate,
    ProgressReportView,
)
from services.coordination.service import major_matters, major_progress
from shared.deps import CtxDep, Department, NowDep, Office, Organizer, OverseerOrDepartment, PageDep, YearPath
from shared.pagination import Page, linked

router = APIRouter(prefix="/v1", tags=["重大事项 major matters"])

WHO = (
    "\n\n身份：市政府办公室（office）与督查室（supervis"
    "or）可查看全部；部门（department）可查看本部门牵头或配合的"
    "事项；领导（leader，department 声明为领导代码）可查看本人分管的事项。"
)
REFUSALS = (
    "\n\n错误以 problem+json 返回，注明字段（field）与规则（rule: C8）：节点日期晚于完成时限"
    "（milestone-after-completion）、同一年度序号重复（duplicate-matter-number）、未知的部门或领导代码。"
)


@router.post(
    "/major-matter-lists/{year}",
    status_code=status.HTTP_201_CREATED,
    summary="登记年度重大事项清单（批量）",
    description=(
        "市政府办公室一次登记一个年度的重大事项清单：每件事项含任务"
        "表（task）、时间表（milestones，节点日期不晚于"
        "完成时限，可用 /major-matter-plans 倒排工期"
        "）、责任表（牵头单位、配合单位、分管市领导、责任人）与季度目标。"
        "全部或全不：任一行有误整张清单不登记，422 的 errors 逐条列出行号（row，从1起）、字段（field，如 "
        "matters.2.lead_department）、规则与说明。每件事"
        "项发布 matter-listed，并按月生成月报义务（每月由牵头单位于"
        "次月政策配置之日前报送）。" + REFUSALS
    ),
)
async def register_list(
    year: YearPath, body: MajorListCreate, ctx: CtxDep, response: Response, principal: Office, now: NowDep
) -> MajorListView:
    view = await major_matters.register_list(ctx, year, body, principal, now)
    return created(response, f"/v1/major-matter-lists/{year}/matters", view)


@router.post(
    "/major-matter-lists/{year}/matters",
    status_code=status.HTTP_201_CREATED,
    summary="逐件登记重大事项",
    description="市政府办公室向年度清单增加一件重大事项；序号与已登记的重复返回 409。" + REFUSALS,
)
async def register_one(
    year: YearPath, body: MajorMatterIn, ctx: CtxDep, response: Response, principal: Office, now: NowDep
) -> MajorMatterView:
    view = await major_matters.register_one(ctx, year, body, principal, now)
    return created(response, f"/v1/major-matters/{view.id}", view)


@router.get(
    "/major-matter-lists/{year}/matters",
    summary="年度重大事项清单",
    description="按序号分页；只列出调用者可查看的事项。" + WHO,
)
async def list_year(
    year: YearPath,
    request: Request,
    response: Response,
    ctx: CtxDep,
    principal: OverseerOrDepartment,
    page: PageDep,
    lead_department: Annotated[str | None, Query(description="牵头单位代码")] = None,
    state: Annotated[MatterState | None, Query(description="状态")] = None,
) -> Page[MajorMatterSummary]:
    result = await major_matters.list_year(ctx, year, principal, page, lead_department, state)
    return linked(request, response, result)


@router.post(
    "/major-matter-plans",
    summary="倒排工期：由完成时限倒推节点日期",
    description=(
        "按先后顺序给出各步骤及所需天数，最后一步在完成时限完成"
        "，之前每一步在下一步开始前完成（001 六 倒排工期）。"
        "只计算，不保存；结果可直接作为 milestones 提交。"
    ),
)
async def plan(body: PlanRequest, principal: OverseerOrDepartment) -> list[PlannedMilestone]:
    return major_matters.plan(body)


@router.get(
    "/major-matters/{matter_id}",
    summary="查看重大事项",
    description="任务表、时间表、责任表、月报义务。" + WHO,
)
async def get_matter(
    matter_id: str, ctx: CtxDep, principal: OverseerOrDepartment, now: NowDep
) -> MajorMatterView:
    return await major_matters.get(ctx, matter_id, principal, now)


@router.patch(
    "/major-matters/{matter_id}",
    summary="调整重大事项",
    description=(
        "市政府办公室调整已列入清单的事项，须说明理由；每次调整（调整人、时间、内容、理由）记入调整记录。"
        "已完成或已通报进展迟缓的节点不能改期或撤销；已销号的事项不能调整（409）。" + REFUSALS
    ),
)
async def adjust(
    matter_id: str, body: MajorMatterAdjust, ctx: CtxDep, principal: Office, now: NowDep
) -> MajorMatterView:
    return await major_matters.adjust(ctx, matter_id, body, principal, now)


@router.get(
    "/major-matters/{matter_id}/history",
    summary="调整记录",
    description="登记、调整、销号申请与核验的记录。" + WHO,
)
async def history(matter_id: str, ctx: CtxDep, principal: OverseerOrDepartment) -> list[ChangeView]:
    return await major_matters.history(ctx, matter_id, principal)


@router.post(
    "/major-matters/{matter_id}/progress-reports",
    status_code=status.HTTP_201_CREATED,
    summary="报送月度进展",
    description=(
        "牵头单位报送已结束月份的进展：各节点状态（已完成的须填"
        "完成日期）、佐证材料、迟缓原因。报告完成的节点自此不再"
        "计为迟缓。拒绝（rule: C8）：月份尚未结束（month-not-ended）、非牵头单位（403 not-lead-department）、"
        "该月已报送（409）。晚于次月报送日24:00的标为 late。发布 progress-reported。"
    ),
)
async def report_progress(
    matter_id: str,
    body: ProgressReportCreate,
    ctx: CtxDep,
    response: Response,
    principal: Department,
    now: NowDep,
) -> ProgressReportView:
    view = await major_progress.report(ctx, matter_id, body, principal, now)
    return created(response, f"/v1/major-matters/{matter_id}/progress-reports", view)


@router.post(
    "/major-matters/{matter_id}/milestones/{milestone_id}/completion",
    summary="报告节点完成",
    description=(
        "牵头单位随时报告某节点已完成（附佐证材料），不必等到月"
        "报；节点日期24:00前报告的，该节点不计为进展迟缓。"
        "完成日期不能晚于今天；已完成或已撤销的节点返回 409。"
    ),
)
async def complete_milestone(
    matter_id: str,
    milestone_id: str,
    body: MilestoneDoneCreate,
    ctx: CtxDep,
    principal: Department,
    now: NowDep,
) -> MilestoneView:
    return await major_progress.complete_milestone(ctx, matter_id, milestone_id, body, principal, now)


@router.get("/major-matters/{matter_id}/progress-reports", summary="月度进展报告", description=WHO.strip())
async def progress_reports(
    matter_id: str, ctx: CtxDep, principal: OverseerOrDepartment
) -> list[ProgressReportView]:
    return await major_progress.reports(ctx, matter_id, principal)


@router.post(
    "/major-matters/{matter_id}/checks",
    status_code=status.HTTP_201_CREATED,
    summary="记录现场实地督查",
    description="市政府督查室（或办公室）记录现场督查的日期、人员、情况与附件（不公开）。",
)
async def record_check(
    matter_id: str, body: CheckCreate, ctx: CtxDep, response: Response, principal: Organizer, now: NowDep
) -> CheckView:
    view = await major_progress.record_check(ctx, matter_id, body, principal, now)
    return created(response, f"/v1/major-matters/{matter_id}/checks", view)


@router.get("/major-matters/{matter_id}/checks", summary="现场督查记录", description=WHO.strip())
async def checks(matter_id: str, ctx: CtxDep, principal: OverseerOrDepartment) -> list[CheckView]:
    return await major_progress.checks(ctx, matter_id, principal)


@router.post(
    "/major-matters/{matter_id}/close-off-requests",
    status_code=status.HTTP_201_CREATED,
    summary="申请销号",
    description=(
        "牵头单位对已完成的事项附佐证材料申请销号（004 销号制度）。尚有未"
        "报告完成的节点时 422（milestones-unfinished，"
        "rule: C8）；已有待核验的申请或已销号时 409。"
    ),
)
async def request_close_off(
    matter_id: str,
    body: CloseOffRequestCreate,
    ctx: CtxDep,
    response: Response,
    principal: Department,
    now: NowDep,
) -> CloseOffView:
    view = await major_progress.request_close_off(ctx, matter_id, body, principal, now)
    return created(response, f"/v1/major-matters/{matter_id}/close-off-requests", view)


@router.post(
    "/major-matters/{matter_id}/close-off-decision",
    summary="核验销号申请",
    description=(
        "市政府办公室核验佐证材料：closed-off 销号（发布 matter"
        "-closed-off，事项保留在年度清单中，尚未到期的月报不再要求）；"
        "refused 退回并说明理由（reason 必填），事项回到推进中。"
    ),
)
async def decide_close_off(
    matter_id: str, body: CloseOffDecisionCreate, ctx: CtxDep, principal: Office, now: NowDep
) -> CloseOffView:
    return await major_progress.decide_close_off(ctx, matter_id, body, principal, now)


@router.get(
    "/major-matters/{matter_id}/close-off-requests", summary="销号申请与核验", description=WHO.strip()
)
async def close_offs(matter_id: str, ctx: CtxDep, principal: OverseerOrDepartment) -> list[CloseOffView]:
    return await major_progress.close_offs(ctx, matter_id, principal)


@router.get(
    "/major-matters-behind",
    summary="进展迟缓、待跟踪督查的事项",
    description=(
        "节点日期24:00前未报告完成的节点、次月报送日24:00前未报送"
        "的月报，由定时任务发现并各发布一次 deadline-passed"
        "（subject_kind 为 major-milestone 或 major-mont"
        "hly-report，parent_id 为事项编号，department 为牵头单位）；"
        "此处列出仍未补上的，供跟踪督查。" + WHO
    ),
)
async def behind(
    ctx: CtxDep,
    principal: OverseerOrDepartment,
    year: Annotated[int | None, Query(description="清单年度")] = None,
) -> list[BehindItem]:
    return await major_progress.behind_list(ctx, principal, year)
