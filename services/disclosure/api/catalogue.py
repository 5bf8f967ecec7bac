"""/v1/catalogue: the public catalogue of published documents (D5), no token needed."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from services.disclosure import service
from services.disclosure.domain import DisclosureMode, Validity
from services.disclosure.schemas import CatalogueDocument, CatalogueEntry
from shared.deps import CtxDep, PageDep
from shared.pagination import Page, linked

router = APIRouter(prefix="/v1/catalogue", tags=["政府信息公开目录 public catalogue"])

ATOM_MEDIA_TYPE = "application/atom+xml"


@router.get(
    "",
    summary="公开目录：列表、筛选与全文检索",
    description=(
        "任何人无需令牌即可列出已公开的文件（D5），按发布时间倒序，游标分页。可按起草部门、发文年份、"
        "主题词、时效性和公开方式筛选。\n\n"
        "`q` 为检索词：形如文号或其前段（`湖政办发〔2018〕`、`湖政办发〔2018〕12号`、`〔2018〕12号`，"
        "方括号、圆括号均可）按文号的机关代字、年份和序号精确匹配；其他检索词经中文分词后在文号、标题、"
        "起草部门和正文中检索，所有词都须出现。"
    ),
)
async def list_catalogue(
    ctx: CtxDep,
    request: Request,
    response: Response,
    page: PageDep,
    q: Annotated[str | None, Query(max_length=100, description="检索词", examples=["营商环境"])] = None,
    department: Annotated[str | None, Query(description="起草部门代码", examples=["fgw"])] = None,
    year: Annotated[int | None, Query(ge=1949, le=9999, description="发文年份", examples=[2018])] = None,
    subject: Annotated[str | None, Query(max_length=20, description="主题词", examples=["营商环境"])] = None,
    validity: Annotated[Validity | None, Query(description="时效性：valid 有效、expired 失效")] = None,
    mode: Annotated[DisclosureMode | None, Query(description="公开方式")] = None,
) -> Page[CatalogueEntry]:
    filters = service.CatalogueFilter(
        department=department, year=year, subject=subject, validity=validity, mode=mode, q=q
    )
    return linked(request, response, await service.list_catalogue(ctx, filters, page))


@router.get(
    "/feed.atom",
    summary="最新公开文件（Atom）",
    description="最新在门户网站公开的文件，Atom 1.0 订阅源，无需令牌。",
    response_class=Response,
    responses={200: {"content": {ATOM_MEDIA_TYPE: {}}, "description": "Atom 1.0 feed"}},
)
async def feed(
    ctx: CtxDep,
    limit: Annotated[int, Query(ge=1, le=100, description="条数")] = 20,
) -> Response:
    body = await service.atom_feed(ctx, limit)
    return Response(body, media_type=f"{ATOM_MEDIA_TYPE}; charset=utf-8")


@router.get(
    "/{document_id}",
    summary="公开目录：查看文件",
    description="已公开文件的目录信息、正文和附件元数据（最新公开的版本）；未公开的文件返回 404。无需令牌。",
)
async def get_published(document_id: str, ctx: CtxDep) -> CatalogueDocument:
    return await service.get_published(ctx, document_id)
