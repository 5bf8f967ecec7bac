"""Webhook routes (/api/v1/webhooks): endpoints, secrets, deliveries and their attempt log."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response, status

from services.gateway.runtime import RuntimeDep
from services.gateway.webhooks import schemas, service, visibility
from services.gateway.webhooks.events import webhook_event_types
from shared.deps import CurrentPrincipal, PageDep
from shared.pagination import linked
from shared.problems import declare

router = APIRouter(prefix="/api/v1/webhooks", tags=["Webhook 订阅 webhooks"])

IfMatch = Annotated[str | None, Header(alias="If-Match", description="上次读取时的 ETag；不符返回 412")]


@router.get(
    "/event-types",
    summary="可订阅的事件类型",
    description=(
        "端点可按这些类型过滤；每项附 data 的 JSON Schema，recipients 说明哪些客户端的端点收到该类事件"
        "（按端点所有者的角色与部门过滤）。公开，无需令牌。"
    ),
    response_model_by_alias=True,
)
async def event_types() -> list[schemas.EventTypeView]:
    return [
        schemas.EventTypeView(  # type: ignore[call-arg]
            type=t.type, summary=t.summary, recipients=t.recipients, schema=t.data_schema
        )
        for t in webhook_event_types()
    ]


@router.post(
    "/endpoints",
    status_code=status.HTTP_201_CREATED,
    summary="创建 webhook 端点",
    openapi_extra=declare("webhook-target-refused", "unknown-event-type"),
    description=(
        "登记一个接收地址与事件类型过滤，返回签名密钥（whsec_…）。创建后立即推送一条 "
        "gov.efficiency.webhook-ping.v1 消息，供接收方验证签名。端点只接收创建之后发生的事件"
        "（以事件的 time 为准），不补发创建前的积压事件。\n\n" + visibility.SUMMARY
    ),
)
async def create_endpoint(
    body: schemas.EndpointCreate, rt: RuntimeDep, response: Response, caller: CurrentPrincipal
) -> schemas.EndpointCreated:
    created = await service.create_endpoint(rt, body, caller)
    response.headers["Location"] = f"/api/v1/webhooks/endpoints/{created.id}"
    response.headers["ETag"] = service.etag(1)
    return created


@router.get(
    "/endpoints",
    summary="列出 webhook 端点",
    description="本客户端的端点（管理员可见全部），按创建时间排序。",
)
async def list_endpoints(
    request: Request, rt: RuntimeDep, response: Response, caller: CurrentPrincipal, page: PageDep
) -> schemas.EndpointPage:
    return linked(request, response, await service.list_endpoints(rt, caller, page))


@router.get(
    "/endpoints/{endpoint_id}", summary="查看 webhook 端点", description="含停用原因与连续失败起始时刻。"
)
async def get_endpoint(
    endpoint_id: str, rt: RuntimeDep, response: Response, caller: CurrentPrincipal
) -> schemas.EndpointView:
    view, tag = await service.get_endpoint(rt, endpoint_id, caller)
    response.headers["ETag"] = tag
    return view


@router.patch(
    "/endpoints/{endpoint_id}",
    summary="修改 webhook 端点",
    openapi_extra=declare("webhook-target-refused", "unknown-event-type", "precondition-failed"),
    description="修改地址、说明、事件类型过滤，或停用/重新启用（enabled）。支持 If-Match。",
)
async def update_endpoint(
    endpoint_id: str,
    body: schemas.EndpointUpdate,
    rt: RuntimeDep,
    response: Response,
    caller: CurrentPrincipal,
    if_match: IfMatch = None,
) -> schemas.EndpointView:
    view, tag = await service.update_endpoint(rt, endpoint_id, body, caller, if_match)
    response.headers["ETag"] = tag
    return view


@router.delete(
    "/endpoints/{endpoint_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="删除 webhook 端点",
    openapi_extra=declare("precondition-failed"),
    description="连同其投递记录一并删除。支持 If-Match。",
)
async def delete_endpoint(
    endpoint_id: str, rt: RuntimeDep, caller: CurrentPrincipal, if_match: IfMatch = None
) -> Response:
    await service.delete_endpoint(rt, endpoint_id, caller, if_match)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/endpoints/{endpoint_id}/secret",
    summary="查看签名密钥",
    description="当前密钥；轮换后旧密钥的失效时刻。",
)
async def get_secret(endpoint_id: str, rt: RuntimeDep, caller: CurrentPrincipal) -> schemas.SecretView:
    return await service.get_secret(rt, endpoint_id, caller)


@router.post(
    "/endpoints/{endpoint_id}/secret/rotate",
    summary="轮换签名密钥",
    description="生成新密钥；旧密钥在重叠期（默认 24 小时）内继续签名，两个 v1 签名以空格分隔同时给出。",
)
async def rotate_secret(endpoint_id: str, rt: RuntimeDep, caller: CurrentPrincipal) -> schemas.SecretView:
    return await service.rotate_secret(rt, endpoint_id, caller)


@router.get(
    "/endpoints/{endpoint_id}/deliveries",
    summary="端点的投递记录",
    description="每条消息对该端点的一次投递，可按状态过滤（pending、succeeded、failed）。",
)
async def list_deliveries(
    endpoint_id: str,
    request: Request,
    rt: RuntimeDep,
    response: Response,
    caller: CurrentPrincipal,
    page: PageDep,
    status_filter: Annotated[
        schemas.DeliveryStatus | None, Query(alias="status", description="按状态过滤")
    ] = None,
) -> schemas.DeliveryPage:
    return linked(
        request, response, await service.list_deliveries(rt, endpoint_id, caller, page, status_filter)
    )


@router.post(
    "/endpoints/{endpoint_id}/recover",
    status_code=status.HTTP_202_ACCEPTED,
    summary="恢复失败的投递",
    openapi_extra=declare("endpoint-disabled"),
    description="把自 since 以来失败的投递重新排队（webhook-id 不变）。端点须已启用。",
)
async def recover(
    endpoint_id: str, body: schemas.RecoverRequest, rt: RuntimeDep, caller: CurrentPrincipal
) -> schemas.RecoverResult:
    return schemas.RecoverResult(recovered=await service.recover(rt, endpoint_id, body.since, caller))


@router.get(
    "/deliveries/{delivery_id}",
    summary="查看投递与尝试记录",
    description="投递状态、消息体与每次尝试（时刻、状态码、错误、耗时、响应摘要）。",
)
async def get_delivery(delivery_id: str, rt: RuntimeDep, caller: CurrentPrincipal) -> schemas.DeliveryDetail:
    return await service.get_delivery(rt, delivery_id, caller)


@router.post(
    "/deliveries/{delivery_id}/resend",
    status_code=status.HTTP_202_ACCEPTED,
    summary="重发一条投递",
    openapi_extra=declare("delivery-pending"),
    description="立即重新投递（webhook-id 不变，重试计划从头开始）。仍在重试中的投递不能重发。",
)
async def resend(delivery_id: str, rt: RuntimeDep, caller: CurrentPrincipal) -> schemas.DeliveryView:
    return await service.resend(rt, delivery_id, caller)
