"""Disclosure HTTP routes (/v1/documents)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request, Response, status

from services.disclosure import service
from services.disclosure.schemas import DocumentCreate, DocumentView
from shared.auth import Principal, require_roles

router = APIRouter(prefix="/v1/documents", tags=["政务公开 disclosure"])

Drafter = Annotated[Principal, require_roles("department", "office")]
Reader = Annotated[Principal, require_roles("department", "office", "supervisor", "leader")]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="登记文件（形成）",
    description=(
        "起草部门登记一份市政府或市政府办公室文件；公开时限自形成之日起计算（D1），"
        "发布 document-formed 事件。"
    ),
)
async def register_document(
    body: DocumentCreate, request: Request, response: Response, principal: Drafter
) -> DocumentView:
    view = await service.register_document(request.app.state.ctx, body, principal)
    response.headers["Location"] = f"/v1/documents/{view.id}"
    return view


@router.get("/{document_id}", summary="查看文件", description="返回文件的当前版本与公开截止时刻。")
async def get_document(document_id: str, request: Request, principal: Reader) -> DocumentView:
    return await service.get_document(request.app.state.ctx, document_id)
