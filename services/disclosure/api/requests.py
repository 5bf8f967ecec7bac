"""Requests for government information (依申请公开, D7): the public form (no token) and the organ's
handling (registration, the answer clock, the answer)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Header, Query, Request, Response, status

from services.disclosure.domain import RequestStatus
from services.disclosure.schemas import (
    AnswerCreate,
    CompletionCreate,
    CompletionNoticeCreate,
    ConsultationCreate,
    ConsultationEnd,
    ExtensionCreate,
    RequestReceipt,
    RequestRegister,
    RequestSubmit,
    RequestSummary,
    RequestView,
)
from services.disclosure.service import requests as service
from shared.deps import CtxDep, Drafter, OverseerOrDepartment, PageDep
from shared.pagination import Page, linked

public = APIRouter(prefix="/v1/public/requests", tags=["依申请公开（公众）public requests"])
router = APIRouter(prefix="/v1/requests", tags=["依申请公开 disclosure requests"])

AccessCode = Annotated[
    str | None,
    Header(
        alias="X-Access-Code",
        max_length=64,
        description="提交申请时得到的查询码",
        examples=["K7QF-M2XD-9PRA-WT3C"],
    ),
]

_SUBMIT_EXAMPLE = {
    "department": "fgw",
    "applicant_type": "natural-person",
    "applicant": {"name": "张三", "phone": "13800000000", "email": "zhangsan@example.com"},
    "content": "2018年湖州市区老旧小区改造项目的资金安排文件",
    "form": "electronic",
    "delivery": "email",
}


_VIEW_EXAMPLE = {
    "id": "req-5c1e9a0b7d21",
    "number": "YSQ2018-48271934",
    "department": "fgw",
    "department_name": "市发改委",
    "channel": "online",
    "received_on": "2018-09-28",
    "submitted_on": None,
    "signed_for_on": None,
    "confirmed_on": "2018-09-28",
    "applicant_type": "natural-person",
    "applicant": {
        "name": "张三",
        "organisation": None,
        "id_document": None,
        "phone": "13800000000",
        "email": "zhangsan@example.com",
        "address": None,
    },
    "content": "2018年湖州市区老旧小区改造项目的资金安排文件",
    "form": "electronic",
    "delivery": "email",
    "status": "pending",
    "clock_start_on": "2018-09-28",
    "due_on": "2018-11-28",
    "deadline": "2018-11-29T00:00:00+08:00",
    "deadline_provisional": False,
    "extension_days": 20,
    "extension_reason": "涉及多个部门，需协调核实",
    "extension_consented_by": "李四（办公室主任）",
    "extension_notified_on": "2018-10-30",
    "paused_days": 0,
    "consulting_since": None,
    "completion_notified_on": None,
    "completion_items": None,
    "complete_by": None,
    "completed_on": None,
    "overdue_at": None,
    "answer": None,
    "abandoned_at": None,
    "registered_by": "public",
    "registered_at": "2018-09-28T15:00:00+08:00",
    "clock_changes": [
        {
            "change": "extended",
            "changed_at": "2018-10-30T10:00:00+08:00",
            "changed_by": "client-fgw",
            "reason": "涉及多个部门，需协调核实（经李四（办公室主任）同意，2018-10-30告知申请人）",
            "old_deadline": "2018-11-01T00:00:00+08:00",
            "new_deadline": "2018-11-29T00:00:00+08:00",
        }
    ],
}


def caller_of(request: Request) -> str:
    """The caller's address: the gateway forwards it as ``X-Forwarded-For`` (it replaces any the
    client sent); a service reached directly sees its peer."""
    forwarded = request.headers.get("x-forwarded-for")
    if forwarded:
        return forwarded.split(",")[-1].strip()[:64]
    return request.client.host if request.client is not None else "unknown"


@public.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="提交政府信息公开申请（无需账号）",
    description=(
        "公众通过网上平台向受理机关提交政府信息公开申请（第二十九条），无需账号和令牌。返回申请编号和查询码："
        "查询码只显示这一次，平台只保存其摘要，凭申请编号和查询码查看办理进度和答复。\n\n"
        "网上平台提交的申请，申请人提交与平台当即回执编号即为双方确认，以提交之日（北京时间）为收到申请之日"
        "（第三十一条），答复期限自次日起按工作日计算（政策配置，条例为20个工作日）。"
        "同一来源地址的请求受网关限流。发布 disclosure-request-received 事件（不含个人信息）。"
    ),
    responses={
        201: {
            "content": {
                "application/json": {
                    "example": {
                        "number": "YSQ2018-48271934",
                        "access_code": "K7QF-M2XD-9PRA-WT3C",
                        "received_on": "2018-09-28",
                        "due_on": "2018-11-02",
                        "deadline": "2018-11-03T00:00:00+08:00",
                    }
                }
            }
        }
    },
)
async def submit_request(
    ctx: CtxDep, body: Annotated[RequestSubmit, Body(openapi_examples={"自然人": {"value": _SUBMIT_EXAMPLE}})]
) -> RequestReceipt:
    return await service.submit_request(ctx, body)


@public.get(
    "/{number}",
    summary="申请人查看申请（凭查询码）",
    description=(
        "申请人凭申请编号和查询码（请求头 `X-Access-Code`）查看自己的申请：收到之日、答复期限及其每次变更"
        "（延期、补正、征求第三方意见）、答复。申请编号或查询码任"
        "一不正确，都同样返回 404，不能据此判断编号是否存在；"
        "同一来源地址在时间窗内错误过多返回 429 并带 `Retry-After`。"
    ),
    responses={200: {"content": {"application/json": {"example": _VIEW_EXAMPLE}}}},
)
async def lookup_request(
    number: str, ctx: CtxDep, request: Request, access_code: AccessCode = None
) -> RequestView:
    return await service.lookup_request(ctx, number[:32], access_code, caller_of(request))


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="登记收到的申请",
    description=(
        "受理机关（该部门的 department 令牌，或市政府办公室 office）登记以任何方式收到的申请。"
        "收到申请之日按第三十一条：当面提交为提交之日（submitted_on）；邮寄为签收之日（signed_for_on）；"
        "平常信函为与申请人确认之日，互联网渠道和传真为双方确认之日（confirmed_on）。"
        "缺少该方式的日期返回 422 `receipt-date-required`，填写"
        "不属于该方式的日期返回 `receipt-date-not-applicable`，"
        "晚于今天返回 `receipt-date-in-future`，早于平台节假日"
        "日历起始年份返回 `receipt-date-before-calendar`。"
        "返回申请编号和查询码（交给申请人）。"
    ),
)
async def register_request(ctx: CtxDep, body: RequestRegister, principal: Drafter) -> RequestReceipt:
    return await service.register_request(ctx, body, principal)


@router.get("", summary="申请列表", description="最新登记的在前；部门只看到本机关的申请。游标分页。")
async def list_requests(
    ctx: CtxDep,
    request: Request,
    response: Response,
    principal: OverseerOrDepartment,
    page: PageDep,
    department: Annotated[str | None, Query(description="受理机关代码", examples=["fgw"])] = None,
    status: Annotated[RequestStatus | None, Query(description="状态")] = None,
) -> Page[RequestSummary]:
    found = await service.list_requests(ctx, page, principal, department=department, status=status)
    return linked(request, response, found)


@router.get("/{request_id}", summary="查看申请", description="受理机关或市政府办公室查看申请的全部信息。")
async def get_request(request_id: str, ctx: CtxDep, principal: Drafter) -> RequestView:
    return await service.get_request(ctx, request_id, principal)


@router.post(
    "/{request_id}/extension",
    status_code=status.HTTP_201_CREATED,
    summary="延长答复期限",
    description=(
        "第三十三条：经政府信息公开工作机构负责人（consented_by）同意并告知申请人（notified_on），答复期限可延长一次，"
        "最长不超过政策配置的上限（条例为20个工作日）。超过上限返回 42"
        "2 `extension-too-long`，再次延长返回 409 "
        "`extension-already-granted`，答复期限已届满返回 409 `extension-after-deadline`。"
        "发布 disclosure-request-clock-changed 事件。"
    ),
)
async def extend(request_id: str, body: ExtensionCreate, ctx: CtxDep, principal: Drafter) -> RequestView:
    return await service.extend(ctx, request_id, body, principal)


@router.post(
    "/{request_id}/completion-notice",
    status_code=status.HTTP_201_CREATED,
    summary="告知补正",
    description=(
        "第三十条：申请内容不明确的，自收到申请之日起7个工作日内一次性告知申请人补正的事项和合理的补正期限；"
        "答复期限停止计算。超过7个工作日返回 422 `completion-notice-late`，再次告知返回 409。"
        "补正期限届满未补正的，视为放弃申请（自动记录）。"
    ),
)
async def request_completion(
    request_id: str, body: CompletionNoticeCreate, ctx: CtxDep, principal: Drafter
) -> RequestView:
    return await service.request_completion(ctx, request_id, body, principal)


@router.post(
    "/{request_id}/completion",
    status_code=status.HTTP_201_CREATED,
    summary="收到补正",
    description=(
        "第三十条：答复期限自收到补正申请之日起重新计算。补正期限届满后登记返回 409 `completion-too-late`。"
    ),
)
async def complete(request_id: str, body: CompletionCreate, ctx: CtxDep, principal: Drafter) -> RequestView:
    return await service.complete(ctx, request_id, body, principal)


@router.post(
    "/{request_id}/consultation",
    status_code=status.HTTP_201_CREATED,
    summary="书面征求第三方意见",
    description=(
        "第三十二条：第三方在政策配置的期限内（条例为15个工作日）提出意见，征求意见所需时间不计入答复期限；"
        "收到意见前答复截止时刻按第三方期限用满计算。"
    ),
)
async def start_consultation(
    request_id: str, body: ConsultationCreate, ctx: CtxDep, principal: Drafter
) -> RequestView:
    return await service.start_consultation(ctx, request_id, body, principal)


@router.post(
    "/{request_id}/consultation/end",
    status_code=status.HTTP_201_CREATED,
    summary="收到第三方意见",
    description="征求意见之日次日至收到意见之日（最多至第三方期限届满）的工作日不计入答复期限，答复期限恢复计算。",
)
async def end_consultation(
    request_id: str, body: ConsultationEnd, ctx: CtxDep, principal: Drafter
) -> RequestView:
    return await service.end_consultation(ctx, request_id, body, principal)


@router.post(
    "/{request_id}/answer",
    status_code=status.HTTP_201_CREATED,
    summary="答复",
    description=(
        "第三十六条的各类答复。不予公开、无法提供、不予处理须写明年度报告表三所列的理由类别（ground），"
        "缺少返回 422 `answer-ground-required`"
        "；予以公开、部分公开、已公开须列出公开的信息（公开目录中的文件以 "
        "document_id 关联）。答复时刻不早于答复截止时刻为逾期"
        "答复：尚未记为逾期的当即记录并发布 deadline-passed"
        "（每个申请只发一次）。发布 disclosure-request-answered 事件。"
    ),
)
async def answer(request_id: str, body: AnswerCreate, ctx: CtxDep, principal: Drafter) -> RequestView:
    return await service.answer(ctx, request_id, body, principal)
