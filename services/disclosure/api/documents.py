"""/v1/documents: registration, changes, exemption sign-off and publication (D1–D4)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Path, Query, Request, Response, status

from services.disclosure import service
from services.disclosure.domain import VersionStatus
from services.disclosure.schemas import (
    DocumentCreate,
    DocumentSummary,
    DocumentView,
    ExemptionDecisionCreate,
    PublicationCreate,
    VersionCreate,
)
from shared.auth import Principal, require_roles
from shared.deps import CtxDep, Drafter, Office, OverseerOrDepartment, PageDep
from shared.pagination import Page, linked

router = APIRouter(prefix="/v1/documents", tags=["政务公开 disclosure"])

# The vice-mayor signs; the office enters a paper sign-off later (补录). Which of the two a given
# request may do is the D2 rule's (``domain.sign_off``).
SignerOrOffice = Annotated[Principal, require_roles("leader", "office")]

# The largest PostgreSQL ``integer``: no stored version has a higher number.
Version = Annotated[int, Path(ge=1, le=2_147_483_647, description="版本号，1 为形成，每次变更加 1")]


def _located(response: Response, view: DocumentView) -> DocumentView:
    response.headers["Location"] = f"/v1/documents/{view.id}"
    response.headers["ETag"] = service.etag(view)
    return view


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="登记文件（形成）",
    description=(
        "起草部门（department 角色，令牌的 department 声明须为起草部门）或市政府办公室（office）登记"
        "一份市政府或市政府办公室文件及其目录信息（D4）。系统分配索引号"
        "（默认格式 `<组织机构代码>/<年份>-<5位序号>`，"
        "年份为形成日期所在年，同一年内连续、不重复、不复用）。公开时限自形成之日起按政策配置计算（D1，"
        "湖州 2018：10 天，最后一日24:00 截止，遇节假日顺延），发布 document-formed 事件。"
        "计算经过尚无官方节假日安排的年份时按法定节日临时计算（`deadline_provisional` 为 true），"
        "官方安排发布后未办结的版本自动重算，截止时刻变化的发布 deadline-changed 事件。\n\n"
        "公开方式为 on-request 或 withheld 时须附 exemption（理由类别与书面说明，D2），否则返回 "
        "`exemption-reason-required`；签字之前公开时限照常计算。"
    ),
)
async def register_document(
    body: DocumentCreate, ctx: CtxDep, response: Response, principal: Drafter
) -> DocumentView:
    return _located(response, await service.register_document(ctx, body, principal))


@router.get(
    "",
    summary="文件列表（内部）",
    description="按登记时间倒序列出文件及其当前版本状态，可按起草部门和状态筛选；游标分页。",
)
async def list_documents(
    ctx: CtxDep,
    request: Request,
    response: Response,
    principal: OverseerOrDepartment,
    page: PageDep,
    department: Annotated[str | None, Query(description="起草部门代码", examples=["fgw"])] = None,
    status: Annotated[VersionStatus | None, Query(description="当前版本状态", examples=["overdue"])] = None,
) -> Page[DocumentSummary]:
    return linked(
        request, response, await service.list_documents(ctx, page, department=department, status=status)
    )


@router.get(
    "/{document_id}",
    summary="查看文件",
    description=(
        "返回文件的目录信息、当前版本与公开截止时刻，以及全部版本的状态、公开和不予公开审批记录。带 ETag。"
    ),
)
async def get_document(
    document_id: str, ctx: CtxDep, response: Response, principal: OverseerOrDepartment
) -> DocumentView:
    view = await service.get_document(ctx, document_id)
    response.headers["ETag"] = service.etag(view)
    return view


@router.post(
    "/{document_id}/versions",
    status_code=status.HTTP_201_CREATED,
    summary="变更文件（新版本）",
    description=(
        "起草部门或市政府办公室登记文件变更：形成新版本，公开时限自变更之日起重新计算（D1）；"
        "旧版本全部保留，未公开的旧版本停止计时（已逾期的仍记为逾期）。发布 document-formed 事件。"
        "可带 `If-Match`（上次读取的 ETag）防止覆盖他人的变更。"
    ),
)
async def change_document(
    document_id: str,
    body: VersionCreate,
    ctx: CtxDep,
    response: Response,
    principal: Drafter,
    if_match: Annotated[str | None, Header(description="上次读取文件时的 ETag")] = None,
) -> DocumentView:
    view = await service.change_document(ctx, document_id, body, principal, if_match)
    return _located(response, view)


@router.post(
    "/{document_id}/versions/{version}/exemption/decision",
    status_code=status.HTTP_201_CREATED,
    summary="分管市长签署不予公开意见",
    description=(
        "D2：不予公开须经起草部门的分管市长签字同意。签字人由访问令牌确定：令牌须有 leader 角色，"
        "其领导代码取令牌的 `department` 声明（未设置时取 client_id），例如为分管常务副市长登记客户端 "
        "`--roles leader --department vm-executive`。领导代码不是起草部门的分管市长（见参考数据 "
        "department.vice_mayor）时返回 403 `signer-not-in-charge`，并给出 required_signer。\n\n"
        "同意（granted=true）：该版本不再需要公开，状态为 exempt。不同意：公开方式改为主动公开，"
        "原公开截止时刻不变，逾期照常记录。发布 exemption-decided 事件。\n\n"
        "签字属于办文环节（D2）：签字时刻不早于公开截止时刻（最后一日24:00）时，决定照录"
        "（`exemption.after_deadline` 为 true），但该版本仍记为逾期（D3）；尚未记为逾期的当即记录并发布 "
        "deadline-passed（每个版本只发一次），统计计入逾期。\n\n"
        "补录：市政府办公室（office）可录入纸质签字，写明 `decided_at`（纸质记录所载签字时刻）和 `signed_by`"
        "（签字的分管市长代码）；规则按 `decided_at` 判断，记录同时保留录入人和录入时刻"
        "（`recorded_by`、`recorded_at`、`backfilled`）。`decided_at` 晚于当前时刻返回 422 "
        "`decided-at-in-future`，早于版本形成日期返回 422 `decided-at-before-formation`，"
        "非办公室令牌填写返回 403 `backfill-office-only`。"
        "补录的签字早于截止时刻、而该版本已被记为逾期时，改为 exempt："
        "原逾期记录（`overdue_at`）保留，并记录撤销人和时刻（`overdue_withdrawn_by`、`overdue_withdrawn_at`），"
        "发布 deadline-passed-withdrawn 事件。"
    ),
)
async def decide_exemption(
    document_id: str,
    version: Version,
    body: ExemptionDecisionCreate,
    ctx: CtxDep,
    response: Response,
    principal: SignerOrOffice,
) -> DocumentView:
    view = await service.decide_exemption(ctx, document_id, version, body, principal)
    return _located(response, view)


@router.post(
    "/{document_id}/versions/{version}/publication",
    status_code=status.HTTP_201_CREATED,
    summary="在门户网站公开",
    description=(
        "市政府办公室（office）记录当前版本在门户网站公开的地址和时刻，并与该版本的公开截止时刻比较："
        "截止时刻之前为按时，否则为逾期公开（D1、D3）。同一版本不能公开两次（`already-published`），"
        "发布时刻不能早于形成日期（`publication-before-formation`），经批准不予公开的版本不能公开。"
        "公开后文件进入公开目录（/v1/catalogue），发布 document-published 事件。"
    ),
)
async def publish_version(
    document_id: str,
    version: Version,
    body: PublicationCreate,
    ctx: CtxDep,
    response: Response,
    principal: Office,
) -> DocumentView:
    view = await service.publish_version(ctx, document_id, version, body, principal)
    return _located(response, view)
