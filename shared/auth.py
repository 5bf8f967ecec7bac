"""OAuth2 bearer JWTs: verification, roles and department claims, and the embedded issuer.

Production verifies tokens against an external identity provider's JWKS; the embedded mode and
the tests sign with a shared secret (HS256) through ``issue_token``. The gateway and every
service verify with this same code.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from shared.problems import Problem
from shared.settings import CommonSettings

Role = Literal["office", "supervisor", "department", "leader", "evaluator", "admin"]
ROLES: tuple[Role, ...] = ("office", "supervisor", "department", "leader", "evaluator", "admin")


@dataclass(frozen=True)
class Principal:
    """Who is calling: an API client acting for a department, with roles."""

    client_id: str
    roles: frozenset[str]
    department: str | None = None
    subject: str | None = None

    def has_any(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles)) or "admin" in self.roles


def _unauthorized(detail: str) -> Problem:
    return Problem(401, detail, kind="unauthorized", headers={"WWW-Authenticate": 'Bearer realm="xiaoneng"'})


class TokenVerifier:
    def __init__(self, settings: CommonSettings) -> None:
        self._settings = settings
        self._jwks = jwt.PyJWKClient(settings.jwks_url) if settings.jwks_url else None

    def verify(self, token: str) -> Principal:
        try:
            if self._jwks is not None:
                key: Any = self._jwks.get_signing_key_from_jwt(token).key
                algorithms = ["RS256", "ES256"]
            else:
                key, algorithms = self._settings.jwt_secret, ["HS256"]
            claims = jwt.decode(
                token,
                key,
                algorithms=algorithms,
                audience=self._settings.jwt_audience,
                issuer=self._settings.jwt_issuer,
                options={"require": ["exp", "iat", "sub"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise _unauthorized("访问令牌已过期，请重新获取") from exc
        except (jwt.InvalidTokenError, jwt.PyJWKClientError) as exc:
            raise _unauthorized(f"访问令牌无效: {exc}") from exc
        roles = claims.get("roles", [])
        if not isinstance(roles, list):
            raise _unauthorized("访问令牌的 roles 声明无效")
        return Principal(
            client_id=str(claims.get("client_id", claims["sub"])),
            roles=frozenset(str(r) for r in roles),
            department=claims.get("department"),
            subject=str(claims["sub"]),
        )


def issue_token(
    settings: CommonSettings,
    *,
    client_id: str,
    roles: list[str] | tuple[str, ...],
    department: str | None = None,
    ttl_seconds: int = 3600,
) -> str:
    """Sign a token with the shared secret (embedded mode and tests only)."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "sub": client_id,
        "client_id": client_id,
        "roles": list(roles),
        "iat": now,
        "exp": now + ttl_seconds,
    }
    if department:
        claims["department"] = department
    return jwt.encode(claims, settings.jwt_secret, algorithm="HS256")


_bearer = HTTPBearer(auto_error=False, description="OAuth2 client-credentials access token (JWT)")


def authenticated(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise _unauthorized("需要 Bearer 访问令牌")
    verifier: TokenVerifier = request.app.state.verifier
    return verifier.verify(credentials.credentials)


CurrentPrincipal = Annotated[Principal, Depends(authenticated)]


def require_roles(*roles: Role) -> Any:
    """A dependency that admits a principal holding any of ``roles`` (admin always)."""

    def check(principal: CurrentPrincipal) -> Principal:
        if not principal.has_any(*roles):
            raise Problem(403, f"需要以下角色之一: {', '.join(roles)}", kind="forbidden")
        return principal

    return Depends(check)
