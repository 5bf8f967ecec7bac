"""RFC 9457 problem details for every error, validation errors included.

Each kind of error has a stable ``type`` URI (``/problems/<kind>``) and a Chinese-readable
``detail``. Domain code raises ``Problem``; the handlers installed by ``install`` turn it,
FastAPI's validation errors, HTTP errors and anything unexpected into
``application/problem+json``. A database that cannot be reached (down, restarting) is not a
bug: it gives 503 with ``Retry-After`` instead of 500. Request input no parser can take safely
(U+0000, JSON nested deeper than ``MAX_JSON_DEPTH``) is refused before any handler reads it.
"""

from __future__ import annotations

import json
import logging
import operator
import re
from itertools import accumulate, repeat
from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.db import CONNECTION_ERROR_TYPES, UNAVAILABLE_RETRY_AFTER_SECONDS, is_unavailable
from shared.observability import request_id_var
from shared.rules import RuleViolation

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
    428: "需要前提条件",
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
    428: "precondition-required",
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


def problem_of(exc: RuleViolation, *, instance: str | None = None) -> JSONResponse:
    """The problem details of a refused rule: its status, kind, rule id and field."""
    return problem_response(
        exc.status, exc.detail, kind=exc.kind, instance=instance, rule=exc.rule, field=exc.field, **exc.extra
    )


def _field_path(loc: tuple[Any, ...] | list[Any]) -> str:
    return ".".join(str(p) for p in loc if p not in ("body", "query", "path", "header"))


def unavailable_response(method: str, path: str, exc: BaseException) -> JSONResponse:
    """503 with Retry-After for a database that cannot be reached: not a bug, so never a 500."""
    log.warning("database unavailable on %s %s: %s", method, path, type(exc).__name__)
    return problem_response(
        503,
        "数据库暂时无法访问，请稍后重试",
        kind="database-unavailable",
        instance=path,
        headers={"Retry-After": str(UNAVAILABLE_RETRY_AFTER_SECONDS)},
    )


def _unavailable(request: Request, exc: Exception) -> JSONResponse:
    return unavailable_response(request.method, request.url.path, exc)


def _nul_in(node: Any, path: str) -> str | None:
    if isinstance(node, str):
        return path if "\x00" in node else None
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, value in items:
        if isinstance(key, str) and "\x00" in key:
            return path or "请求体"
        if (found := _nul_in(value, f"{path}.{key}" if path else str(key))) is not None:
            return found
    return None


def nul_character_field(path: str, query_string: bytes, content_type: str | None, body: bytes) -> str | None:
    """Where a request carries U+0000 (``path``, a query parameter or a body field), or None.

    PostgreSQL text cannot hold U+0000 and XML (hence XLSX) cannot either, so no service can keep
    or show such a value: it is refused as invalid input, like any other validation error.
    """
    if "\x00" in path:
        return "path"
    if b"%00" in query_string:
        for name, value in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True):
            if "\x00" in name or "\x00" in value:
                return name.replace("\x00", "") or "query"
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media == "application/x-www-form-urlencoded" and b"%00" in body:
        for name, value in parse_qsl(body.decode("latin-1"), keep_blank_values=True):
            if "\x00" in name or "\x00" in value:
                return name.replace("\x00", "") or "请求体"
    # In JSON, U+0000 can only be written as the escape \u0000 (a raw one is malformed JSON).
    if (media == "application/json" or media.endswith("+json")) and b"\\u0000" in body:
        try:
            return _nul_in(json.loads(body), "")
        except ValueError:
            return None  # malformed JSON: the operation itself answers that
    return None


# Deeper than any document of this system (a few levels); far below the interpreter's recursion
# limit, which the C JSON parser, pydantic and the NUL check below all recurse against.
MAX_JSON_DEPTH = 100

_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?', re.DOTALL)
# Brackets become steps (an opening one 1 up, a closing one 1 down, after subtracting 1); every
# other byte goes. Every byte of a multi-byte UTF-8 character is >= 0x80: none is a bracket.
_STEPS = bytes.maketrans(b"[{]}", b"\x02\x02\x00\x00")
_NOT_BRACKET = bytes(sorted(set(range(256)) - set(b"[]{}")))


