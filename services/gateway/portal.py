"""The docs portal: one OpenAPI 3.1 document merged from every service, Swagger UI, ReDoc.

Each service's paths ``/v1/...`` appear under ``/api/v1/<service>/...``; operation ids and
component schemas are prefixed with the service name so that two services may use the same
names. A service that does not answer is listed in ``x-missing-services``, never silently
dropped.
"""

from __future__ import annotations

import asyncio
import copy
import time
from importlib.resources import files
from typing import Any

import httpx
from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

router = APIRouter(include_in_schema=False)

STATIC = StaticFiles(directory=str(files("fastapi_offline") / "static"))

_TAGS = {
    "disclosure": "政务公开：文件限时公开与不予公开审批",
    "coordination": "会办事项限时办结与领导批示督办",
    "indicators": "重要指标“保五争三”排名通报",
    "evaluation": "低效能部门评定",
}


def _rewrite_refs(node: Any, service: str) -> Any:
    if isinstance(node, dict):
        out = {}
        for k, v in node.items():
            if k == "$ref" and isinstance(v, str) and v.startswith("#/components/schemas/"):
                out[k] = f"#/components/schemas/{service}.{v.rsplit('/', 1)[1]}"
            else:
                out[k] = _rewrite_refs(v, service)
        return out
    if isinstance(node, list):
        return [_rewrite_refs(v, service) for v in node]
    return node


def merge(gateway_doc: dict[str, Any], services: dict[str, dict[str, Any] | None]) -> dict[str, Any]:
    doc = copy.deepcopy(gateway_doc)
    doc.setdefault("paths", {})
    components = doc.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemes = components.setdefault("securitySchemes", {})
    tags = doc.setdefault("tags", [])
    missing = []
    for service, spec in services.items():
        if spec is None:
            missing.append(service)
            continue
        spec = _rewrite_refs(spec, service)
        for path, item in spec.get("paths", {}).items():
            if not path.startswith("/v1/"):
                continue
            for op in item.values():
                if isinstance(op, dict) and "operationId" in op:
                    op["operationId"] = f"{service}_{op['operationId']}"
            doc["paths"][f"/api/v1/{service}/{path[4:]}"] = item
        for name, schema in spec.get("components", {}).get("schemas", {}).items():
            schemas[f"{service}.{name}"] = schema
        schemes.update(spec.get("components", {}).get("securitySchemes", {}))
        tags.extend(t for t in spec.get("tags", []) if t not in tags)
        known = {t["name"] for t in tags}
        for item in spec.get("paths", {}).values():
            for op in item.values():
                for tag in op.get("tags", []) if isinstance(op, dict) else []:
                    if tag not in known:
                        tags.append({"name": tag, "description": _TAGS.get(service, service)})
                        known.add(tag)
    if missing:
        doc["x-missing-services"] = missing
    return doc


class OpenApiCache:
    def __init__(self, ttl: float) -> None:
        self._ttl = ttl
        self._doc: dict[str, Any] | None = None
        self._at = 0.0
        self._lock = asyncio.Lock()

    async def get(self, request: Request) -> dict[str, Any]:
        async with self._lock:
            if self._doc is not None and time.monotonic() - self._at < self._ttl:
                return self._doc
            clients: dict[str, httpx.AsyncClient] = request.app.state.upstreams
            fetched = await asyncio.gather(*(_fetch(c) for c in clients.values()))
            services = dict(zip(clients, fetched, strict=True))
            doc = merge(_gateway_doc(request), services)
            if not doc.get("x-missing-services"):
                self._doc, self._at = doc, time.monotonic()
            return doc


async def _fetch(client: httpx.AsyncClient) -> dict[str, Any] | None:
    try:
        response = await client.get("/openapi.json", timeout=5)
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        return body
    except (httpx.HTTPError, ValueError):
        return None


def _gateway_doc(request: Request) -> dict[str, Any]:
    app = request.app
    doc = get_openapi(
        title="效能 Xiaoneng API",
        version=app.version,
        openapi_version="3.1.0",
        description=(
            "城市政府行政效能建设平台的统一接口：政务公开、会办督办、“保五争三”指标通报与低效能部门评定。\n\n"
            "认证：OAuth2 客户端凭证模式，`POST /api/v1/oauth/token` 获取 Bearer 令牌。"
            "错误均以 RFC 9457 `application/problem+json` 返回。"
        ),
        routes=app.routes,
    )
    doc.setdefault("components", {}).setdefault("securitySchemes", {})["OAuth2ClientCredentials"] = {
        "type": "oauth2",
        "flows": {"clientCredentials": {"tokenUrl": "/api/v1/oauth/token", "scopes": {}}},
    }
    return doc


@router.get("/openapi.json")
async def openapi(request: Request) -> JSONResponse:
    cache: OpenApiCache = request.app.state.openapi_cache
    return JSONResponse(await cache.get(request))


@router.get("/docs")
async def swagger() -> HTMLResponse:
    return get_swagger_ui_html(
        openapi_url="/openapi.json",
        title="效能 Xiaoneng API — 文档",
        swagger_js_url="/static/swagger-ui-bundle.js",
        swagger_css_url="/static/swagger-ui.css",
        swagger_favicon_url="/static/favicon.png",
    )


@router.get("/redoc")
async def redoc() -> HTMLResponse:
    return get_redoc_html(
        openapi_url="/openapi.json",
        title="效能 Xiaoneng API — ReDoc",
        redoc_js_url="/static/redoc.standalone.js",
        redoc_favicon_url="/static/favicon.png",
        with_google_fonts=False,
    )
