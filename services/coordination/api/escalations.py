"""Routes of the escalation chain for late items (C5)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status

from services.coordination.api.deps import PRINCIPALS, created
from services.coordination.domain import EscalationStatus
from services.coordination.schemas import (
    EscalationCreate,
    EscalationView,
    ForwardingCreate,
    VerificationCreate,
)
from services.coordination.service import escalations
from shared.deps import CtxDep, Department, Leader, NowDep, OverseerOrDepartment, PageDep
from shared.pagination import Page, linked

router = APIRouter(prefix="/v1", tags=["逐级报告 escalations"])

CHAIN = (
    "逐级报告链（C5，000 §三“对无正当理由未按时办理并反馈的配合部门，由牵头部门及时向市政府分管秘书长反映，"
    "经核查后报分管市长”）：主办单位报告 → 逾期会办单位的分管秘书长核查 → 报该单位的分管市长。"
    "报告链取逾期单位（被反映的配合部门）的分管领导，因为核查的是该单位的办理情况。每一步记录办理人与时刻，"
    "并发布 escalation-raised 事件（step=raised / v"
    "erified / forwarded）；核查结案（有正当理由）只记录、不发布。"
)


@router.post(
    "/joint-items/{item_id}/escalations",
    status_code=status.HTTP_201_CREATED,
    summary="报告逾期会办事项",
    description=(
        "仅限该事项的主办单位。事项须已逾期（过了截止时刻且未按时反馈），否则 409；每个事项报告一次。\n\n"
        + CHAIN
        + "\n\n"
        + PRINCIPALS
    ),
)
async def raise_escalation(
    item_id: str, body: EscalationCreate, ctx: CtxDep, response: Response, principal: Department, now: NowDep
) -> EscalationView:
    view = await escalations.raise_escalation(ctx, item_id, body, principal, now)
    return created(response, f"/v1/escalations/{view.id}", view)


@router.get(
    "/escalations",
    summary="报告列表",
    description=(
        "按报告时间倒序分页。领导看到报告链上有本人的报告（ho"
        "lder 过滤当前待办），部门看到本部门主办或逾期的，"
        "市政府办公室和督查室看到全部。\n\n" + PRINCIPALS
    ),
)
async def list_escalations(
    request: Request,
    response: Response,
    ctx: CtxDep,
    principal: OverseerOrDepartment,
    page: PageDep,
    holder: Annotated[str | None, Query(description="当前办理的领导代码")] = None,
    status_: Annotated[EscalationStatus | None, Query(alias="status", description="状态")] = None,
) -> Page[EscalationView]:
    return linked(
        request, response, await escalations.list_escalations(ctx, principal, page, holder, status_)
    )


@router.get("/escalations/{escalation_id}", summary="查看报告", description=CHAIN)
async def get_escalation(escalation_id: str, ctx: CtxDep, principal: OverseerOrDepartment) -> EscalationView:
    return await escalations.get_escalation(ctx, escalation_id, principal)


@router.post(
    "/escalations/{escalation_id}/verification",
    summary="分管秘书长核查",
    description=(
        "当前持有报告的领导（逾期单位的分管秘书长）核查：confirme"
        "d=true 核查属实（可报分管市长），false 有正当理由、"
        "核查结案。其他人 403；顺序不对 409。\n\n" + CHAIN + "\n\n" + PRINCIPALS
    ),
)
async def verify(
    escalation_id: str, body: VerificationCreate, ctx: CtxDep, principal: Leader, now: NowDep
) -> EscalationView:
    return await escalations.verify(ctx, escalation_id, body, principal, now)


@router.post(
    "/escalations/{escalation_id}/forwarding",
    summary="核查后报分管市长",
    description=(
        "核查属实后，由分管秘书长报逾期单位的分管市长；未核查时 409。\n\n" + CHAIN + "\n\n" + PRINCIPALS
    ),
)
async def forward(
    escalation_id: str, body: ForwardingCreate, ctx: CtxDep, principal: Leader, now: NowDep
) -> EscalationView:
    return await escalations.forward(ctx, escalation_id, body, principal, now)