def json_too_deep(raw: bytes | str, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether JSON text nests arrays and objects more than ``limit`` levels deep.

    Found without parsing and without recursion (json.loads raises RecursionError at about a
    thousand levels, which would escape every handler as a 500), in linear time: strings are cut
    out (brackets inside them do not count), then the deepest level is the largest running sum of
    +1 per opening and -1 per closing bracket. Before the first syntax error this is exactly the
    parser's depth, and a parser stops there, so malformed text is never judged shallower than a
    parser would find it.
    """
    if isinstance(raw, bytes):
        if raw.count(b"[") + raw.count(b"{") <= limit:
            return False
        try:
            # The encoding json.loads would use (RFC 8259 allows UTF-16/32 with bytes input).
            text = raw.decode(json.detect_encoding(raw))
        except (UnicodeDecodeError, LookupError):
            return False  # not JSON text at all: the parser refuses it as malformed
    else:
        text = raw
    if text.count("[") + text.count("{") <= limit:
        return False
    outside_strings = _JSON_STRING.sub("", text).encode("utf-8", "surrogatepass")
    steps = outside_strings.translate(_STEPS, _NOT_BRACKET)
    return max(accumulate(map(operator.sub, steps, repeat(1))), default=0) > limit


def json_too_deep_problem(instance: str) -> JSONResponse:
    return problem_response(
        400,
        f"请求体 JSON 嵌套超过 {MAX_JSON_DEPTH} 层的上限",
        kind="json-too-deep",
        instance=instance,
        limit=MAX_JSON_DEPTH,
    )


def nul_character_problem(field: str, instance: str) -> JSONResponse:
    message = "不能包含 NUL 字符 (U+0000)"
    return problem_response(
        422,
        f"字段 {field}: {message}",
        kind="validation-error",
        instance=instance,
        errors=[{"field": field, "message": message, "kind": "string_nul"}],
    )


class _NulInBody(StarletteHTTPException):
    # An HTTPException, so that FastAPI's body parsing passes it on instead of making it a 400.
    def __init__(self, field: str) -> None:
        super().__init__(422, f"字段 {field}: 不能包含 NUL 字符 (U+0000)")
        self.field = field


class _JsonTooDeep(StarletteHTTPException):
    # An HTTPException for the same reason as _NulInBody; the gateway's guard lets it through too.
    def __init__(self) -> None:
        super().__init__(400, f"请求体 JSON 嵌套超过 {MAX_JSON_DEPTH} 层的上限")


def _is_json(media: str) -> bool:
    return media == "application/json" or media.endswith("+json")


class RejectUnsafeInput:
    """ASGI middleware, outside every handler of every app (the gateway's guard included).

    A request with U+0000 anywhere in its path, query or body gets a 422; a JSON body nested more
    than ``MAX_JSON_DEPTH`` levels a 400 (``/problems/json-too-deep``). The body is checked as the
    application reads it, once the last part has arrived: nothing is read that the application
    (or the gateway's size limit) would not read anyway, and nothing parses it before the check.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        content_type = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"content-type"), None)
        field = nul_character_field(scope["path"], scope.get("query_string", b""), content_type, b"")
        if field is not None:
            await nul_character_problem(field, scope["path"])(scope, receive, send)
            return
        json_body = _is_json((content_type or "").split(";", 1)[0].strip().lower())
        chunks: list[bytes] = []
        started = False

        async def checked_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    body = b"".join(chunks)
                    # Depth first: the NUL check parses the body, and recursively.
                    if json_body and json_too_deep(body):
                        raise _JsonTooDeep()
                    found = nul_character_field("", b"", content_type, body)
                    if found is not None:
                        raise _NulInBody(found)
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, checked_receive, tracked_send)
        except (_NulInBody, _JsonTooDeep) as exc:
            if started:
                raise
            refusal = (
                nul_character_problem(exc.field, scope["path"])
                if isinstance(exc, _NulInBody)
                else json_too_deep_problem(scope["path"])
            )
            await refusal(scope, receive, send)


async def _problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Problem)
    return problem_response(
        exc.status,
        exc.detail,
        kind=exc.kind,
        instance=request.url.path,
        headers=exc.headers,
        rule=exc.rule,
        **exc.extra,
    )


async def _rule(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RuleViolation)
    return problem_of(exc, instance=request.url.path)


async def _validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"field": _field_path(e.get("loc", ())), "message": e.get("msg", ""), "kind": e.get("type", "")}
        for e in exc.errors()
    ]
    detail = "；".join(f"字段 {e['field'] or '请求体'}: {e['message']}" for e in errors[:5])
    return problem_response(
        422, detail or "请求内容无效", kind="validation-error", instance=request.url.path, errors=errors
    )


async def _nul(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, _NulInBody)
    return nul_character_problem(exc.field, request.url.path)


async def _too_deep(request: Request, exc: Exception) -> JSONResponse:
    return json_too_deep_problem(request.url.path)


async def _http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else _TITLES.get(exc.status_code, "错误")
    if exc.status_code == 404 and detail == "Not Found":
        detail = f"路径 {request.url.path} 不存在"
    elif exc.status_code == 405 and detail == "Method Not Allowed":
        detail = f"路径 {request.url.path} 不支持 {request.method} 方法"
    return problem_response(
        exc.status_code, detail, instance=request.url.path, headers=dict(exc.headers or {})
    )


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    if is_unavailable(exc):
        return _unavailable(request, exc)
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return problem_response(500, "服务器内部错误，已记录，请稍后重试", instance=request.url.path)


def install(app: FastAPI) -> None:
    # Inside the request-context middleware (added after this), so refusals carry the request id.
    app.add_middleware(RejectUnsafeInput)
    handlers = {
        Problem: _problem,
        RuleViolation: _rule,
        RequestValidationError: _validation,
        _NulInBody: _nul,
        _JsonTooDeep: _too_deep,
        StarletteHTTPException: _http,
        **dict.fromkeys(CONNECTION_ERROR_TYPES, _unexpected),
        # Also reached by errors raised in middleware (the gateway's guard), outside the handlers above.
        Exception: _unexpected,
    }
    for error_type, handler in handlers.items():
        app.add_exception_handler(error_type, handler)
