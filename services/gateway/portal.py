"""The docs portal: one OpenAPI 3.1 document merged from every service, Swagger UI, ReDoc, AsyncAPI.

Each service's paths ``/v1/...`` appear under ``/api/v1/<service>/...``; operation ids and
components are prefixed with the service name so that two services may use the same names.
Every operation keeps its service's tags (grouped per service in ``x-tagGroups``), secured
operations accept both the bearer scheme and the OAuth2 client-credentials flow, creating
POSTs document ``Idempotency-Key``, every operation documents 429, and the ``webhooks``
section describes every event a webhook endpoint can receive. A service that does not answer
is listed in ``x-missing-services``, never silently dropped.
"""

from __future__ import annotations

import asyncio
import copy
import html
import logging
import time
from importlib.resources import files
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from services.gateway.catalog import METHODS, Catalog, public_path, upstream_of
from services.gateway.runtime import GatewayRuntime, RuntimeDep
from services.gateway.webhooks.events import PING_TYPE, WebhookEventType, webhook_event_types
from shared.app import ServiceContext
from shared.deps import CtxDep
from shared.events.asyncapi import asyncapi_document
from shared.openapi import add_problems, annotate
from shared.registry import DOMAIN_SERVICES, REGISTRY

log = logging.getLogger("xiaoneng.gateway.portal")

router = APIRouter(include_in_schema=False)

STATIC = StaticFiles(directory=str(files("fastapi_offline") / "static"))

SERVICE_TAGS = {s.name: (s.tag, s.summary) for s in REGISTRY}
_DOMAIN = dict.fromkeys(DOMAIN_SERVICES)
WEBHOOK_TAG = "Webhook 事件 webhooks"
ROLE_DESCRIPTIONS = {
    "office": "市政府办公室",
    "supervisor": "市政府督查室",
    "department": "部门（令牌带部门代码）",
    "leader": "市领导",
    "evaluator": "评议人",
    "admin": "管理员（通过一切角色检查）",
}
BEARER = "HTTPBearer"
OAUTH2 = "OAuth2ClientCredentials"
TOKEN_PATH = "/api/v1/oauth/token"

DESCRIPTION = """城市政府行政效能建设平台的统一接口：政务公开、会办督办、“保五争三”指标通报与低效能部门评定。

**认证**：OAuth2 客户端凭证模式，`POST /api/v1/oauth/token` 获取 Bearer 令牌（JWT），放在
`Authorization: Bearer <token>` 中。标注了锁的操作需要令牌；安全要求中列出的名称是所需角色
（任一即可）。未带令牌或令牌无效返回 401，角色不符返回 403，均带 `WWW-Authenticate`。

**限流**：按客户端的令牌桶。每个响应都带 IETF 草案的 `RateLimit-Policy`（配额 `q`、窗口 `w` 秒）
和 `RateLimit`（剩余 `r`、`t` 秒后恢复满额）；超限返回 429 与 `Retry-After`。

**幂等**：创建类 POST 可带 `Idempotency-Key`（24 小时内有效）：同一键同一请求体重放首次响应
（带 `Idempotent-Replayed: true`）；同一键不同请求体返回 422；首次请求仍在处理时返回 409。

**错误**：一律为 RFC 9457 `application/problem+json`，包括 JSON 格式错误（400）、媒体类型不符（415）
与请求体过大（413）；上游服务不可达为 502，超时为 504。

**Webhook**：按 Standard Webhooks 规范推送，见 `webhooks` 一节与 `/api/v1/webhooks/endpoints`。
请求头 `webhook-id`（重试时不变，用于去重）、`webhook-timestamp`、`webhook-signature`
（`v1,` + base64 HMAC-SHA256，密钥为 `whsec_` 后的 base64 内容，签名内容为 `id.timestamp.body`；
轮换密钥后 24 小时内新旧两个签名以空格分隔同时给出）。仅 2xx 视为成功；410 停用端点。
Kafka 事件的 AsyncAPI 文档见 `/asyncapi.json`。"""


