"""The gateway's checks on every request, before routing: one ASGI middleware.

In order: who is calling (a bearer token, verified once; a token of the built-in issuer only
while its client is registered and not disabled), the client's rate limit (per token client, else
per IP address, where ``X-Forwarded-For`` counts only from ``trusted_proxies``; ``RateLimit``
and ``RateLimit-Policy`` headers on every response, 429 with ``Retry-After``), the operation's
access rules from the OpenAPI documents (401/403 with ``WWW-Authenticate``), the body (size
limit → 413, declared media types → 415, malformed JSON → 400) and ``Idempotency-Key`` on
POSTs. Every refusal is problem+json. Operational probes and static files are not limited.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from starlette.applications import Starlette
from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.gateway import clients, idempotency
from services.gateway.catalog import Operation
from services.gateway.domain import (
    client_address,
    parse_idempotency_key,
    request_fingerprint,
    trusted_networks,
)
from services.gateway.runtime import GatewayRuntime
from shared.auth import Principal
from shared.db import is_unavailable
from shared.problems import Problem, problem_response, unavailable_response

log = logging.getLogger("xiaoneng.gateway.guard")

_EXEMPT = ("/healthz", "/readyz", "/metrics", "/static/")
TOKEN_PATH = "/api/v1/oauth/token"
REALM = 'Bearer realm="xiaoneng"'


def _exempt(path: str) -> bool:
    return any(path == p or path.startswith(p) for p in _EXEMPT)


def _with_headers(send: Send, extra: list[tuple[str, str]]) -> Send:
    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = MutableHeaders(scope=message)
            for name, value in extra:
                headers.append(name, value)
        await send(message)

    return wrapped


def _media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def _is_json(media: str) -> bool:
    return media == "application/json" or media.endswith("+json")


def _accepts(declared: frozenset[str], media: str) -> bool:
    if media in declared or "*/*" in declared:
        return True
    return f"{media.split('/', 1)[0]}/*" in declared


class _Refusal(Exception):
    def __init__(self, status: int, detail: str, *, kind: str | None = None, **headers: str) -> None:
        super().__init__(detail)
        self.status, self.detail, self.kind = status, detail, kind
        self.headers = {k.replace("_", "-"): v for k, v in headers.items()}

    def response(self, path: str) -> JSONResponse:
        extra = _token_endpoint_error(self.status) if path == TOKEN_PATH else {}
        return problem_response(
            self.status, self.detail, kind=self.kind, instance=path, headers=self.headers, **extra
        )


# How a POST with an Idempotency-Key is refused: a malformed key, a key another request used, a
# key whose first request is still running.
_INVALID_KEY = _Refusal(
    400, "Idempotency-Key 须为 1 至 255 个可见 ASCII 字符", kind="invalid-idempotency-key"
)
_CLAIM_REFUSALS = {
    "mismatch": _Refusal(
        422,
        "同一个 Idempotency-Key 已用于内容不同的请求；请为新请求使用新的键",
        kind="idempotency-key-reused",
    ),
    "running": _Refusal(
        409,
        "使用同一 Idempotency-Key 的请求仍在处理中，请稍后重试",
        kind="idempotency-key-in-use",
        Retry_After="1",
    ),
}


@dataclass(frozen=True)
class _Identity:
    """Who is calling: the verified principal, or why a presented token was refused."""

    principal: Principal | None
    token_error: str | None
    has_token: bool

    @property
    def client_id(self) -> str | None:
        return self.principal.client_id if self.principal is not None else None


class GatewayGuard:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        runtime: GatewayRuntime | None = getattr(scope["app"].state, "gateway", None)
        if scope["type"] != "http" or runtime is None or _exempt(scope["path"]):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        try:
            identity = await self._identify(scope["app"], runtime, headers)
        except Exception as exc:
            # The client registry lives in the gateway's database: while it is down, 503 as for
            # any other use of it (a raw middleware's exception would reset the connection).
            if not is_unavailable(exc):
                raise
            await unavailable_response(scope["method"], scope["path"], exc)(scope, receive, send)
            return
        host = self._caller_address(runtime, scope, headers)
        caller = f"client:{identity.client_id}" if identity.client_id is not None else f"ip:{host}"
        policy, decision = runtime.limiter.take(caller, identity.client_id, time.monotonic())
        send = _with_headers(
            send, [("RateLimit-Policy", policy.policy_header()), ("RateLimit", decision.header(policy))]
        )
        try:
            if not decision.allowed:
                raise _Refusal(
                    429,
                    f"请求过于频繁：每 {policy.window_seconds} 秒最多 {policy.quota} 次，"
                    f"请 {decision.retry_after_seconds} 秒后重试",
                    Retry_After=str(decision.retry_after_seconds),
                )
            operation = await runtime.catalog.operation(scope["method"], scope["path"])
            self._check_access(operation, identity)
            body, receive = await self._checked_body(runtime, operation, scope, headers, receive)
        except _Refusal as refusal:
            await refusal.response(scope["path"])(scope, receive, send)
            return
        key_header = headers.get("idempotency-key")
        if key_header is not None and _keeps_idempotency(scope, operation):
            await self._idempotent(runtime, scope, receive, send, caller, key_header, body)
            return
        await self.app(scope, receive, send)

    @staticmethod
    async def _identify(app: Starlette, runtime: GatewayRuntime, headers: Headers) -> _Identity:
        auth = headers.get("authorization", "")
        if not auth.lower().startswith("bearer "):
            return _Identity(None, None, has_token=False)
        try:
            principal = runtime.verifier.verify(auth[7:].strip())
        except Problem as exc:
            return _Identity(None, exc.detail, has_token=True)
        # A token of this gateway's own issuer lives only as long as its client does. (With an
        # external identity provider the provider revokes; our HS256 tokens do not verify then.)
        if principal.registered_client and not runtime.common.jwks_url:
            if not await clients.registry_of(app).admits(principal):
                refused = "访问令牌所属的客户端已删除或停用，或其凭证已更换（请重新获取令牌）"
                return _Identity(None, refused, has_token=True)
        return _Identity(principal, None, has_token=True)

    @staticmethod
    def _caller_address(runtime: GatewayRuntime, scope: Scope, headers: Headers) -> str:
        """The caller's address for the per-IP limit: forwarded headers only from trusted proxies."""
        peer: str = scope["client"][0] if scope.get("client") else "unknown"
        trusted = trusted_networks(tuple(runtime.settings.trusted_proxies))
        if not trusted:
            return peer
        address = client_address(peer, headers.getlist("x-forwarded-for"), trusted)
        if address != peer:
            # So that the logs and the X-Forwarded-For sent to the services name the caller too.
            scope["client"] = (address, 0)
        return address

    @staticmethod
    def _check_access(operation: Operation | None, identity: _Identity) -> None:
        if identity.token_error is not None:
            # RFC 6750 §3.1: a presented token that does not verify is refused, even on public reads.
            raise _Refusal(
                401,
                identity.token_error,
                kind="unauthorized",
                WWW_Authenticate=f'{REALM}, error="invalid_token", '
                'error_description="The access token is invalid or expired"',
            )
        if operation is None or not operation.access.token_required:
            return
        principal = identity.principal
        if principal is None:
            detail = "需要 Bearer 访问令牌" if not identity.has_token else "访问令牌无效"
            raise _Refusal(401, detail, kind="unauthorized", WWW_Authenticate=REALM)
        roles = operation.access.roles
        if roles and not principal.has_any(*roles):
            wanted = " ".join(sorted(roles))
            raise _Refusal(
                403,
                f"需要以下角色之一: {', '.join(sorted(roles))}",
                kind="forbidden",
                WWW_Authenticate=f'{REALM}, error="insufficient_scope", scope="{wanted}"',
            )

    async def _checked_body(
        self,
        runtime: GatewayRuntime,
        operation: Operation | None,
        scope: Scope,
        headers: Headers,
        receive: Receive,
    ) -> tuple[bytes, Receive]:
        """The request body, read once within the size limit and checked; what the app then reads."""
        if not _has_body(headers):
            return b"", receive
        body = await self._read_body(runtime, headers, receive)
        self._check_body(operation, scope["method"], headers, body)
        return body, _replay(body, receive)

    @staticmethod
    async def _read_body(runtime: GatewayRuntime, headers: Headers, receive: Receive) -> bytes:
        limit = runtime.settings.max_body_bytes
        too_large = _Refusal(413, f"请求体超过 {limit} 字节的上限", kind="payload-too-large")
        declared = headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise too_large
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise too_large
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)

    @staticmethod
    def _check_body(operation: Operation | None, method: str, headers: Headers, body: bytes) -> None:
        if not body:
            return
        media = _media_type(headers.get("content-type"))
        if operation is not None and operation.body_types and not _accepts(operation.body_types, media):
            accepted = ", ".join(sorted(operation.body_types))
            extra = {"Accept_Post": accepted} if method == "POST" else {}
            if method == "PATCH":
                extra = {"Accept_Patch": accepted}
            raise _Refusal(
                415,
                f"不支持的媒体类型 {media or '（未声明）'}；此操作接受: {accepted}",
                kind="unsupported-media-type",
                **extra,
            )
        if _is_json(media):
            try:
                json.loads(body)
            except ValueError as exc:
                raise _Refusal(400, f"请求体不是有效的 JSON: {exc}", kind="malformed-json") from exc

    async def _idempotent(
        self,
        runtime: GatewayRuntime,
        scope: Scope,
        receive: Receive,
        send: Send,
        caller: str,
        header: str,
        body: bytes,
    ) -> None:
        path = scope["path"]
        key = parse_idempotency_key(header)
        if key is None:
            await _INVALID_KEY.response(path)(scope, receive, send)
            return
        settings = runtime.settings
        query = scope.get("query_string", b"").decode("latin-1")
        claim = await idempotency.claim(
            runtime.db,
            scope=caller,
            key=key,
            fingerprint=request_fingerprint(scope["method"], path, query, body),
            method=scope["method"],
            path=path,
            now=runtime.clock(),
            ttl=timedelta(seconds=settings.idempotency_ttl_seconds),
            lock=timedelta(seconds=settings.idempotency_lock_seconds),
        )
        if (refusal := _CLAIM_REFUSALS.get(claim.outcome)) is not None:
            await refusal.response(path)(scope, receive, send)
            return
        if claim.outcome == "replay" and claim.stored is not None:
            await _send_stored(claim.stored, send)
            return
        await self._run_and_keep(runtime, scope, receive, send, caller, key)

    async def _run_and_keep(
        self, runtime: GatewayRuntime, scope: Scope, receive: Receive, send: Send, caller: str, key: str
    ) -> None:
        """Run the request and keep its answer for the key (or release the key), *before* the last
        part of the answer leaves: a client that retries as soon as it has read a 502 must find the
        key free, not still held by the request that answered it (a 409 "in use")."""
        captured: dict[str, Any] = {"status": 500, "headers": [], "chunks": [], "size": 0, "settled": False}

        async def settle() -> None:
            captured["settled"] = True
            await self._keep_or_release(runtime, caller, key, captured)

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                captured["status"] = message["status"]
                captured["headers"] = [
                    (k.decode("latin-1"), v.decode("latin-1")) for k, v in message.get("headers", [])
                ]
            elif message["type"] == "http.response.body":
                chunk = message.get("body", b"")
                captured["size"] += len(chunk)
                if captured["size"] <= idempotency.MAX_STORED_BODY:
                    captured["chunks"].append(chunk)
                if not message.get("more_body", False):
                    await settle()
            await send(message)

        try:
            await self.app(scope, receive, capture)
        except BaseException:
            if not captured["settled"]:
                await idempotency.release(runtime.db, scope=caller, key=key)
            raise
        if not captured["settled"]:
            await settle()

    @staticmethod
    async def _keep_or_release(
        runtime: GatewayRuntime, caller: str, key: str, captured: dict[str, Any]
    ) -> None:
        status: int = captured["status"]
        if idempotency.keeps(status) and captured["size"] <= idempotency.MAX_STORED_BODY:
            stored = idempotency.StoredResponse(
                status=status,
                headers=idempotency.storable_headers(captured["headers"]),
                body=b"".join(captured["chunks"]),
            )
            await idempotency.complete(runtime.db, scope=caller, key=key, response=stored)
        else:
            await idempotency.release(runtime.db, scope=caller, key=key)


