"""RFC 9457 problem details for every error, validation errors included.

Each kind of error has a stable ``type`` URI (``/problems/<kind>``) and a Chinese-readable
``detail``. Domain code raises ``Problem``; the handlers installed by ``install`` turn it,
FastAPI's validation errors, HTTP errors and anything unexpected into
``application/problem+json``.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared.observability import request_id_var

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger("xiaoneng.problems")

_TITLES = {
    400: "请求无效",
    401: "未认证",
    403: "无权操作",
    404: "资源不存在",
    405: "方法不允许",
    409: "状态冲突",
    412: "前提条件不满足",
    413: "请求体过大",
    415: "不支持的媒体类型",
    422: "请求内容不符合规则",
    429: "请求过于频繁",
    500: "服务器内部错误",
    502: "上游服务错误",
    503: "服务暂不可用",
    504: "上游服务超时",
}
_KINDS = {
    400: "bad-request",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    409: "conflict",
    412: "precondition-failed",
    413: "payload-too-large",
    415: "unsupported-media-type",
    422: "unprocessable",
    429: "rate-limited",
    500: "internal",
    502: "bad-gateway",
    503: "unavailable",
    504: "gateway-timeout",
}


def problem_type(kind: str) -> str:
    return f"/problems/{kind}"


class ProblemModel(BaseModel):
    """The problem details object (RFC 9457), as documented in OpenAPI."""

    type: str = Field(examples=["/problems/validation-error"])
    title: str = Field(examples=["请求内容不符合规则"])
    status: int = Field(examples=[422])
    detail: str = Field(examples=["字段 document_number 不符合文号格式"])
    instance: str | None = Field(default=None, examples=["/v1/documents"])
    errors: list[dict[str, Any]] | None = None
    rule: str | None = Field(default=None, description="违反的规则编号", examples=["D2"])


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    "4XX": {"model": ProblemModel, "content": {PROBLEM_JSON: {}}, "description": "问题详情 (RFC 9457)"},
}


class Problem(Exception):
    """An error a client can act on."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        kind: str | None = None,
        rule: str | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.kind = kind or _KINDS.get(status, "error")
        self.rule = rule
        self.headers = headers or {}
        self.extra = extra


def problem_response(
    status: int,
    detail: str,
    *,
    kind: str | None = None,
    instance: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": problem_type(kind or _KINDS.get(status, "error")),
        "title": _TITLES.get(status, "错误"),
        "status": status,
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
    if (rid := request_id_var.get()) is not None:
        body["request_id"] = rid
    body.update({k: v for k, v in extra.items() if v is not None})
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _field_path(loc: tuple[Any, ...] | list[Any]) -> str:
    return ".".join(str(p) for p in loc if p not in ("body", "query", "path", "header"))


def install(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return problem_response(
            exc.status,
            exc.detail,
            kind=exc.kind,
            instance=request.url.path,
            headers=exc.headers,
            rule=exc.rule,
            **exc.extra,
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"field": _field_path(e.get("loc", ())), "message": e.get("msg", ""), "kind": e.get("type", "")}
            for e in exc.errors()
        ]
        detail = "；".join(f"字段 {e['field'] or '请求体'}: {e['message']}" for e in errors[:5])
        return problem_response(
            422, detail or "请求内容无效", kind="validation-error", instance=request.url.path, errors=errors
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else _TITLES.get(exc.status_code, "错误")
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"路径 {request.url.path} 不存在"
        elif exc.status_code == 405 and detail == "Method Not Allowed":
            detail = f"路径 {request.url.path} 不支持 {request.method} 方法"
        return problem_response(
            exc.status_code, detail, instance=request.url.path, headers=dict(exc.headers or {})
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem_response(500, "服务器内部错误，已记录，请稍后重试", instance=request.url.path)