def _rewrite_refs(node: Any, service: str) -> Any:
    if isinstance(node, dict):
        out = {}
        for k, v in node.items():
            if k == "$ref" and isinstance(v, str) and v.startswith("#/components/"):
                _, _, kind, name = v.split("/", 3)
                out[k] = f"#/components/{kind}/{service}.{name}"
            else:
                out[k] = _rewrite_refs(v, service)
        return out
    if isinstance(node, list):
        return [_rewrite_refs(v, service) for v in node]
    return node


def _operations(paths: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, op)
        for path, item in paths.items()
        for method, op in item.items()
        if method in METHODS and isinstance(op, dict)
    ]


def _add_service(
    doc: dict[str, Any], service: str, spec: dict[str, Any], groups: dict[str, list[str]]
) -> None:
    spec = _rewrite_refs(copy.deepcopy(spec), service)
    default_tag = SERVICE_TAGS.get(service, (service, service))[0]
    for path, item in spec.get("paths", {}).items():
        public = public_path(service, path)
        if public is None:
            continue
        for _, _, op in _operations({path: item}):
            if "operationId" in op:
                op["operationId"] = f"{service}_{op['operationId']}"
            op["tags"] = op.get("tags") or [default_tag]
            for tag in op["tags"]:
                if tag not in groups[service]:
                    groups[service].append(tag)
        doc["paths"][public] = item
    components = doc.setdefault("components", {})
    for kind, entries in spec.get("components", {}).items():
        if kind == "securitySchemes":
            for name, scheme in entries.items():
                components.setdefault(kind, {}).setdefault(name, scheme)
            continue
        for name, value in entries.items():
            components.setdefault(kind, {})[f"{service}.{name}"] = value
    known = {t["name"] for t in doc.setdefault("tags", [])}
    for tag in spec.get("tags", []):
        if tag.get("name") not in known:
            doc["tags"].append(tag)
            known.add(tag["name"])


def _decorate_operations(doc: dict[str, Any]) -> None:
    for path, method, op in _operations(doc["paths"]):
        security = op.get("security")
        if security:
            alternatives = list(security)
            for requirement in security:
                if BEARER in requirement and not any(OAUTH2 in r for r in alternatives):
                    alternatives.append({OAUTH2: list(requirement[BEARER])})
            op["security"] = alternatives
        responses = op.setdefault("responses", {})
        responses.setdefault("429", {"$ref": "#/components/responses/TooManyRequests"})
        for response in responses.values():
            content = response.get("content", {}) if isinstance(response, dict) else {}
            problem, plain = content.get("application/problem+json"), content.get("application/json")
            if problem == {} and isinstance(plain, dict) and "schema" in plain:
                content["application/problem+json"] = {"schema": plain["schema"]}
                del content["application/json"]
        if method == "post" and path != TOKEN_PATH:
            params = op.setdefault("parameters", [])
            if not any(p.get("name", "").lower() == "idempotency-key" for p in params):
                params.append({"$ref": "#/components/parameters/IdempotencyKey"})
        _gateway_problems(path, method, op)


def _gateway_problems(path: str, method: str, op: dict[str, Any]) -> None:
    """The refusals the gateway itself may answer before or instead of the service."""
    # A presented token that does not verify is refused even on a public read.
    add_problems(op, 401, ["unauthorized"])
    if op.get("requestBody"):
        add_problems(op, 413, ["payload-too-large"])
        add_problems(op, 415, ["unsupported-media-type"])
    if method == "post" and path != TOKEN_PATH and not op.get("x-secret-ballot"):
        add_problems(op, 400, ["invalid-idempotency-key"])
        add_problems(op, 409, ["idempotency-key-in-use"])
        add_problems(op, 422, ["idempotency-key-reused"])
    if upstream_of(path, _DOMAIN) is not None:
        add_problems(op, 502, ["bad-gateway", "upstream-response-too-large"])
        add_problems(op, 504, ["gateway-timeout"])


