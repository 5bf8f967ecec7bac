"""Routes of leader instructions (领导批示, C7)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response, status

from services.coordination.api.deps import PRINCIPALS, created
from services.coordination.domain import InstructionCategory, InstructionState
from services.coordination.schemas import (
    AssignmentsCreate,
    ExplanationCreate,
    InstructionCreate,
    InstructionFeedbackCreate,
    InstructionTally,
    InstructionView,
    ProposalCreate,
)
from services.coordination.service import instructions, tallies
from shared.deps import (
    CtxDep,
    Department,
    Drafter,
    NowDep,
    Office,
    Overseer,
    OverseerOrDepartment,
    PageDep,
)
from shared.pagination import Page, linked

router = APIRouter(prefix="/v1", tags=["领导批示 instructions"])

FLOW = (
    "办理流程（C7，000 §四）：登记 → 拟办 → 交办 → 督办 →"
    " 反馈 → 归档。每件批示件须在收到当天（Asia/Shanghai，"
    "24:00 前）拟办交办；一般事项答复、请示件、群众来信“三个不过夜"
    "”。交办晚于收到当天24:00的，标记 held_overnight。"
)
PAPER = (
    " 纸质办理的批示件由市政府办公室补录：received_at、proposed_at、assigned_at、feedback_at"
    " 填写纸质记录所载的实际时刻"
    "（不得晚于现在、不得早于上一步骤的时刻，否则 422；其他身份填写返回 403，field 指明字段）。"
    "各项规则（当天拟办交办、督办时限、逾期、半月统计）按所载时刻判断；"
    "视图中 *_record 给出所载时刻（at）、录入人（recorded_by）和录入时刻（recorded_at）。"
)


@router.post(
    "/instructions",
    status_code=status.HTTP_201_CREATED,
    summary="登记批示件",
    description=FLOW + PAPER + " 仅限市政府办公室。",
)
async def register(
    body: InstructionCreate, ctx: CtxDep, response: Response, principal: Office, now: NowDep
) -> InstructionView:
    view = await instructions.register(ctx, body, principal, now)
    return created(response, f"/v1/instructions/{view.id}", view)


@router.get(
    "/instructions",
    summary="批示件列表",
    description=(
        "按登记时间倒序分页。市政府办公室和督查室看到全部；领导看到本人的批示；部门看到交办给本部门的。\n\n"
        + PRINCIPALS
    ),
)
async def list_instructions(
    request: Request,
    response: Response,
    ctx: CtxDep,
    principal: OverseerOrDepartment,
    page: PageDep,
    now: NowDep,
    category: Annotated[InstructionCategory | None, Query(description="类别")] = None,
    state: Annotated[InstructionState | None, Query(description="状态")] = None,
) -> Page[InstructionView]:
    listed = await instructions.list_instructions(ctx, principal, page, category, state, now)
    return linked(request, response, listed)


@router.get("/instructions/{instruction_id}", summary="查看批示件", description=FLOW + "\n\n" + PRINCIPALS)
async def get_instruction(
    instruction_id: str, ctx: CtxDep, principal: OverseerOrDepartment, now: NowDep
) -> InstructionView:
    return await instructions.get_instruction(ctx, instruction_id, principal, now)


@router.post(
    "/instructions/{instruction_id}/proposal",
    summary="拟办",
    description=FLOW + PAPER + " 仅限市政府办公室；已登记的批示件拟办一次。",
)
async def propose(
    instruction_id: str, body: ProposalCreate, ctx: CtxDep, principal: Office, now: NowDep
) -> InstructionView:
    return await instructions.propose(ctx, instruction_id, body, principal, now)


@router.post(
    "/instructions/{instruction_id}/assignments",
    summary="交办",
    description=(
        FLOW + " 拟办后交办给一个或多个承办部门，每个部门发布一条 task-as"
        "signed 事件（kind=instruction）。督办类批示件"
        "须为每个部门明确办理时限 due_on（最后一日），否则 422；其他类别缺省按“不过夜”计。仅限市政府办公室。"
        + PAPER
    ),
)
async def assign(
    instruction_id: str, body: AssignmentsCreate, ctx: CtxDep, principal: Office, now: NowDep
) -> InstructionView:
    return await instructions.assign(ctx, instruction_id, body, principal, now)


@router.post(
    "/instructions/{instruction_id}/archive",
    summary="归档",
    description="全部承办部门反馈后归档；尚有未反馈的返回 409。归档后不再受理任何办理。仅限市政府办公室。",
)
async def archive(instruction_id: str, ctx: CtxDep, principal: Office, now: NowDep) -> InstructionView:
    return await instructions.archive(ctx, instruction_id, principal, now)


@router.post(
    "/instruction-assignments/{assignment_id}/explanations",
    status_code=status.HTTP_201_CREATED,
    summary="书面说明（不能按时办理反馈）",
    description=(
        "有特殊情况不能按时办理反馈的，承办部门向市政府办公室作出书面说明（000 §四）。到期前作出说明的，"
        "半月统计不列为办理不积极。仅限该承办部门，反馈后不再受理。"
    ),
)
async def file_explanation(
    assignment_id: str, body: ExplanationCreate, ctx: CtxDep, principal: Department, now: NowDep
) -> InstructionView:
    return await instructions.file_explanation(ctx, assignment_id, body, principal, now)


@router.post(
    "/instruction-assignments/{assignment_id}/feedback",
    status_code=status.HTTP_201_CREATED,
    summary="反馈办理情况",
    description=(
        "承办部门反馈办理情况（一次）；过了时限的标记为逾期反馈。发布 feed"
        "back-submitted 事件（kind=instruction，submitted_at 为反馈时刻）。"
        "限该承办部门；承办部门以纸质书面反馈的，由市政府办公室录入，"
        "并可在 feedback_at 填写收到纸质反馈的时刻。" + PAPER
    ),
)
async def submit_feedback(
    assignment_id: str, body: InstructionFeedbackCreate, ctx: CtxDep, principal: Drafter, now: NowDep
) -> InstructionView:
    return await instructions.submit_feedback(ctx, assignment_id, body, principal, now)


@router.get(
    "/instruction-tallies/{period}",
    summary="督办类批示件半月统计",
    description=(
        "市政府办公室每半月统计汇总督办类批示件的办理反馈情况（C7）。pe"
        "riod 为 年-月-序号：2018-06-1 为 1–15 日，"
        "2018-06-2 为 16 日至月末（2月为16日至28/2"
        "9日）；每月统计次数取自政策配置。统计期内到期的，以及此前到期、"
        "统计期开始时仍未反馈的督办件，按统计期末（或当前时刻）的情况列出：反馈不及时（late）、逾期未反馈（missing）、"
        "办理不积极（slow：逾期且到期前未作书面说明）。"
        "补录的交办和反馈按纸质记录所载时刻统计，"
        "各行的 assigned_record、feedback_record 给出录入人和录入时刻。"
    ),
)
async def tally(
    period: Annotated[str, Path(description="统计期，例如 2018-06-1", examples=["2018-06-1"])],
    ctx: CtxDep,
    principal: Overseer,
    now: NowDep,
) -> InstructionTally:
    return await tallies.tally(ctx, period, now)
