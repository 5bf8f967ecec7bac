"""Routing ``/api/v1/<service>/...`` to the domain services.

One long-lived HTTP client per upstream, each with its own timeout. Request id and
``traceparent`` are forwarded; the bearer token was checked by the guard and is checked again
by the service. Upstream failures become 502/504 problem details; a 403 from a service gets
the ``WWW-Authenticate`` challenge of RFC 6750.
"""

from __future__ import annotations

import logging

import httpx
from fastapi import APIRouter, Request
from starlette.background import BackgroundTask
from starlette.responses import Response, StreamingResponse

from shared.observability import current_traceparent, request_id_var
from shared.problems import Problem

log = logging.getLogger("xiaoneng.gateway.proxy")

router = APIRouter(include_in_schema=False)

_HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailers",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
}


def _forward_headers(request: Request) -> dict[str, str]:
    headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP}
    headers["x-request-id"] = request_id_var.get() or headers.get("x-request-id", "")
    if (tp := current_traceparent()) is not None:
        headers["traceparent"] = tp
    if request.client is not None:
        headers["x-forwarded-for"] = request.client.host
    return headers


def _upstream_url(request: Request, service: str) -> httpx.URL:
    """The service's ``/v1/...`` URL, path and query forwarded as received (still percent-encoded)."""
    raw = request.scope.get("raw_path") or request.url.path.encode()
    rest = raw.decode("latin-1")[len(f"/api/v1/{service}") :]
    return httpx.URL(f"/v1{rest}", query=request.scope.get("query_string", b""))


@router.api_route(
    "/api/v1/{service}/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
)
async def forward(service: str, path: str, request: Request) -> Response:
    clients: dict[str, httpx.AsyncClient] = request.app.state.upstreams
    client = clients.get(service)
    if client is None:
        raise Problem(
            404,
            f"路径 {request.url.path} 不存在；服务路径为 /api/v1/<服务>/…，"
            f"可用服务: {', '.join(sorted(clients))}",
            kind="not-found",
        )
    upstream = client.build_request(
        request.method,
        _upstream_url(request, service),
        headers=_forward_headers(request),
        content=await request.body(),
    )
    try:
        response = await client.send(upstream, stream=True)
    except httpx.TimeoutException as exc:
        log.warning("upstream %s timed out on %s", service, path)
        raise Problem(504, f"服务 {service} 未在时限内响应", kind="gateway-timeout", service=service) from exc
    except httpx.TransportError as exc:
        log.warning("upstream %s unreachable: %s", service, exc)
        raise Problem(502, f"服务 {service} 暂时无法访问", kind="bad-gateway", service=service) from exc
    headers = {k: v for k, v in response.headers.items() if k.lower() not in _HOP_BY_HOP}
    if (location := headers.get("location")) and location.startswith("/v1/"):
        headers["location"] = f"/api/v1/{service}/{location[4:]}"
    if response.status_code == 403 and "www-authenticate" not in {k.lower() for k in headers}:
        headers["WWW-Authenticate"] = 'Bearer realm="xiaoneng", error="insufficient_scope"'
    return StreamingResponse(
        response.aiter_raw(),
        status_code=response.status_code,
        headers=headers,
        background=BackgroundTask(response.aclose),
    )