# RFC 6749 §5.2 for the refusals of the token endpoint that the guard makes (its own errors the
# endpoint gives itself, services/gateway/api.py).
_TOKEN_REQUEST_ERRORS = {
    400: "The request is malformed",
    413: "The request body is too large",
    415: "The token request must be application/x-www-form-urlencoded",
}


def _token_endpoint_error(status: int) -> dict[str, str]:
    description = _TOKEN_REQUEST_ERRORS.get(status)
    if description is None:
        return {}
    return {"error": "invalid_request", "error_description": description}


def _has_body(headers: Headers) -> bool:
    length = headers.get("content-length")
    if length is not None:
        return length.strip() not in ("", "0")
    return "transfer-encoding" in headers


def _replay(body: bytes, receive: Receive) -> Receive:
    delivered = False

    async def replay() -> Message:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _send_stored(
    stored: idempotency.StoredResponse, send: Callable[[Message], Awaitable[None]]
) -> None:
    raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in stored.headers]
    raw += [(b"content-length", str(len(stored.body)).encode()), (b"idempotent-replayed", b"true")]
    await send({"type": "http.response.start", "status": stored.status, "headers": raw})
    await send({"type": "http.response.body", "body": stored.body, "more_body": False})


def _keeps_idempotency(scope: Scope, operation: Operation | None) -> bool:
    """Whether a request's ``Idempotency-Key`` is honoured: creating POSTs, not the token
    endpoint and not a secret ballot."""
    return scope["method"] == "POST" and scope["path"] != TOKEN_PATH and not _secret_ballot(operation)


def _secret_ballot(operation: Operation | None) -> bool:
    """A secret ballot is never stored with its caller (E5): no idempotency record is kept for it.

    The record would hold the voter's client id beside a digest of the choices and the receipt,
    which is exactly the link the ballot box is built to avoid. The flag comes from the service's
    own OpenAPI (``x-secret-ballot``); while that document cannot be fetched the service is not
    answering either, and a failed call (5xx) leaves no record.
    """
    return operation is not None and bool(operation.raw.get("x-secret-ballot"))
