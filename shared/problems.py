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
from dataclasses import dataclass
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
from shared.links import request_path
from shared.observability import request_id_var
from shared.rules import RuleViolation

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger("xiaoneng.problems")

TITLES = {
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


# The kind of a problem made without one, by its status.
STATUS_KINDS = _KINDS


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
        "title": TITLES.get(status, "错误"),
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
    return unavailable_response(request.method, request_path(request.scope), exc)


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
            await nul_character_problem(field, request_path(scope))(scope, receive, send)
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
                nul_character_problem(exc.field, request_path(scope))
                if isinstance(exc, _NulInBody)
                else json_too_deep_problem(request_path(scope))
            )
            await refusal(scope, receive, send)


async def _problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Problem)
    return problem_response(
        exc.status,
        exc.detail,
        kind=exc.kind,
        instance=request_path(request.scope),
        headers=exc.headers,
        rule=exc.rule,
        **exc.extra,
    )


async def _rule(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RuleViolation)
    return problem_of(exc, instance=request_path(request.scope))


async def _validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"field": _field_path(e.get("loc", ())), "message": e.get("msg", ""), "kind": e.get("type", "")}
        for e in exc.errors()
    ]
    detail = "；".join(f"字段 {e['field'] or '请求体'}: {e['message']}" for e in errors[:5])
    return problem_response(
        422,
        detail or "请求内容无效",
        kind="validation-error",
        instance=request_path(request.scope),
        errors=errors,
    )


async def _nul(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, _NulInBody)
    return nul_character_problem(exc.field, request_path(request.scope))


async def _too_deep(request: Request, exc: Exception) -> JSONResponse:
    return json_too_deep_problem(request_path(request.scope))


async def _http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else TITLES.get(exc.status_code, "错误")
    path = request_path(request.scope)
    if exc.status_code == 404 and detail == "Not Found":
        detail = f"路径 {path} 不存在"
    elif exc.status_code == 405 and detail == "Method Not Allowed":
        detail = f"路径 {path} 不支持 {request.method} 方法"
    return problem_response(
        exc.status_code, detail, instance=request_path(request.scope), headers=dict(exc.headers or {})
    )


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    if is_unavailable(exc):
        return _unavailable(request, exc)
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return problem_response(500, "服务器内部错误，已记录，请稍后重试", instance=request_path(request.scope))


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


# --- the registry of problem types -----------------------------------------------------------


@dataclass(frozen=True)
class ProblemType:
    """One ``type`` a problem can have: its usual status(es), what it means, the rule it guards.

    Served by the gateway at ``/problems/<kind>`` (HTML, or JSON on ``Accept: application/json``).
    """

    kind: str
    statuses: tuple[int, ...]
    title: str
    rule: str | None = None

    @property
    def uri(self) -> str:
        return problem_type(self.kind)


def _registry(*entries: tuple[Any, ...]) -> dict[str, ProblemType]:
    types: dict[str, ProblemType] = {}
    for kind, status, title, *rule in entries:
        statuses = status if isinstance(status, tuple) else (status,)
        types[kind] = ProblemType(kind, statuses, title, rule[0] if rule else None)
    return types


# The problem kinds a route declares it may answer (besides those every route of its shape can):
# ``openapi_extra=problems.declare("client-exists", ...)``; ``shared.openapi`` documents them.
DECLARED = "x-problems"


def declare(*kinds: str) -> dict[str, Any]:
    """``openapi_extra`` naming the registered problem kinds an operation may answer with."""
    unknown = [k for k in kinds if k not in PROBLEM_TYPES]
    if unknown:
        raise ValueError(f"problem kinds not in shared.problems.PROBLEM_TYPES: {', '.join(unknown)}")
    return {DECLARED: list(kinds)}


