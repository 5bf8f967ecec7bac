"""The gateway's own operations: the client-credentials token endpoint.

Errors answer in both vocabularies at once: RFC 6749 §5.2 (``error`` and an ASCII
``error_description``, which OAuth client libraries read) and RFC 9457 (``type``, ``title``,
``status``, a Chinese ``detail``). ``invalid_client`` is 401 with a ``Basic`` challenge, the
other errors 400; too many failed attempts of one client id are 429 with ``Retry-After``.
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any
from urllib.parse import unquote_plus

from fastapi import APIRouter, Form, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.datastructures import FormData

from services.gateway import clients
from services.gateway.runtime import RuntimeDep
from shared.auth import issue_token
from shared.deps import CtxDep
from shared.problems import PROBLEM_JSON, Problem

router = APIRouter(prefix="/api/v1", tags=["认证 auth"])

# RFC 6749 §5.1: token responses, and so their errors, are never cached.
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
BASIC_CHALLENGE = 'Basic realm="xiaoneng"'
_PARAMETERS = ("grant_type", "client_id", "client_secret")


# A token as the endpoint issues them (signed with a made-up key): what a client puts after "Bearer".
_TOKEN_EXAMPLE = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJ4aWFvbmVuZyIsImF1ZCI6InhpYW9uZW5nLWFwaSIsInN1YiI6Im"
    "RlbW8tb2ZmaWNlIiwiY2xpZW50X2lkIjoiZGVtby1vZmZpY2UiLCJyb2xlcyI6WyJvZmZpY2UiXSwiZGVwYXJ0bWVudCI6Im9m"
    "ZmljZSIsImlhdCI6MTUyOTQ2MDAwMCwiZXhwIjoxNTI5NDYzNjAwLCJyZWdpc3RlcmVkX2NsaWVudCI6dHJ1ZSwiY2xpZW50X2"
    "dlbmVyYXRpb24iOjB9.4wlmdk223DYWhE6oVmRt5Vf-el5sVedD4FK-3rptui4"
)


class TokenResponse(BaseModel):
    """An access token (JWT) for ``Authorization: Bearer …``."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"access_token": _TOKEN_EXAMPLE, "token_type": "Bearer", "expires_in": 3600}]
        }
    )

    access_token: str = Field(
        description="JWT：iss、aud、sub/client_id、roles、department、iat、exp", examples=[_TOKEN_EXAMPLE]
    )
    token_type: str = Field(default="Bearer", examples=["Bearer"])
    expires_in: int = Field(description="有效秒数", examples=[3600])


class TokenError(BaseModel):
    """RFC 6749 §5.2 beside RFC 9457: both sets of members in one JSON object."""

    error: str = Field(
        examples=["invalid_client"],
        description="invalid_request, invalid_client, invalid_grant, unauthorized_client, "
        "unsupported_grant_type, invalid_scope",
    )
    error_description: str = Field(examples=["Client authentication failed"])
    type: str = Field(examples=["/problems/invalid-client"])
    title: str = Field(examples=["未认证"])
    status: int = Field(examples=[401])
    detail: str = Field(examples=["客户端编号或密钥错误"])


_ERROR = {"model": TokenError, "content": {PROBLEM_JSON: {}}}


def _oauth_error(
    status: int,
    error: str,
    description: str,
    detail: str,
    *,
    kind: str,
    headers: dict[str, str] | None = None,
) -> Problem:
    return Problem(
        status,
        detail,
        kind=kind,
        headers={**NO_STORE, **(headers or {})},
        error=error,
        error_description=description,
    )


def _invalid_client(description: str, detail: str) -> Problem:
    return _oauth_error(
        401,
        "invalid_client",
        description,
        detail,
        kind="invalid-client",
        headers={"WWW-Authenticate": BASIC_CHALLENGE},
    )


def _invalid_request(description: str, detail: str) -> Problem:
    return _oauth_error(400, "invalid_request", description, detail, kind="invalid-request")


def _basic_credentials(request: Request) -> tuple[str, str] | None:
    """Client id and secret from ``Authorization: Basic`` (form-encoded first, RFC 6749 §2.3.1)."""
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise _invalid_client("Malformed HTTP Basic credentials", "HTTP Basic 认证信息格式错误") from exc
    client_id, colon, secret = decoded.partition(":")
    if not colon:
        raise _invalid_client("Malformed HTTP Basic credentials", "HTTP Basic 认证信息格式错误")
    return unquote_plus(client_id), unquote_plus(secret)