def _common_components(doc: dict[str, Any]) -> None:
    components = doc.setdefault("components", {})
    schemes = components.setdefault("securitySchemes", {})
    schemes.setdefault(
        BEARER,
        {"type": "http", "scheme": "bearer", "bearerFormat": "JWT", "description": "OAuth2 客户端凭证令牌"},
    )
    schemes[OAUTH2] = {
        "type": "oauth2",
        "description": "OAuth2 客户端凭证模式；作用域即角色",
        "flows": {"clientCredentials": {"tokenUrl": TOKEN_PATH, "scopes": dict(ROLE_DESCRIPTIONS)}},
    }
    components.setdefault("parameters", {})["IdempotencyKey"] = {
        "name": "Idempotency-Key",
        "in": "header",
        "required": False,
        "description": "幂等键（1–255 个可见 ASCII 字符，24 小时内有效）",
        "schema": {"type": "string", "maxLength": 255},
        "example": "8e03978e-40d5-43e8-bc93-6894a57f9324",
    }
    components.setdefault("headers", {}).update(
        {
            "RetryAfter": {"description": "多少秒后可重试", "schema": {"type": "integer"}},
            "RateLimit": {
                "description": "剩余配额 r 与恢复满额的秒数 t（IETF RateLimit 草案）",
                "schema": {"type": "string", "example": '"per-client";r=0;t=60'},
            },
            "RateLimitPolicy": {
                "description": "配额 q 与窗口 w 秒（IETF RateLimit 草案）",
                "schema": {"type": "string", "example": '"per-client";q=600;w=60'},
            },
        }
    )
    components.setdefault("responses", {})["TooManyRequests"] = {
        "description": "请求过于频繁",
        "headers": {
            "Retry-After": {"$ref": "#/components/headers/RetryAfter"},
            "RateLimit": {"$ref": "#/components/headers/RateLimit"},
            "RateLimit-Policy": {"$ref": "#/components/headers/RateLimitPolicy"},
        },
        "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }
    components.setdefault("schemas", {})["Problem"] = {
        "type": "object",
        "description": "问题详情 (RFC 9457)",
        "properties": {
            "type": {"type": "string", "examples": ["/problems/rate-limited"]},
            "title": {"type": "string", "examples": ["请求过于频繁"]},
            "status": {"type": "integer", "examples": [429]},
            "detail": {"type": "string"},
            "instance": {"type": "string"},
            "request_id": {"type": "string"},
        },
        "required": ["type", "title", "status", "detail"],
    }


def _hoist_defs(schema: dict[str, Any], prefix: str, schemas: dict[str, Any]) -> dict[str, Any]:
    """Move a JSON Schema's ``$defs`` into components (refs rewritten) and drop its ``$id``."""
    schema = copy.deepcopy(schema)
    schema.pop("$id", None)
    defs = schema.pop("$defs", {})

    def rewrite(node: Any) -> Any:
        if isinstance(node, dict):
            return {
                k: (
                    f"#/components/schemas/{prefix}{v.rsplit('/', 1)[1]}"
                    if k == "$ref" and str(v).startswith("#/$defs/")
                    else rewrite(v)
                )
                for k, v in node.items()
            }
        if isinstance(node, list):
            return [rewrite(v) for v in node]
        return node

    for name, definition in defs.items():
        schemas[f"{prefix}{name}"] = rewrite(definition)
    result: dict[str, Any] = rewrite(schema)
    return result


# The Standard Webhooks headers of every message: (component, header, description, type, example).
_WEBHOOK_HEADERS = (
    (
        "WebhookId",
        "webhook-id",
        "消息编号；重试时不变，接收方据此去重",
        "string",
        "msg_2f1c9a6e-7d1b-4c8e-9a53-0d2e4f6a8b10",
    ),
    (
        "WebhookTimestamp",
        "webhook-timestamp",
        "本次发送的 Unix 时间戳（秒）；接收方应拒绝偏差过大的请求",
        "integer",
        1529460000,
    ),
    (
        "WebhookSignature",
        "webhook-signature",
        "以空格分隔的签名列表，每项为 `v1,` + base64(HMAC-SHA256(密钥, `id.timestamp.body`))",
        "string",
        "v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4=",
    ),
)


def _webhook_operation(event: WebhookEventType, envelope: str) -> dict[str, Any]:
    """What a receiver is sent for ``event``: a signed POST whose body is the ``envelope`` schema."""
    return {
        "tags": [WEBHOOK_TAG],
        "summary": event.summary,
        "description": event.description,
        "operationId": "webhook_" + event.type.replace(".", "_").replace("-", "_"),
        "parameters": [
            {"$ref": f"#/components/parameters/{component}"} for component, *_ in _WEBHOOK_HEADERS
        ],
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{envelope}"}}},
        },
        "responses": {
            "2XX": {"description": "已接收；其他状态码按重试计划重试"},
            "410": {"description": "Gone：网关停用此端点"},
        },
    }