# Every ``kind`` the code gives a problem is here (tests/service/test_gateway_openapi.py reads the
# code for them, with tests/support/problem_kinds.py).
PROBLEM_TYPES: dict[str, ProblemType] = _registry(
    # HTTP and the gateway
    ("error", (400, 500), "其他错误：状态码本身说明了问题"),
    ("bad-request", 400, "请求无效：格式或参数不被接受"),
    (
        "unauthorized",
        401,
        "未认证：缺少 Bearer 访问令牌，或令牌无效、过期、所属客户端已停用或更换凭证；请重新获取令牌",
    ),
    ("forbidden", 403, "无权操作：令牌的角色或部门不允许此操作（WWW-Authenticate 的 scope 列出所需角色）"),
    ("not-found", 404, "资源不存在：路径或编号不存在，或调用者无权知道它存在"),
    ("method-not-allowed", 405, "该路径不支持此 HTTP 方法"),
    ("conflict", 409, "请求有效，但资源当前的状态不允许此操作"),
    ("precondition-failed", 412, "If-Match 与资源当前的 ETag 不符：资源已被他人修改，请重新读取后再提交"),
    ("payload-too-large", 413, "请求体超过网关的大小上限（XN_GATEWAY_MAX_BODY_BYTES）"),
    (
        "unsupported-media-type",
        415,
        "请求体的媒体类型不被此操作接受（Accept-Post / Accept-Patch 列出可用类型）",
    ),
    ("unprocessable", 422, "请求内容无法处理"),
    ("validation-error", 422, "请求不符合接口定义：errors 逐项给出字段与原因"),
    ("rule-violation", 422, "请求违反业务规则：rule 为规则编号，field 为相关字段"),
    ("precondition-required", 428, "此操作须带 If-Match 请求头（先 GET 取得 ETag）"),
    ("rate-limited", 429, "请求过于频繁：超出本客户端的配额，按 Retry-After 秒后重试"),
    ("internal", 500, "服务器内部错误，已记录；请稍后重试"),
    (
        "bad-gateway",
        502,
        "网关无法从上游服务取得完整响应（服务不可达或响应中断）；可用同一 Idempotency-Key 重试",
    ),
    ("unavailable", 503, "服务暂不可用，按 Retry-After 重试"),
    ("database-unavailable", 503, "服务的数据库暂时无法访问（重启或故障），按 Retry-After 秒后重试"),
    ("gateway-timeout", 504, "上游服务未在时限内响应（XN_GATEWAY_<SERVICE>_TIMEOUT_SECONDS）"),
    (
        "upstream-response-too-large",
        502,
        "上游服务的响应超过网关读取的上限（XN_GATEWAY_MAX_UPSTREAM_RESPONSE_BYTES）",
    ),
    ("malformed-json", 400, "请求体声明为 JSON，却不是有效的 JSON"),
    ("json-too-deep", 400, "请求体 JSON 嵌套超过 100 层的上限"),
    ("invalid-cursor", 400, "分页游标无效：请使用上一页返回的 next_cursor"),
    ("invalid-idempotency-key", 400, "Idempotency-Key 须为 1 至 255 个可见 ASCII 字符"),
    ("idempotency-key-reused", 422, "同一 Idempotency-Key 已用于内容不同的请求；新请求须用新键"),
    ("idempotency-key-in-use", 409, "使用同一 Idempotency-Key 的首个请求仍在处理中，稍后重试"),
    # Tokens and API clients
    (
        "invalid-request",
        400,
        "令牌请求格式错误（RFC 6749 invalid_request）：参数缺失或重复，或两种客户端认证方式同时使用",
    ),
    (
        "unsupported-grant-type",
        400,
        "只支持 grant_type=client_credentials（RFC 6749 unsupported_grant_type）",
    ),
    ("invalid-client", 401, "客户端编号或密钥错误，或客户端已停用（RFC 6749 invalid_client）"),
    ("too-many-failed-authentications", 429, "该客户端编号认证失败次数过多，按 Retry-After 秒后重试"),
    ("client-exists", 409, "客户端编号已被占用"),
    (
        "client-import-invalid",
        422,
        "批量导入被拒绝，一个账户也未导入：errors 逐条列出行号、客户端编号、字段与原因",
    ),
    ("unknown-client", 404, "没有此编号的客户端"),
    ("own-client", 409, "管理员不能停用、删除本客户端，也不能取消本客户端的 admin 角色（会无人能撤销）"),
    ("department-required", 422, "角色含 department 的客户端须注明所属部门代码"),
    # Webhooks
    (
        "webhook-target-refused",
        422,
        "webhook 地址不被允许：须为 http(s)，不含用户信息；生产环境不得指向私有或回环地址，并受白名单限制",
    ),
    ("unknown-event-type", 422, "事件类型不存在；可订阅的类型见 GET /api/v1/webhooks/event-types"),
    ("endpoint-disabled", 409, "webhook 端点已停用；先 PATCH enabled=true 重新启用"),
    ("delivery-pending", 409, "该投递仍在排队或重试中，不能重发"),
    # Reference data, calendar, periods
    ("unknown-department", (422, 404), "部门代码不存在（或不是可评定的部门）"),
    ("unknown-leader", 422, "领导代码不存在"),
    ("unknown-city", 422, "城市代码不在全省城市名单中", "I3"),
    ("calendar-out-of-range", 422, "日期超出平台节假日日历覆盖的年份，无法按工作日计算期限"),
    ("calendar-table-invalid", 422, "节假日放假安排不符合要求（日期、年份、通知日期）"),
    ("invalid-period", 422, "期别格式不正确或年份超出范围"),
    ("invalid-month", 422, "月份格式不正确（应为 2018-06）", "C8"),
    ("invalid-quarter", 422, "季度格式不正确（应为 2018-Q2）", "E2"),
    ("invalid-year", 422, "年度超出范围", "C8"),
    (
        "period-frequency-mismatch",
        422,
        "期别与指标的频度不符（月度指标用 2018-06，季度用 2018-Q2，年度用 2018）",
        "I2",
    ),
    # Disclosure (D1-D7)
    ("invalid-document-number", 422, "文号格式不正确（如 湖政办发〔2018〕30号）", "D1"),
    ("duplicate-document-number", 409, "该文号已登记", "D1"),
    ("document-not-found", 404, "文件不存在或尚未公开", "D5"),
    ("version-not-found", 404, "文件没有该版本"),
    ("version-superseded", 409, "该版本已被新版本取代：请公开当前版本", "D1"),
    ("version-closed", 409, "该版本已公开或已逾期，不能再决定是否公开", "D2"),
    ("version-exempt", 409, "该版本已经分管市长签字同意不予公开", "D2"),
    ("already-published", 409, "该版本已公开，不能重复公开", "D1"),
    ("publication-in-future", 422, "发布时刻晚于当前时刻", "D1"),
    ("publication-before-formation", 422, "发布时刻早于该版本的形成日期", "D1"),
    ("change-before-formation", 422, "变更日期早于上一版本的形成日期", "D1"),
    ("exemption-not-applicable", 422, "主动公开的文件不需要不予公开申请", "D2"),
    (
        "exemption-reason-required",
        422,
        "依申请公开或不予公开的文件须由起草部门书面说明原因，否则必须公开",
        "D2",
    ),
    ("exemption-not-found", 404, "该版本没有不予公开申请", "D2"),
    ("exemption-already-decided", 409, "该不予公开申请已有签字意见", "D2"),
    ("signer-not-in-charge", 403, "不予公开须由起草部门的分管市长签字，签字人无权签字", "D2"),
    (
        "signer-not-leader",
        403,
        "不予公开须由分管市长本人签字；办公室补录纸质签字须写明签字时刻与签字人",
        "D2",
    ),
    ("backfill-office-only", 403, "只有市政府办公室可以补录纸质签字的时刻", "D2"),
    ("decided-at-required", 422, "补录纸质签字须同时填写签字人 signed_by 与签字时刻 decided_at", "D2"),
    ("decided-at-in-future", 422, "签字时刻晚于当前时刻", "D2"),
    ("decided-at-before-formation", 422, "签字时刻早于该版本的形成日期", "D2"),
    ("signed-by-required", 422, "补录纸质签字须写明签字的分管市长代码", "D2"),
    ("empty-query", 422, "检索词不含可检索的字词", "D5"),
    ("too-many-attempts", 429, "查询码错误次数过多，按 Retry-After 秒后重试"),
    ("request-not-found", 404, "政府信息公开申请不存在", "D7"),
    ("request-state", 409, "申请当前的状态不允许此操作", "D7"),
    ("organisation-name-required", 422, "法人或其他组织提出申请时须填写组织名称", "D7"),
    ("receipt-date-required", 422, "按申请渠道须填写相应的收到申请之日（条例第三十一条）", "D7"),
    (
        "receipt-date-not-applicable",
        422,
        "该申请渠道不以此日期为收到申请之日，不填写该字段（条例第三十一条）",
        "D7",
    ),
    ("receipt-date-in-future", 422, "收到申请之日晚于今天", "D7"),
    ("receipt-date-before-calendar", 422, "收到申请之日早于平台节假日日历的起始年份，无法计算工作日", "D7"),
    ("notice-before-receipt", 422, "告知日期早于收到申请之日", "D7"),
    ("notice-in-future", 422, "告知日期晚于今天", "D7"),
    ("completion-already-requested", 409, "补正告知只能一次性作出（条例第三十条）", "D7"),
    ("completion-notice-late", 422, "补正告知须在收到申请之日起规定的工作日内作出（条例第三十条）", "D7"),
    ("completion-time-invalid", 422, "补正期限须晚于告知日期", "D7"),
    ("completion-before-notice", 422, "收到补正之日早于补正告知日期", "D7"),
    ("completion-too-late", 409, "补正期限已届满，逾期未补正视为放弃申请（条例第三十条）", "D7"),
    ("date-before-previous-step", 422, "日期早于办理流程中上一步的日期", "D7"),
    ("extension-too-long", 422, "延长答复期限超过条例允许的最长期限（条例第三十三条）", "D7"),
    ("extension-already-granted", 409, "答复期限只能延长一次（条例第三十三条）", "D7"),
    ("extension-after-deadline", 409, "答复期限已届满，不能再延长", "D7"),
    ("answer-before-receipt", 422, "答复时刻早于收到申请之日", "D7"),
    ("answer-documents-required", 422, "该答复类型须列出公开的信息或其获取途径", "D7"),
    ("answer-ground-required", 422, "该答复类型须写明理由类别（年度报告逐项统计）", "D7"),
    ("answer-ground-invalid", 422, "理由类别不属于该答复类型", "D7"),
    ("answer-reason-required", 422, "该答复类型须说明理由", "D7"),
    ("ground-not-applicable", 422, "该答复类型不区分理由类别，不填写 ground", "D7"),
    (
        "not-completed",
        422,
        "“补正后申请内容仍不明确”只适用于已告知补正并收到补正的申请（条例第三十条）",
        "D7",
    ),
    ("document-not-in-catalogue", 422, "答复所列文件不在公开目录中", "D7"),
    ("document-title-required", 422, "公开目录以外的信息须写明名称", "D7"),
    ("inquiry-not-found", 404, "咨询不存在", "D7"),
    ("inquiry-already-replied", 409, "该咨询已经答复", "D7"),
    ("reply-in-future", 422, "答复时刻晚于当前时刻", "D7"),
    ("reply-before-receipt", 422, "答复时刻早于收到咨询的时刻", "D7"),
    # Coordination (C1-C8)
    ("matter-not-found", 404, "交办单（会办事项）不存在"),
    ("item-not-found", 404, "会办事项不存在"),
    ("unknown-matter", 422, "被更正的交办单不存在或不属于本主办单位"),
    ("duplicate-cooperating-department", 422, "会办单位重复：每个会办单位一项会办事项", "C1"),
    ("duplicate-department", (422, 409), "承办部门重复"),
    ("duplicate-approval", 422, "审批层级重复", "C2"),
    ("approval-required", 422, "超出常规时限须经相应层级领导同意", "C2"),
    ("approval-leader-mismatch", 422, "该领导不能作为此层级审批", "C2"),
    ("approval-after-assignment", 422, "时限须在交办前经同意：审批日期不能晚于交办日期", "C2"),
    ("invalid-feedback-limit", 422, "会办反馈时限至少为一个计时单位", "C2"),
    ("feedback-unsigned", 422, "书面材料须由单位主要领导签字", "C3"),
    ("feedback-unstamped", 422, "书面材料须加盖单位公章", "C3"),
    ("item-closed", 409, "会办事项已办结，不能再次反馈；如需更正请提交更正记录", "C4"),
    ("nothing-to-correct", (422, 409), "被更正的反馈不存在或不属于该会办事项", "C4"),
    ("item-not-late", 409, "会办事项未逾期，无需报告", "C5"),
    ("already-escalated", 409, "该会办事项逾期已报告过", "C5"),
    ("escalation-not-found", 404, "逾期报告不存在", "C5"),
    ("escalation-closed", 409, "该报告已上报或已核查结案", "C5"),
    ("escalation-out-of-order", 409, "报告须按流程逐级办理：先由主办单位报告，再逐级核查", "C5"),
    ("not-escalation-holder", 403, "该报告当前由另一位领导办理", "C5"),
    ("already-reviewed", 409, "该统计表已审核", "C6"),
    ("instruction-not-found", 404, "批示件不存在", "C7"),
    ("instruction-archived", 409, "批示件已归档", "C7"),
    ("instruction-out-of-order", 409, "批示件须按 登记→拟办→交办→督办→反馈→归档 的流程办理", "C7"),
    ("assignment-not-found", 404, "交办记录不存在", "C7"),
    ("assignment-closed", 409, "该交办事项已反馈", "C7"),
    ("assigned-on-in-future", 422, "交办日期不能晚于今天", "C7"),
    ("deadline-required", 422, "督办类批示件须在交办单中明确办理时限", "C7"),
    ("due-in-past", 422, "办理时限不能早于交办当天", "C7"),
    ("feedback-outstanding", 409, "尚有承办部门未反馈，不能归档", "C7"),
    ("instant-in-future", 422, "所填时刻不能晚于现在", "C7"),
    ("instant-before-previous-step", 422, "所填时刻不能早于上一步的时刻", "C7"),
    ("major-matter-not-found", 404, "重大事项不存在", "C8"),
    ("list-refused", 422, "重大事项清单有误，整张清单未登记：errors 逐行列出原因", "C8"),
    ("duplicate-matter-number", 409, "该年度清单已有此序号的事项", "C8"),
    ("lead-among-cooperating", 422, "牵头单位不能同时是配合单位", "C8"),
    ("repeated-cooperating-department", 422, "配合单位重复", "C8"),
    ("repeated-quarter-target", 422, "同一季度的目标只能填写一项", "C8"),
    ("milestones-missing", 422, "重大事项须有时间表（至少一个节点）", "C8"),
    ("milestone-before-year", 422, "节点日期早于该年度", "C8"),
    ("milestone-after-completion", 422, "节点日期晚于事项完成时限", "C8"),
    ("completion-before-year", 422, "完成时限早于该年度", "C8"),
    ("milestone-not-found", 404, "节点不存在", "C8"),
    ("milestone-not-open", 409, "该节点已报告完成或已撤销", "C8"),
    ("milestone-fixed", 409, "已完成或已通报进展迟缓的节点不能改期或撤销", "C8"),
    ("unknown-milestone", 422, "节点不属于该事项，或重复填报", "C8"),
    ("month-not-ended", 422, "该月尚未结束，不能报送其进展", "C8"),
    ("month-outside-matter", 422, "该月不在事项的月报期间内", "C8"),
    ("report-exists", 409, "该月进展已报送", "C8"),
    ("date-in-future", 422, "日期不能晚于今天"),
    ("done-on-missing", 422, "已完成的节点须填写完成日期", "C8"),
    ("done-after-month", 422, "完成日期晚于所报月份", "C8"),
    ("not-lead-department", 403, "只有牵头单位可以报送进展或申请销号", "C8"),
    ("close-off-not-open", 409, "事项当前的状态不能申请销号", "C8"),
    ("no-close-off-request", 409, "事项没有待核验的销号申请", "C8"),
    ("milestones-unfinished", 422, "尚有未完成的节点，不能申请销号", "C8"),
    ("matter-closed-off", 409, "事项已销号", "C8"),
    ("reason-missing", 422, "退回销号申请须说明理由", "C8"),
    ("quarter-not-ended", 422, "该季度尚未结束，不能公布其进展", "C8"),
    ("scoring-not-open", 422, "年度重大事项自该年最后一个月起方可评分", "C8"),
    ("score-out-of-range", 422, "评分超出允许的范围", "C8"),
    ("quarter-published", 409, "该季度的重大事项进展已公布", "C8"),
    ("quarter-not-published", 404, "该季度的重大事项进展尚未公布", "C8"),
    ("unknown-major-matter", 422, "所列事项不是该年度清单中的重大事项", "C8"),
    # Indicators (I1-I5)
    ("unknown-indicator", 404, "指标不在目录中", "I1"),
    ("duplicate-indicator", 409, "指标代码已在目录中", "I1"),
    ("invalid-definition", 422, "指标定义不完整或不正确", "I1"),
    ("invalid-effective-dates", 422, "失效日期不能早于生效日期", "I1"),
    ("effective-from-required", 422, "调整指标定义须给出生效日期", "I1"),
    ("nothing-to-change", 422, "没有要调整的内容", "I1"),
    ("catalogue-change-out-of-order", 422, "调整的生效日期不能早于当前定义的生效日期", "I1"),
    ("published-release-would-change", 409, "调整会改变已通报发布所依据的指标定义", "I1"),
    ("recorded-release-not-covered", 409, "已录入的发布在调整后将不在目录有效期内", "I1"),
    ("indicator-not-in-effect", (422, 409), "该期指标不在目录有效期内", "I1"),
    ("attribute-required", 422, "月度、季度指标必须有指标属性", "I2"),
    ("values-not-rankable", 422, "该考核事项没有指标属性，无法按数值排名；请录入省里给定的排名或等次", "I2"),
    ("release-not-found", 404, "该期发布尚未录入", "I3"),
    ("release-exists", 409, "该期发布已录入；如需更正请提交更正，历史版本保留", "I3"),
    ("values-incomplete", 422, "缺少部分城市的数值；数值不全时须录入省里给定的排名", "I3"),
    ("duplicate-city", 422, "同一城市的数值重复录入", "I3"),
    ("invalid-city-count", 422, "按数值排名时参与城市须为全省所有城市", "I3"),
    ("rank-out-of-range", 422, "排名超出城市数范围", "I3"),
    ("correction-unchanged", 422, "更正内容与当前版本相同", "I3"),
    ("issued-in-future", 422, "通报日期不能晚于今天", "I3"),
    ("issued-before-period", 422, "通报日期不能早于期别的第一天", "I3"),
    ("bulletin-not-found", 404, "该期通报尚未发布", "I3"),
    ("bulletin-unchanged", 409, "上一版通报之后没有新的发布或更正", "I3"),
    ("nothing-to-publish", (409, 404), "该期尚无任何指标发布，无法通报", "I3"),
    ("grade-not-allowed", 422, "只有年度考核事项有等次", "I4"),
    ("grades-not-allowed", 422, "只有年度考核事项可以设置等次", "I4"),
    ("unknown-grade", 422, "等次不在该考核事项的等次中", "I4"),
    ("report-duty-not-found", 404, "汇报义务不存在", "I4"),
    ("report-duty-withdrawn", 409, "该汇报义务已因更正撤销", "I4"),
    ("report-already-filed", 409, "该汇报说明已报送", "I4"),
    # Evaluation (E1-E5)
    ("round-not-found", 404, "评定轮次不存在"),
    ("round-exists", 409, "该季度的评定轮次已存在", "E1"),
    ("invalid-round-state", 409, "评定轮次当前的阶段不允许此操作", "E1"),
    ("too-few-candidates", 422, "备评部门少于每张选票须填写的个数", "E1"),
    ("repeated-candidate", 422, "备评部门重复", "E1"),
    ("not-a-candidate", 422, "所选部门不是本轮的备评部门", "E1"),
    ("wrong-number-of-choices", 422, "每张选票须填写规定个数的部门", "E1"),
    ("repeated-choice", 422, "同一张选票中部门重复", "E1"),
    ("not-on-panel", 403, "调用者不是本轮的评定人员", "E1"),
    ("unknown-panel-category", 422, "评定人员类别不存在", "E1"),
    ("panel-district-mismatch", 422, "评定人员所属区县与类别不符", "E1"),
    ("panel-quota-exceeded", 422, "该类别的评定人员已满额", "E1"),
    ("panel-overlap", 409, "评定人员重复", "E1"),
    ("panel-incomplete", 409, "评定人员名单尚不完整", "E1"),
    ("panel-entry-not-found", 404, "评定人员名单中没有该条目", "E1"),
    ("rotating-member-named-too-late", 422, "轮换成员须在规定时间前确定", "E1"),
    ("unknown-consideration-factor", 422, "考量因素不存在", "E1"),
    ("already-voted", 409, "每名评定人员每轮只能投一票", "E5"),
    ("ballot-not-found", 404, "本轮没有该追踪码（回执）的选票", "E5"),
    ("ballot-not-stored", 503, "选票未能保存，请稍后重新提交", "E5"),
    ("ballot-replayed", 409, "该加密选票已提交过（重放）", "E5"),
    ("ballots-not-published", 409, "投票截止后才公布选票", "E5"),
    ("too-many-reasons", 422, "每张选票附的密封事例或理由超过上限", "E5"),
    ("results-not-available", 409, "本轮尚未计票，暂无评定结果", "E3"),
    ("previous-round-not-tallied", 409, "须按季度顺序计票：上一季度尚未计票", "E3"),
    ("designation-not-found", 404, "低效能部门通报不存在或尚未公布", "E4"),
    ("pack-not-published", 409, "该季度的参考材料尚未印发", "E2"),
    ("round-cast-under-old-scheme", 409, "本轮按旧方式（明文选票）投票，不能做加密投票的操作", "E5"),
    ("key-ceremony-incomplete", 409, "受托人密钥仪式尚未完成，不能开始投票", "E5"),
    ("key-ceremony-out-of-order", 409, "密钥仪式的当前阶段不允许此操作", "E5"),
    ("too-few-trustees", 422, "选举密钥须由至少规定人数的受托人分持", "E5"),
    ("repeated-trustee", 422, "同一账号不能担任两名受托人", "E5"),
    ("invalid-threshold", 422, "解密门限超出允许的范围", "E5"),
    ("not-a-trustee", 403, "调用者不是该轮次的受托人", "E5"),
    ("trustee-key-registered", 409, "受托人已登记公钥", "E5"),
    ("trustee-shares-dealt", 409, "受托人已分发份额", "E5"),
    ("invalid-shares", 422, "须为其他每名受托人各密封一份份额", "E5"),
    ("invalid-proof", 422, "承诺或证明不正确", "E5"),
    ("invalid-key-share", 422, "密钥份额的公开值与各受托人的承诺不一致", "E5"),
    ("partial-decryption-submitted", 409, "受托人已提交部分解密", "E5"),
    ("awaiting-trustees", 409, "须有足够的受托人提交部分解密后才能计票", "E5"),
    ("not-your-mix-turn", 409, "事例与理由须由受托人依次处理，现在轮到另一名受托人", "E5"),
    ("invalid-mix-stage", 422, "提交的处理步骤或项数与上一步不符", "E5"),
    ("reasons-released", 409, "各受托人已处理完事例与理由", "E5"),
    ("reasons-not-released", 409, "事例与理由须经全部受托人依次处理后才公开", "E5"),
    ("assessment-scheme-not-found", 404, "该年度尚未设定考核方案，或没有该名称的方案文件", "E6"),
    ("assessment-scheme-invalid", 422, "考核方案不正确（分值之和、权重之和等）", "E6"),
    ("assessment-proposal-not-found", 404, "扣分建议不存在", "E6"),
    ("assessment-proposal-decided", 409, "扣分建议已确认或不予扣分", "E6"),
    ("assessment-not-assessor", 403, "调用者不是该考核项目的考核单位", "E6"),
    ("assessment-refused", 422, "考核操作不符合考核方案", "E6"),
    ("assessment-same-matter", 409, "同一事项不能重复扣分（每事项只扣一次）", "E6"),
    ("assessment-unit-not-assessed", (404, 422), "该单位不在考核范围内", "E6"),
    ("assessment-item-closed", 409, "该考核项目已结项，或本年度考核结果已公布", "E6"),
    ("assessment-incomplete", 409, "尚有单位或项目未评分，不能结项或公布", "E6"),
    ("assessment-entry-not-found", 404, "该年度没有此评分记录", "E6"),
    ("assessment-entry-withdrawn", 409, "该评分记录已撤销", "E6"),
)
