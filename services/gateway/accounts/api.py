"""Client account routes (/api/v1/clients and /api/v1/client-changes), administrators only."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response, status

from services.gateway.accounts import schemas, service
from services.gateway.accounts.service import Accounts
from services.gateway.clients import registry_of
from services.gateway.runtime import RuntimeDep
from shared.auth import Role
from shared.deps import Admin, PageDep
from shared.pagination import linked
from shared.problems import Problem, declare

router = APIRouter(prefix="/api/v1", tags=["客户端账户 clients"])


def accounts(request: Request, rt: RuntimeDep) -> Accounts:
    return Accounts(rt, registry_of(request.app))


AccountsDep = Annotated[Accounts, Depends(accounts)]
ClientId = Annotated[str, Path(description="客户端编号", examples=["panel-2018q2-001"])]

_CSV_EXAMPLE = (
    "client_id,name,roles,department\n"
    "panel-2018q2-001,评议人 001（2018 年第二季度）,evaluator,\n"
    "panel-2018q2-002,评议人 002（2018 年第二季度）,evaluator,\n"
)
_IMPORT_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["clients"],
                    "additionalProperties": False,
                    "properties": {
                        "clients": {
                            "type": "array",
                            "minItems": 1,
                            "maxItems": 1000,
                            "items": {"$ref": "#/components/schemas/ClientCreate"},
                        }
                    },
                },
                "example": {
                    "clients": [
                        {
                            "client_id": "panel-2018q2-001",
                            "name": "评议人 001（2018 年第二季度）",
                            "roles": ["evaluator"],
                        },
                        {
                            "client_id": "panel-2018q2-002",
                            "name": "评议人 002（2018 年第二季度）",
                            "roles": ["evaluator"],
                        },
                    ]
                },
            },
            "text/csv": {"schema": {"type": "string"}, "example": _CSV_EXAMPLE},
        },
    }
}


@router.post(
    "/clients",
    status_code=status.HTTP_201_CREATED,
    summary="创建客户端",
    description="登记一个 API 客户端并生成其密钥（仅此一次显示，只保存散列）。记入变更日志。",
    openapi_extra=declare("client-exists", "department-required", "unknown-department"),
)
async def create_client(
    body: schemas.ClientCreate, acc: AccountsDep, response: Response, admin: Admin
) -> schemas.ClientCreated:
    created = await service.create(acc, body, admin)
    response.headers["Location"] = f"/api/v1/clients/{created.client_id}"
    return created


@router.get("/clients", summary="列出客户端", description="按创建时间排序，可按角色过滤；不含密钥。")
async def list_clients(
    request: Request,
    response: Response,
    acc: AccountsDep,
    admin: Admin,
    page: PageDep,
    role: Annotated[Role | None, Query(description="只列出有此角色的客户端")] = None,
) -> schemas.ClientPage:
    return linked(request, response, await service.list_clients(acc, page, role))


@router.post(
    "/clients/import",
    status_code=status.HTTP_201_CREATED,
    summary="批量导入客户端（如一轮评议的评议人账户）",
    description=(
        'JSON（{"clients": [...]}，每项同“创建客户端”）或 CSV（表头 client_id,name,roles,department；'
        "多个角色以空格、分号或竖线分隔），至多 1000 个。全部通过检查才导入，否则一个也不导入，"
        "422 的 errors 逐条列出行号（从 1 起，CSV 不计表头）、客户端编号、字段与原因。"
        "返回每个新客户端的密钥（仅此一次）。"
    ),
    openapi_extra={
        **_IMPORT_BODY,
        **declare("client-import-invalid", "client-exists", "unsupported-media-type"),
    },
)
async def import_clients(request: Request, acc: AccountsDep, admin: Admin) -> schemas.ImportResult:
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    body = await request.body()
    if media == "text/csv":
        try:
            rows = service.parse_csv(body.decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise Problem(422, "CSV 须为 UTF-8 编码", kind="client-import-invalid", errors=[]) from exc
    elif media == "application/json":
        rows = service.parse_json(body)
    else:
        raise Problem(
            415,
            f"不支持的媒体类型 {media or '（未声明）'}；此操作接受: application/json, text/csv",
            kind="unsupported-media-type",
            headers={"Accept-Post": "application/json, text/csv"},
        )
    return await service.import_clients(acc, rows, admin)


@router.get(
    "/clients/{client_id}",
    summary="查看客户端",
    description="不含密钥。",
    openapi_extra=declare("unknown-client"),
)
async def get_client(client_id: ClientId, acc: AccountsDep, admin: Admin) -> schemas.ClientView:
    return await service.get(acc, client_id)


@router.patch(
    "/clients/{client_id}",
    summary="修改客户端（名称、角色、部门、停用）",
    description=(
        "只改给出的字段。停用（enabled: false）或更改角色、部门后，此前签发的令牌立即失效"
        "（在本网关；其他网关副本至多 XN_GATEWAY_CLIENT_CACHE_SECONDS 秒后）。"
        "不能停用本客户端或取消本客户端的 admin 角色。"
    ),
    openapi_extra=declare("unknown-client", "own-client", "department-required", "unknown-department"),
)
async def update_client(
    client_id: ClientId, body: schemas.ClientUpdate, acc: AccountsDep, admin: Admin
) -> schemas.ClientView:
    return await service.update_client(acc, client_id, body, admin)


@router.delete(
    "/clients/{client_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="删除客户端",
    description="其令牌立即失效；变更日志保留。不能删除本客户端。",
    openapi_extra=declare("unknown-client", "own-client"),
)
async def delete_client(client_id: ClientId, acc: AccountsDep, admin: Admin) -> Response:
    await service.delete_client(acc, client_id, admin)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/clients/{client_id}/secret/rotate",
    summary="轮换客户端密钥",
    description="生成新密钥（仅此一次显示）；旧密钥与此前签发的令牌立即失效。",
    openapi_extra=declare("unknown-client"),
)
async def rotate_secret(client_id: ClientId, acc: AccountsDep, admin: Admin) -> schemas.ClientSecret:
    return await service.rotate_secret(acc, client_id, admin)


@router.get(
    "/client-changes",
    summary="客户端变更日志",
    description="每次创建、导入、修改、停用、启用、轮换密钥与删除：谁、何时、改了什么（不含密钥），最新在前。",
)
async def list_changes(
    request: Request,
    response: Response,
    acc: AccountsDep,
    admin: Admin,
    page: PageDep,
    client_id: Annotated[str | None, Query(description="只看此客户端的变更")] = None,
) -> schemas.ClientChangePage:
    return linked(request, response, await service.changes(acc, page, client_id))
