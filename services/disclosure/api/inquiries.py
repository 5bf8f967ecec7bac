"""Public policy inquiries (政策咨询, 004): the public form and list (no token), the department's reply."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query, Request, Response, status

from services.disclosure.api.requests import AccessCode, caller_of
from services.disclosure.schemas import InquiryReceipt, InquirySubmit, InquiryView, PublicInquiry, ReplyCreate
from services.disclosure.service import inquiries as service
from shared.deps import CtxDep, Drafter, PageDep
from shared.pagination import Page, linked

public = APIRouter(prefix="/v1/public/inquiries", tags=["政策咨询（公众）public policy inquiries"])
router = APIRouter(prefix="/v1/inquiries", tags=["政策咨询 policy inquiries"])

_EXAMPLE = {
    "department": "fgw",
    "mobile": "13800000000",
    "name": "张三",
    "email": "zhangsan@example.com",
    "title": "企业投资项目备案如何办理",
    "content": "请问2018年企业投资项目备案需要提交哪些材料？",
    "public": True,
}


@public.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="提交政策咨询（无需账号）",
    description=(
        "政策咨询表单（004）：咨询部门、手机号码、姓名、邮箱（选填）、标题、内容、是否公开咨询内容。"
        "返回咨询编号和查询码（只显示一次），凭二者查看答复；答复期限按政策配置（工作日）。"
        "表单的验证码由网关的按来源地址限流代替。"
    ),
)
async def submit_inquiry(
    ctx: CtxDep, body: Annotated[InquirySubmit, Body(openapi_examples={"咨询": {"value": _EXAMPLE}})]
) -> InquiryReceipt:
    return await service.submit_inquiry(ctx, body)


@public.get(
    "",
    summary="公开的政策咨询",
    description="咨询人同意公开且已答复的咨询及答复，最新答复在前，不含姓名和联系方式。无需令牌。",
)
async def public_inquiries(
    ctx: CtxDep,
    request: Request,
    response: Response,
    page: PageDep,
    department: Annotated[str | None, Query(max_length=32, description="咨询部门", examples=["fgw"])] = None,
) -> Page[PublicInquiry]:
    return linked(request, response, await service.public_inquiries(ctx, page, department))


@public.get(
    "/{number}",
    summary="咨询人查看答复（凭查询码）",
    description=(
        "凭咨询编号和查询码（请求头 `X-Access-Code`）查看咨"
        "询和答复；编号或查询码不正确同样返回 404，错误过多返回 429。"
    ),
)
async def lookup_inquiry(
    number: str, ctx: CtxDep, request: Request, access_code: AccessCode = None
) -> InquiryView:
    return await service.lookup_inquiry(ctx, number[:32], access_code, caller_of(request))


@router.get(
    "",
    summary="政策咨询列表",
    description="咨询含咨询人的个人信息：只有被咨询部门（只看到本部门的咨询）和市政府办公室可以查看。",
)
async def list_inquiries(
    ctx: CtxDep,
    request: Request,
    response: Response,
    principal: Drafter,
    page: PageDep,
    department: Annotated[str | None, Query(max_length=32, description="咨询部门")] = None,
) -> Page[InquiryView]:
    return linked(request, response, await service.list_inquiries(ctx, page, principal, department))


@router.post(
    "/{inquiry_id}/reply",
    status_code=status.HTTP_201_CREATED,
    summary="答复政策咨询",
    description=(
        "被咨询部门或市政府办公室答复一次。答复时刻不早于答复截止时刻为逾期：尚未记为逾期的当即记录并发布 "
        "deadline-passed（subject_kind 为 policy-inquiry，只发一次）。"
    ),
)
async def reply(inquiry_id: str, body: ReplyCreate, ctx: CtxDep, principal: Drafter) -> InquiryView:
    return await service.reply(ctx, inquiry_id, body, principal)