@router.post(
    "/oauth/token",
    summary="获取访问令牌",
    description=(
        "OAuth2 客户端凭证模式（RFC 6749 §4.4）。客户端编号与密钥可放在表单中，或用 HTTP Basic 认证"
        "（二者择一）。错误同时给出 RFC 6749 §5.2 的 error、error_description 与 RFC 9457 的问题详情；"
        "同一客户端编号认证失败过多时暂时拒绝（429，Retry-After）。"
    ),
    openapi_extra={"security": []},
    responses={
        200: {
            "description": "访问令牌（JWT），放在 Authorization: Bearer 之后",
            "content": {
                "application/json": {
                    "example": {"access_token": _TOKEN_EXAMPLE, "token_type": "Bearer", "expires_in": 3600}
                }
            },
        },
        400: {**_ERROR, "description": "invalid_request 或 unsupported_grant_type"},
        401: {**_ERROR, "description": "invalid_client"},
        429: {**_ERROR, "description": "认证失败过多，稍后重试（Retry-After）"},
    },
)
async def token(
    request: Request,
    response: Response,
    ctx: CtxDep,
    rt: RuntimeDep,
    grant_type: Annotated[str | None, Form(examples=["client_credentials"])] = None,
    client_id: Annotated[str | None, Form()] = None,
    client_secret: Annotated[str | None, Form()] = None,
) -> TokenResponse:
    # With an external identity provider (JWKS) tokens signed here would not verify anyway.
    if not rt.settings.token_issuer_enabled or ctx.common.jwks_url:
        raise Problem(404, "本部署使用外部身份提供方签发令牌", kind="not-found")
    _check_grant(await request.form(), grant_type)
    client_id, client_secret = _credentials(request, client_id, client_secret)
    client = await _authenticate(request, client_id, client_secret)
    # The issuer never grants more than every verifier accepts.
    ttl = min(rt.settings.token_ttl_seconds, ctx.common.jwt_max_lifetime_seconds)
    access = issue_token(
        ctx.common,
        client_id=client["client_id"],
        roles=[str(r) for r in client["roles"]],
        department=client["department"],
        ttl_seconds=ttl,
        registered_client=True,
        generation=client["generation"],
    )
    response.headers.update(NO_STORE)
    return TokenResponse(access_token=access, expires_in=ttl)


def _check_grant(form: FormData, grant_type: str | None) -> None:
    """Each parameter at most once (RFC 6749 §3.2), and the one grant this issuer offers."""
    repeated = [name for name in _PARAMETERS if len(form.getlist(name)) > 1]
    if repeated:
        raise _invalid_request(
            f"Parameter included more than once: {', '.join(repeated)}", f"参数重复: {', '.join(repeated)}"
        )
    if not grant_type:
        raise _invalid_request("Missing grant_type", "缺少 grant_type")
    if grant_type != "client_credentials":
        raise _oauth_error(
            400,
            "unsupported_grant_type",
            "Only grant_type=client_credentials is supported",
            "仅支持 grant_type=client_credentials",
            kind="unsupported-grant-type",
        )


def _credentials(request: Request, client_id: str | None, client_secret: str | None) -> tuple[str, str]:
    """Client id and secret from HTTP Basic or the form, one method per request (RFC 6749 §2.3)."""
    basic = _basic_credentials(request)
    if basic is not None:
        if client_secret is not None or (client_id is not None and client_id != basic[0]):
            raise _invalid_request(
                "Use either HTTP Basic or client_id/client_secret in the body, not both",
                "客户端凭证只能用 HTTP Basic 或表单之一提供",
            )
        client_id, client_secret = basic
    if not client_id or not client_secret:
        raise _invalid_client("Client authentication is missing", "缺少 client_id 或 client_secret")
    return client_id, client_secret


async def _authenticate(request: Request, client_id: str, client_secret: str) -> dict[str, Any]:
    try:
        client = await clients.registry_of(request.app).authenticate(client_id, client_secret)
    except clients.LockedOut as locked:
        raise _oauth_error(
            429,
            "invalid_client",
            f"Too many failed authentications of this client; retry after {locked.retry_after} s",
            f"该客户端编号认证失败次数过多，请 {locked.retry_after} 秒后重试",
            kind="too-many-failed-authentications",
            headers={"Retry-After": str(locked.retry_after)},
        ) from None
    if client is None:
        raise _invalid_client("Client authentication failed", "客户端编号或密钥错误")
    return client