def _webhooks(doc: dict[str, Any]) -> None:
    components = doc["components"]
    schemas = components.setdefault("schemas", {})
    components.setdefault("parameters", {}).update(
        {
            component: {
                "name": header,
                "in": "header",
                "required": True,
                "description": description,
                "schema": {"type": kind},
                "example": example,
            }
            for component, header, description, kind, example in _WEBHOOK_HEADERS
        }
    )
    webhooks: dict[str, Any] = {}
    for event in webhook_event_types():
        data_name = f"events.{event.type}"
        schemas[data_name] = _hoist_defs(event.data_schema, f"events.{event.type}.", schemas)
        envelope = f"webhooks.{event.type}"
        schemas[envelope] = {
            "type": "object",
            "description": f"{event.summary}（Standard Webhooks 消息体）",
            "required": ["type", "timestamp", "data"],
            "properties": {
                "type": {"type": "string", "const": event.type},
                "timestamp": {"type": "string", "format": "date-time", "description": "事件发生时刻"},
                "data": {"$ref": f"#/components/schemas/{data_name}"},
            },
        }
        webhooks[event.type] = {"post": _webhook_operation(event, envelope)}
    doc["webhooks"] = webhooks
    doc["tags"].append(
        {
            "name": WEBHOOK_TAG,
            "description": f"网关向订阅端点推送的事件（含创建端点时的 {PING_TYPE}）",
        }
    )


def merge(gateway_doc: dict[str, Any], services: dict[str, dict[str, Any] | None]) -> dict[str, Any]:
    doc = copy.deepcopy(gateway_doc)
    doc["openapi"] = "3.1.0"
    doc.setdefault("paths", {})
    doc.setdefault("tags", [])
    groups: dict[str, list[str]] = {"gateway": []}
    for _, _, op in _operations(doc["paths"]):
        op["tags"] = op.get("tags") or [SERVICE_TAGS["gateway"][0]]
        groups["gateway"].extend(t for t in op["tags"] if t not in groups["gateway"])
    missing = []
    for service, spec in services.items():
        groups[service] = []
        if spec is None:
            missing.append(service)
            continue
        _add_service(doc, service, spec, groups)
    _common_components(doc)
    _decorate_operations(doc)
    known = {t["name"] for t in doc["tags"]}
    for service, tags in groups.items():
        for tag in tags:
            if tag not in known:
                doc["tags"].append(
                    {"name": tag, "description": SERVICE_TAGS.get(service, (service, service))[1]}
                )
                known.add(tag)
    _webhooks(doc)
    doc["x-tagGroups"] = [
        {"name": SERVICE_TAGS.get(service, (service, ""))[0], "tags": tags}
        for service, tags in groups.items()
        if tags
    ] + [{"name": "Webhook", "tags": [WEBHOOK_TAG]}]
    if missing:
        doc["x-missing-services"] = missing
    return doc


def gateway_document(app: FastAPI) -> dict[str, Any]:
    """The gateway's own operations (token, webhooks, composite reads)."""
    return annotate(
        get_openapi(
            title="效能 Xiaoneng API",
            version=app.version,
            openapi_version="3.1.0",
            description=DESCRIPTION,
            routes=app.routes,
        )
    )


