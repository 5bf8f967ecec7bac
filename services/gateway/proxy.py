"""Routing ``/api/v1/<service>/...`` to the domain services.

One long-lived HTTP client per upstream, each with its own timeout. Request id and
``traceparent`` are forwarded; the bearer token was checked by the guard and is checked again
by the service. Upstream failures become 502/504 problem details; a 403 from a service gets
the ``WWW-Authenticate`` challenge of RFC 6750.

An upstream answer is read whole before the gateway answers (up to
``max_upstream_response_bytes``), never streamed through: once a status line is sent it cannot be
taken back, so a service that dies mid-body would otherwise leave the client with, say, a
``201 Created`` and a cut or empty body, and the Idempotency-Key record could keep it. Every
response of the services is built in memory anyway (JSON pages, CSV and XLSX reports), so
buffering adds a copy and no new limit; a body that ends early (connection closed, fewer bytes
than its ``Content-Length``, a broken chunked stream, a read error) becomes a 502 problem,
which is never kept for replay.
"""

from __future__ import annotations

import logging

import httpx
from fastapi import APIRouter, Request
from starlette.responses import Response

from services.gateway.runtime import RuntimeDep
from shared.observability import current_traceparent, request_id_var
from shared.problems import Problem

# Log lines name the service and the method, never the path: a path can name a ballot's tracker
# (E5: nothing logged may tie a ballot request to anything); the request id ties a line to its call.
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
# The gateway's own server writes these on every answer; the service's copies would repeat them.
_OWN_RESPONSE_HEADERS = {"date", "server"}
# Answers that carry no body whatever their headers say (RFC 9110 §6.4.1).
_NO_BODY_STATUSES = {204, 304}


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
async def forward(service: str, path: str, request: Request, rt: RuntimeDep) -> Response:
    client = rt.upstreams.get(service)
    if client is None:
        raise Problem(
            404,
            f"路径 {request.url.path} 不存在；服务路径为 /api/v1/<服务>/…，"
            f"可用服务: {', '.join(sorted(rt.upstreams))}",
            kind="not-found",
        )
    upstream = client.build_request(
        request.method,
        _upstream_url(request, service),
        headers=_forward_headers(request),
        content=await request.body(),
    )
    limit = rt.settings.max_upstream_response_bytes
    try:
        response = await client.send(upstream, stream=True)
    except httpx.TimeoutException as exc:
        log.warning("upstream %s timed out on a %s", service, request.method)
        raise Problem(504, f"服务 {service} 未在时限内响应", kind="gateway-timeout", service=service) from exc
    except httpx.TransportError as exc:
        log.warning("upstream %s unreachable: %s", service, type(exc).__name__)
        raise Problem(502, f"服务 {service} 暂时无法访问", kind="bad-gateway", service=service) from exc
    try:
        body = await _whole_body(response, request.method, service, limit)
    except httpx.TimeoutException as exc:
        log.warning("upstream %s timed out while answering a %s", service, request.method)
        raise Problem(504, f"服务 {service} 未在时限内响应", kind="gateway-timeout", service=service) from exc
    except httpx.TransportError as exc:
        log.warning("upstream %s answer to a %s cut short: %s", service, request.method, type(exc).__name__)
        raise Problem(
            502, f"服务 {service} 的响应不完整（连接中断），请重试", kind="bad-gateway", service=service
        ) from exc
    finally:
        await response.aclose()
    headers = {
        k: v
        for k, v in response.headers.items()
        if k.lower() not in _HOP_BY_HOP and k.lower() not in _OWN_RESPONSE_HEADERS
    }
    if request.method == "HEAD" and (length := response.headers.get("content-length")) is not None:
        # A HEAD answer states the length a GET would have; Response would otherwise say 0.
        headers["content-length"] = length
    if (location := headers.get("location")) and location.startswith("/v1/"):
        headers["location"] = f"/api/v1/{service}/{location[4:]}"
    if response.status_code == 403 and "www-authenticate" not in {k.lower() for k in headers}:
        headers["WWW-Authenticate"] = 'Bearer realm="xiaoneng", error="insufficient_scope"'
    return Response(body, status_code=response.status_code, headers=headers)


async def _whole_body(response: httpx.Response, method: str, service: str, limit: int) -> bytes:
    """The upstream body as sent (still content-encoded), or a 502 when it did not arrive whole.

    httpx (h11) already raises ``RemoteProtocolError`` when the connection closes before the
    declared length or the last chunk; the length is compared here as well so that the
    guarantee does not rest on one library's strictness.
    """
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_raw():
        size += len(chunk)
        if size > limit:
            log.warning("upstream %s answered more than %d bytes", service, limit)
            raise Problem(
                502,
                f"服务 {service} 的响应超过 {limit} 字节的上限",
                kind="upstream-response-too-large",
                service=service,
                limit=limit,
            )
        chunks.append(chunk)
    body = b"".join(chunks)
    declared = response.headers.get("content-length")
    if declared is not None and _framed_by_length(response, method) and declared.strip() != str(len(body)):
        log.warning("upstream %s answer cut: %d of %s bytes", service, len(body), declared)
        raise httpx.RemoteProtocolError(f"received {len(body)} bytes, expected {declared}")
    return body


def _framed_by_length(response: httpx.Response, method: str) -> bool:
    """Whether ``Content-Length`` gives the length of the body that was sent.

    Not for HEAD and 204/304 (no body whatever the header says) nor when a transfer coding frames
    the body. A body delimited by closing the connection cannot be checked by anyone; uvicorn,
    which serves every service, always sends a length or chunks.
    """
    return (
        "transfer-encoding" not in response.headers
        and method != "HEAD"
        and response.status_code >= 200
        and response.status_code not in _NO_BODY_STATUSES
    )
