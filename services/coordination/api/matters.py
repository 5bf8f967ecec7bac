"""Routes of joint matters (会办事项交办单) and their items."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status
from fastapi.responses import HTMLResponse

from services.coordination import rendering
from services.coordination.api.deps import PRINCIPALS, created
from services.coordination.domain import ItemState
from services.coordination.schemas import (
    CorrectionCreate,
    DeadlineTier,
    FeedbackCreate,
    ItemView,
    JointMatterCreate,
    JointMatterView,
    MatterSummary,
)
from services.coordination.service import items, matters
from shared.deps import CtxDep, Department, Drafter, NowDep, OverseerOrDepartment, PageDep
from shared.pagination import Page, linked

router = APIRouter(prefix="/v1", tags=["会办事项 joint matters"])


@router.get(
    "/deadline-tiers",
    summary="会办反馈时限档次",
    description=(
        "当前政策配置下会办事项的反馈时限档次与所需审批（C2）：一般性常规工作不超过 routine 天；"
        "较为复杂的重大事项经分管市长同意不超过 complex 天；超过须报请市政府主要领导同意。公开读取。"
    ),
)
async def deadline_tiers(ctx: CtxDep) -> list[DeadlineTier]:
    c = ctx.profile.coordination
    return [
        DeadlineTier(
            tier="routine", max_days=c.routine_feedback.amount, unit=c.routine_feedback.unit, approval=None
        ),
        DeadlineTier(
            tier="complex",
            max_days=c.complex_feedback_max.amount,
            unit=c.complex_feedback_max.unit,
            approval=c.complex_approval_level,
        ),
        DeadlineTier(
            tier="beyond",
            max_days=None,
            unit=c.complex_feedback_max.unit,
            approval=c.beyond_complex_approval_level,
        ),
    ]


@router.post(
    "/joint-matters",
    status_code=status.HTTP_201_CREATED,
    summary="交办会办事项（开具交办单）",
    description=(
        "主办单位（或市政府办公室代为登记）按附件2开具部门会办事项交办单：交办依据、主办事项、每个会办单位一项会办"
        "事项、办理反馈时限及要求、联系人、联系电话、传真、附件；自动抄报市政府督查室（C1）。\n\n"
        "时限（C2）：不超过一般性常规工作时限（3天）无需审批；不超"
        "过复杂重大事项上限（10天）须在 approvals 中记录"
        "主办单位分管市长的同意；超过上限须记录市长同意；否则以 422 拒绝并"
        "引用规则 C2。单项可用 items[].feedback_days "
        "设定不同时限。截止时刻为最后一日24:00（Asia/Shanghai），交办当日不计入，最后一日遇法定节假日顺延。\n\n"
        "每个会办事项发布一条 task-assigned 事件（kind=joint-"
        "item）。更正交办单时用 supersedes 链接原单，原单不变。\n\n" + PRINCIPALS
    ),
)
async def open_matter(
    body: JointMatterCreate, ctx: CtxDep, response: Response, principal: Drafter, now: NowDep
) -> JointMatterView:
    view = await matters.open_matter(ctx, body, principal, now)
    return created(response, f"/v1/joint-matters/{view.id}", view)


@router.get(
    "/joint-matters",
    summary="交办单列表",
    description=(
        "按开具时间倒序分页。市政府办公室和督查室看到全部；部门看到本部门主办、会办或抄报的；领导看到本人审批"
        "或逐级报告给本人的。\n\n" + PRINCIPALS
    ),
)
async def list_matters(
    request: Request,
    response: Response,
    ctx: CtxDep,
    principal: OverseerOrDepartment,
    page: PageDep,
    lead_department: Annotated[str | None, Query(description="主办单位代码")] = None,
    department: Annotated[str | None, Query(description="会办单位代码")] = None,
) -> Page[MatterSummary]:
    return linked(
        request, response, await matters.list_matters(ctx, principal, page, lead_department, department)
    )


@router.get(
    "/joint-matters/{matter_id}",
    summary="查看交办单",
    description="交办单及各会办事项的状态、截止时刻、反馈和报告。" + PRINCIPALS,
)
async def get_matter(
    matter_id: str, ctx: CtxDep, principal: OverseerOrDepartment, now: NowDep
) -> JointMatterView:
    return await matters.get_matter(ctx, matter_id, principal, now)


@router.get(
    "/joint-matters/{matter_id}/sheet",
    summary="打印交办单（附件2 版式）",
    description=(
        "按附件2《部门会办事项交办单（模板）》版式生成的可打印 HT"
        "ML（A4）。暂不提供 PDF：可在浏览器中打印为 PDF。"
    ),
    response_class=HTMLResponse,
    responses={200: {"content": {"text/html": {}}, "description": "交办单 HTML"}},
)
async def matter_sheet(
    matter_id: str, ctx: CtxDep, principal: OverseerOrDepartment, now: NowDep
) -> HTMLResponse:
    view = await matters.get_matter(ctx, matter_id, principal, now)
    return HTMLResponse(rendering.sheet_html(view))


@router.get(
    "/joint-items",
    summary="会办事项列表",
    description=(
        "按交办时间倒序分页。部门看到本部门会办的和本部门主办的事项；市政府办公室和督查室看到全部。"
        + PRINCIPALS
    ),
)
async def list_items(
    request: Request,
    response: Response,
    ctx: CtxDep,
    principal: OverseerOrDepartment,
    page: PageDep,
    now: NowDep,
    department: Annotated[str | None, Query(description="会办单位代码")] = None,
    state: Annotated[ItemState | None, Query(description="状态")] = None,
) -> Page[ItemView]:
    return linked(request, response, await items.list_items(ctx, principal, page, department, state, now))


@router.get(
    "/joint-items/{item_id}", summary="查看会办事项", description="会办事项的状态、反馈与报告。" + PRINCIPALS
)
async def get_item(item_id: str, ctx: CtxDep, principal: OverseerOrDepartment, now: NowDep) -> ItemView:
    return await items.get_item(ctx, item_id, principal, now)


@router.post(
    "/joint-items/{item_id}/acknowledgement",
    summary="领办会办事项",
    description=(
        "会办单位确认收到并领办（assigned → acknowle"
        "dged）。领办后到期既未反馈也未办理的，视作同意办理（C4）。"
        "仅限该会办单位本身。"
    ),
)
async def acknowledge(item_id: str, ctx: CtxDep, principal: Department, now: NowDep) -> ItemView:
    return await items.acknowledge(ctx, item_id, principal, now)


@router.post(
    "/joint-items/{item_id}/feedback",
    status_code=status.HTTP_201_CREATED,
    summary="书面反馈会办情况（意见）",
    description=(
        "会办单位报送书面反馈：须由单位主要领导签字（signed_by）并加盖公章（stamped=true）（C3），可附附件。"
        "时限内反馈即办结（answered，终态）。到期未反馈的事项已视作同意（或视作同意办理），终态不变；此后的反馈"
        "作为逾期反馈（late）记录一次并与事项链接，其时间与超"
        "期原因列入附件3统计表。已办结的事项再次反馈返回 409，"
        "更正请用 corrections。只有该会办单位本身可以反馈，其他部门返回 403。发布 feedback-submitted 事件。"
    ),
)
async def submit_feedback(
    item_id: str, body: FeedbackCreate, ctx: CtxDep, response: Response, principal: Department, now: NowDep
) -> ItemView:
    view = await items.submit_feedback(ctx, item_id, body, principal, now)
    return created(response, f"/v1/joint-items/{item_id}", view)


@router.post(
    "/joint-items/{item_id}/corrections",
    status_code=status.HTTP_201_CREATED,
    summary="更正反馈",
    description=(
        "终态不可重开：更正作为新的反馈记录（kind=correction）保存，并链接被更正的反馈（corrects）；原记录不变，"
        "不发布新的 feedback-submitted 事件。仅限该会办单位本身。"
    ),
)
async def correct_feedback(
    item_id: str, body: CorrectionCreate, ctx: CtxDep, response: Response, principal: Department, now: NowDep
) -> ItemView:
    view = await items.correct_feedback(ctx, item_id, body, principal, now)
    return created(response, f"/v1/joint-items/{item_id}", view)