class OpenApiCache:
    def __init__(self, ttl: float) -> None:
        self._ttl = ttl
        self._doc: dict[str, Any] | None = None
        self._at = 0.0
        self._lock = asyncio.Lock()

    async def get(self, catalog: Catalog) -> dict[str, Any]:
        async with self._lock:
            if self._doc is not None and time.monotonic() - self._at < self._ttl:
                return self._doc
            doc = merge(catalog.gateway()[0], await catalog.documents())
            if not doc.get("x-missing-services"):
                self._doc, self._at = doc, time.monotonic()
            return doc


@router.get("/openapi.json")
async def openapi(request: Request, rt: RuntimeDep) -> JSONResponse:
    cache: OpenApiCache = request.app.state.openapi_cache
    return JSONResponse(await cache.get(rt.catalog))


@router.get("/asyncapi.json")
async def asyncapi(ctx: CtxDep) -> JSONResponse:
    return JSONResponse(asyncapi_document(ctx.common.topic_prefix))


# The two documentation pages; the assets are served from /static (no CDN).
_SWAGGER_UI = bytes(
    get_swagger_ui_html(
        openapi_url="/openapi.json",
        title="效能 Xiaoneng API — 文档",
        swagger_js_url="/static/swagger-ui-bundle.js",
        swagger_css_url="/static/swagger-ui.css",
        swagger_favicon_url="/static/favicon.png",
        swagger_ui_parameters={"docExpansion": "list", "persistAuthorization": True},
    ).body
)
_REDOC = bytes(
    get_redoc_html(
        openapi_url="/openapi.json",
        title="效能 Xiaoneng API — ReDoc",
        redoc_js_url="/static/redoc.standalone.js",
        redoc_favicon_url="/static/favicon.png",
        with_google_fonts=False,
    ).body
)


# While a service's OpenAPI document cannot be read (it is still starting, or down) the portal says
# so, and reloads itself until every service is there.
_REFRESH_SECONDS = 5


def _missing_notice(missing: list[str]) -> str:
    names = "、".join(f"{SERVICE_TAGS.get(s, (s, s))[1]}（{s}）" for s in missing)
    return (
        '<div class="xn-missing-services" role="alert" style="background:#fde7e9;border-bottom:1px solid '
        '#e8a0a8;padding:10px 20px;font:14px/1.5 sans-serif">以下服务尚未就绪，其接口暂未列出：'
        f"{html.escape(names)}。本页每 {_REFRESH_SECONDS} 秒自动刷新，直至全部就绪。</div>"
    )


async def _calendar_notice(ctx: ServiceContext) -> str:
    """A notice while a year ahead has no official holiday table (provisional deadlines)."""
    try:
        health = await ctx.calendar.health(ctx.db, ctx.today())
    except Exception:
        log.warning("calendar health unavailable for the portal notice", exc_info=True)
        return ""
    if not health.degraded:
        return ""
    return (
        '<div class="xn-calendar-notice" role="status" style="background:#fff4ce;border-bottom:1px solid '
        '#e0c36c;padding:10px 20px;font:14px/1.5 sans-serif">节假日日历提示：'
        f"{html.escape(health.detail.removeprefix('degraded: '))}。"
        '详见 <a href="/api/v1/calendar/years">/api/v1/calendar/years</a>。</div>'
    )


async def _with_notices(ctx: ServiceContext, rt: GatewayRuntime, page: bytes) -> HTMLResponse:
    missing = [service for service, doc in (await rt.catalog.documents()).items() if doc is None]
    notices = (_missing_notice(missing) if missing else "") + await _calendar_notice(ctx)
    text = page.decode()
    if missing:
        text = text.replace("<head>", f'<head>\n<meta http-equiv="refresh" content="{_REFRESH_SECONDS}">', 1)
    if notices:
        text = text.replace("<body>", f"<body>\n{notices}", 1)
    return HTMLResponse(text)


@router.get("/docs")
async def swagger(ctx: CtxDep, rt: RuntimeDep) -> HTMLResponse:
    return await _with_notices(ctx, rt, _SWAGGER_UI)


@router.get("/redoc")
async def redoc(ctx: CtxDep, rt: RuntimeDep) -> HTMLResponse:
    return await _with_notices(ctx, rt, _REDOC)
