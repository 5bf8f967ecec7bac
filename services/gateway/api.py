"""The gateway's own operations: the client-credentials token endpoint."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated

from fastapi import APIRouter, Form, Request
from pydantic import BaseModel, Field

from services.gateway import clients
from shared.auth import issue_token
from shared.problems import Problem

router = APIRouter(prefix="/api/v1", tags=["认证 auth"])


class TokenResponse(BaseModel):
    access_token: str
    token_type: str = Field(default="Bearer", examples=["Bearer"])
    expires_in: int = Field(examples=[3600])


def _basic_credentials(request: Request) -> tuple[str, str] | None:
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("basic "):
        return None
    try:
        client_id, _, secret = base64.b64decode(header[6:]).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return client_id, secret


@router.post(
    "/oauth/token",
    summary="获取访问令牌",
    description=(
        "OAuth2 客户端凭证模式（RFC 6749 §4.4）。客户端编号与密钥可放在表单中，或用 HTTP Basic 认证。"
    ),
    openapi_extra={"security": []},
)
async def token(
    request: Request,
    grant_type: Annotated[str, Form(examples=["client_credentials"])],
    client_id: Annotated[str | None, Form()] = None,
    client_secret: Annotated[str | None, Form()] = None,
) -> TokenResponse:
    gw = request.app.state.gateway_settings
    ctx = request.app.state.ctx
    # With an external identity provider (JWKS) tokens signed here would not verify anyway.
    if not gw.token_issuer_enabled or ctx.common.jwks_url:
        raise Problem(404, "本部署使用外部身份提供方签发令牌", kind="not-found")
    if grant_type != "client_credentials":
        raise Problem(400, "仅支持 grant_type=client_credentials", kind="unsupported-grant-type")
    basic = _basic_credentials(request)
    if basic is not None:
        client_id, client_secret = basic
    if not client_id or not client_secret:
        raise Problem(400, "缺少 client_id 或 client_secret", kind="invalid-client")
    client = await clients.authenticate_client(ctx.db, client_id, client_secret)
    if client is None:
        raise Problem(
            401,
            "客户端编号或密钥错误",
            kind="invalid-client",
            headers={"WWW-Authenticate": 'Basic realm="xiaoneng"'},
        )
    access = issue_token(
        ctx.common,
        client_id=client_id,
        roles=[str(r) for r in client["roles"]],  # type: ignore[attr-defined]
        department=client["department"],  # type: ignore[arg-type]
        ttl_seconds=gw.token_ttl_seconds,
    )
    return TokenResponse(access_token=access, expires_in=gw.token_ttl_seconds)
