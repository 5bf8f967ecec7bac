"""Evaluation HTTP routes: facts, rounds, panel, reference pack, secret ballot, results (E1–E5).

Who may do what: the office (``office``) and the supervision office (``supervisor``) run rounds,
panels, the reference pack and the tally; evaluators (``evaluator``) read the pack and vote with
the account their panel entry names; leaders (``leader``) read results once tallied; everyone
reads results, ballots and designation bulletins once the results are published.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response, status
from fastapi.responses import HTMLResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from services.evaluation import service
from services.evaluation.domain import Action
from services.evaluation.schemas import (
    BallotIn,
    BallotPage,
    BallotReceipt,
    Candidate,
    CandidatesUpdate,
    DepartmentFacts,
    DesignationPage,
    DesignationView,
    Factor,
    PanelEntriesCreate,
    PanelEntryView,
    PanelView,
    ParticipationView,
    PublishedBallot,
    ReferencePack,
    ResultsView,
    RoundCreate,
    RoundPage,
    RoundView,
)
from services.evaluation.service import ballot_box, pack, panel, results, rounds
from shared import reference
from shared.auth import Principal, authenticated
from shared.deps import CtxDep, Evaluator, Organizer, OverseerOrEvaluator, PageDep
from shared.pagination import linked

router = APIRouter(prefix="/v1", tags=["低效能评定 evaluation"])
ROUTERS = (router,)

_optional_bearer = HTTPBearer(auto_error=False, description="OAuth2 client-credentials access token (JWT)")


async def optional_principal(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_optional_bearer)]
) -> Principal | None:
    """The caller if a token is given: public once published, more before that for some roles."""
    return None if credentials is None else await authenticated(request, credentials)


Anyone = Annotated[Principal | None, Depends(optional_principal)]

# The token is optional on these reads: an empty requirement among the alternatives says so to
# the gateway, which enforces each operation's OpenAPI ``security``.
PUBLIC_READ: dict[str, Any] = {"security": [{}]}
# The ballot must leave no trace linking the caller to the body or the receipt (E5): no
# idempotency record (it would keep the caller with a hash of the choices and the receipt), no
# cache, no body in any log.
SECRET_BALLOT: dict[str, Any] = {"x-secret-ballot": True}


# --- facts and reference data ---------------------------------------------------------------


@router.get(
    "/departments/{code}/facts",
    summary="部门效能事实",
    description="由其他服务的事件汇集的部门效能事实（E2 参考材料的原始记录），按种类计数。",
)
async def department_facts(
    code: str,
    request: Request,
    response: Response,
    ctx: CtxDep,
    principal: OverseerOrEvaluator,
    page: PageDep,
) -> DepartmentFacts:
    return linked(request, response, await service.department_facts_of(ctx, code, page))


@router.get("/candidates", summary="备评部门", description="参加低效能部门评定的备评部门（附件4 §一）。")
async def candidates(principal: OverseerOrEvaluator) -> list[Candidate]:
    return [Candidate(code=d.code, name=d.short_name) for d in reference.evaluable_departments()]


@router.get(
    "/consideration-factors",
    summary="考量因素",
    description="评定人员投票时可综合考量的8个因素（附件4 §四），选票理由可用其代码标注。",
)
async def factors(principal: OverseerOrEvaluator) -> list[Factor]:
    return [Factor.model_validate(f) for f in reference.consideration_factors()]


# --- rounds -----------------------------------------------------------------------------------


@router.post(
    "/rounds",
    status_code=status.HTTP_201_CREATED,
    summary="新建评定轮次",
    description=(
        "为一个季度新建“低效能”候选部门预评轮次（草拟状态）。轮次编号即被评定的季度；"
        "参考材料印发截止日与计票截止日按政策配置的评定月份计算（E2、E3），每个季度只能有一个轮次。"
    ),
)
async def create_round(body: RoundCreate, ctx: CtxDep, response: Response, principal: Organizer) -> RoundView:
    view = await rounds.create_round(ctx, body, principal)
    response.headers["Location"] = f"/v1/rounds/{view.id}"
    return view


@router.get("/rounds", summary="评定轮次列表", description="按季度倒序分页列出评定轮次。")
async def list_rounds(
    request: Request, response: Response, ctx: CtxDep, principal: OverseerOrEvaluator, page: PageDep
) -> RoundPage:
    return linked(request, response, await rounds.list_rounds(ctx, page))


@router.get("/rounds/{round_id}", summary="查看评定轮次", description="轮次状态、日程、备评部门与投票人数。")
async def get_round(round_id: str, ctx: CtxDep, principal: OverseerOrEvaluator) -> RoundView:
    return await rounds.get_round(ctx, round_id)


@router.put(
    "/rounds/{round_id}/candidates",
    summary="调整备评部门",
    description="草拟状态下调整本轮备评部门（默认为附件4 §一所列部门）。",
)
async def set_candidates(
    round_id: str, body: CandidatesUpdate, ctx: CtxDep, principal: Organizer
) -> RoundView:
    return await rounds.set_candidates(ctx, round_id, body.departments)


# The plain steps of the round's state machine (the tally and the reference pack have their own).
STEPS: tuple[tuple[Action, str, str], ...] = (
    ("open-voting", "开始投票", "参考材料已印发且评定人员组成与附件4 §三名额完全一致时开始投票（E1）。"),
    ("close-voting", "截止投票", "截止后选票公布供核对（E5）。"),
    ("publish-results", "公布评定结果", "公布后，评定结果、匿名选票与低效能部门通报向社会公开。"),
)


def _step(action: Action) -> Callable[..., Awaitable[RoundView]]:
    async def step(round_id: str, ctx: CtxDep, principal: Organizer) -> RoundView:
        return await rounds.transition(ctx, round_id, action)

    step.__name__ = action.replace("-", "_")
    return step


for _action, _summary, _description in STEPS:
    router.post(f"/rounds/{{round_id}}/{_action}", summary=_summary, description=_description)(_step(_action))


# --- panel (E1) -------------------------------------------------------------------------------


@router.post(
    "/rounds/{round_id}/panel",
    status_code=status.HTTP_201_CREATED,
    summary="列入评定人员",
    description=(
        "按附件4 §三的类别与名额（含按区分配）列入评定人员，整批成功或整批拒绝。"
        "同一人员在一轮中只能出现一次，重叠时拒绝并指明两个条目；轮流安排的人员须于投票日前规定时限报送（E1）。"
        "``account`` 是评定人员投票所用的客户端编号（访问令牌的 client_id）。"
    ),
)
async def add_panel_entries(
    round_id: str, body: PanelEntriesCreate, ctx: CtxDep, principal: Organizer
) -> list[PanelEntryView]:
    return await panel.add_entries(ctx, round_id, body, principal)


@router.get(
    "/rounds/{round_id}/panel",
    summary="评定人员名单",
    description="本轮评定人员及其组成与名额的核对结果。不显示谁已投票（E5）。",
)
async def get_panel(round_id: str, ctx: CtxDep, principal: Organizer) -> PanelView:
    return await panel.get_panel(ctx, round_id)


@router.delete(
    "/rounds/{round_id}/panel/{entry_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="移出评定人员",
    description="投票开始前调整名单（如人员重叠时作相应调整）。",
)
async def remove_panel_entry(round_id: str, entry_id: str, ctx: CtxDep, principal: Organizer) -> Response:
    await panel.remove_entry(ctx, round_id, entry_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --- reference pack (E2) --------------------------------------------------------------------


@router.post(
    "/rounds/{round_id}/publish-reference-pack",
    summary="印发参考材料",
    description=(
        "市政府督查室印发被评定季度的参考材料（E2）：由各服务事件汇集的保五争三排名、汇报与约谈事项、"
        "会办事项逾期与视作同意、领导批示逾期、文件逾期公开等。印发后内容固定。"
    ),
)
async def publish_reference_pack(round_id: str, ctx: CtxDep, principal: Organizer) -> ReferencePack:
    return await pack.publish_pack(ctx, round_id, principal)


@router.get(
    "/rounds/{round_id}/reference-pack",
    summary="参考材料",
    description="已印发的参考材料；印发前组织者可看到按当前事实生成的预览。",
)
async def get_reference_pack(round_id: str, ctx: CtxDep, principal: OverseerOrEvaluator) -> ReferencePack:
    return await pack.get_pack(ctx, round_id, principal)


@router.get(
    "/rounds/{round_id}/reference-pack.html",
    summary="参考材料（打印版）",
    description="参考材料的可打印 HTML 页面。",
    response_class=HTMLResponse,
)
async def get_reference_pack_html(round_id: str, ctx: CtxDep, principal: OverseerOrEvaluator) -> HTMLResponse:
    content = await pack.get_pack(ctx, round_id, principal)
    return HTMLResponse(pack.render_html(content))


# --- secret ballot (E1, E5) ----------------------------------------------------------------


@router.post(
    "/rounds/{round_id}/ballots",
    status_code=status.HTTP_201_CREATED,
    openapi_extra=SECRET_BALLOT,
    summary="投票（无记名）",
    description=(
        "评定人员以无记名方式预评恰好规定个数（3个）互不相同的备评部门，可附具体事例或理由，"
        "并可用附件4 §四的考量因素标注（E1）。每人每轮一票。选票以本轮选举公钥加密：客户端可自行加密并附证明"
        "（encrypted），不能加密的客户端提交 choices，由服务在内存中加密后丢弃明文；"
        "服务只核验证明、只保存密文、"
        "证明与追踪码，任何单张选票都不会被解密，事例与理由逐层密封给受托人（E5）。"
        "返回的追踪码可在投票截止后核对公布的加密选票；回应中没有投票人数等序号，投票人数于截止时公布。"
    ),
)
async def cast_ballot(
    round_id: str, body: BallotIn, ctx: CtxDep, response: Response, principal: Evaluator
) -> BallotReceipt:
    response.headers["Cache-Control"] = "no-store"
    return await ballot_box.cast_ballot(ctx, round_id, principal, body)


@router.get(
    "/rounds/{round_id}/participation/me",
    summary="我的投票状态",
    description="调用者本人是否为本轮评定人员、是否已投票。",
)
async def my_participation(round_id: str, ctx: CtxDep, principal: Evaluator) -> ParticipationView:
    return await ballot_box.participation_of(ctx, round_id, principal)


@router.get(
    "/rounds/{round_id}/ballots",
    openapi_extra=PUBLIC_READ,
    summary="公布的匿名选票",
    description=(
        "投票截止后公布的加密选票（按追踪码排序，每个备评部门的 0/1 密文及证明，不含任何评定人员信息），"
        "供核对追踪码和重新计票；按旧方式投票的轮次为明文选票及回执。"
        "结果公布前限评定人员、领导和组织者查阅，公布后公开。"
    ),
)
async def list_ballots(
    round_id: str,
    request: Request,
    response: Response,
    ctx: CtxDep,
    principal: Anyone,
    page: PageDep,
    tracker: Annotated[str | None, Query(description="只列出该追踪码的选票（查询参数不进路径日志）")] = None,
) -> BallotPage:
    found = await ballot_box.published_ballots(ctx, round_id, page, principal, tracker)
    return linked(request, response, found)


@router.get(
    "/rounds/{round_id}/ballots/{receipt}",
    openapi_extra=PUBLIC_READ,
    summary="按追踪码核对选票",
    description="评定人员用追踪码（按旧方式投票的轮次为回执）核对自己的选票已计入公布的选票。",
)
async def ballot_by_receipt(round_id: str, receipt: str, ctx: CtxDep, principal: Anyone) -> PublishedBallot:
    return await ballot_box.ballot_by_receipt(ctx, round_id, receipt, principal)


# --- tally and results (E3, E4) -----------------------------------------------------------


@router.post(
    "/rounds/{round_id}/tally",
    summary="计票",
    description=(
        "对已截止的轮次计票（E3）：按竞争排名，名次在前3位以内（含并列）且得票的部门入选，由工作小组约谈；"
        "连续两个季度入选的报请分管市长约谈（interview-required），连续三个季度入选的确定为“低效能”部门并通报"
        "（department-designated）（E4）。发布 round-tallied 事件。须按季度顺序计票。"
    ),
)
async def tally(round_id: str, ctx: CtxDep, principal: Organizer) -> ResultsView:
    return await results.tally_round(ctx, round_id, principal)


@router.get(
    "/rounds/{round_id}/results",
    openapi_extra=PUBLIC_READ,
    summary="评定结果",
    description="各备评部门得票、名次、连续入选季度数与后果。计票后市政府领导可查阅，公布后公开。",
)
async def get_results(round_id: str, ctx: CtxDep, principal: Anyone) -> ResultsView:
    return await results.get_results(ctx, round_id, principal)


@router.get(
    "/designations",
    openapi_extra=PUBLIC_READ,
    summary="低效能部门通报",
    description="确定为“低效能”部门的通报（致市四套班子领导、各县区政府、市级各部门和单位），结果公布后公开。",
)
async def list_designations(
    request: Request,
    response: Response,
    ctx: CtxDep,
    principal: Anyone,
    page: PageDep,
    department: Annotated[str | None, Query(description="按部门代码筛选")] = None,
) -> DesignationPage:
    return linked(request, response, await results.list_designations(ctx, page, principal, department))


@router.get(
    "/designations/{designation_id}",
    openapi_extra=PUBLIC_READ,
    summary="查看低效能部门通报",
    description="通报全文，结果公布后公开。",
)
async def get_designation(designation_id: str, ctx: CtxDep, principal: Anyone) -> DesignationView:
    return await results.get_designation(ctx, designation_id, principal)
