"""OAuth2 bearer JWTs: verification, roles and department claims, and the embedded issuer.

Production verifies tokens against an external identity provider's JWKS; the embedded mode and
the tests sign with a shared secret (HS256) through ``issue_token``. The gateway and every
service verify with this same code, and declare an operation's roles with the same
``require_roles``, so the roles the gateway enforces are the ones the service checks.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import jwt
from fastapi import Depends, Request, Security
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
    # Issued by the gateway's own token endpoint to a client registered in its database, so the
    # gateway can refuse it once that client is deleted or disabled.
    registered_client: bool = False
    # Which credentials of that client the token was issued under: changing the client's secret,
    # roles or department, or disabling it, moves its generation on and ends older tokens.
    generation: int = 0

    def has_any(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles)) or "admin" in self.roles


REALM = 'Bearer realm="xiaoneng"'
# The claim that marks a token of the built-in issuer's registered clients (see ``Principal``).
REGISTERED_CLIENT_CLAIM = "registered_client"
GENERATION_CLAIM = "client_generation"


def _unauthorized(detail: str) -> Problem:
    return Problem(401, detail, kind="unauthorized", headers={"WWW-Authenticate": REALM})


class TokenVerifier:
    """Checks bearer tokens; a token already verified is not decoded again until it expires.

    A client sends the same token on every request until it expires, and decoding it again
    (base64, signature, claims) was a tenth of a small read's CPU. A token is immutable, so the
    verdict holds until ``exp``; the cache is bounded and emptied when full.
    """

    CACHE_SIZE = 4096

    def __init__(self, settings: CommonSettings) -> None:
        self._settings = settings
        self._jwks = jwt.PyJWKClient(settings.jwks_url) if settings.jwks_url else None
        self._verified: dict[str, tuple[Principal, float]] = {}

    def verify(self, token: str) -> Principal:
        known = self._verified.get(token)
        if known is not None and time.time() < known[1]:
            return known[0]
        principal, expires = self._decode(token)
        if len(self._verified) >= self.CACHE_SIZE:
            self._verified.clear()
        self._verified[token] = (principal, expires)
        return principal

    def _decode(self, token: str) -> tuple[Principal, float]:
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
        self._check_lifetime(claims)
        roles = claims.get("roles", [])
        if not isinstance(roles, list):
            raise _unauthorized("访问令牌的 roles 声明无效")
        principal = Principal(
            client_id=str(claims.get("client_id", claims["sub"])),
            roles=frozenset(str(r) for r in roles),
            department=claims.get("department"),
            subject=str(claims["sub"]),
            registered_client=claims.get(REGISTERED_CLIENT_CLAIM) is True,
            generation=_generation(claims.get(GENERATION_CLAIM, 0)),
        )
        return principal, float(claims["exp"])

    def _check_lifetime(self, claims: dict[str, Any]) -> None:
        """Refuse a token meant to live longer than the deployment allows.

        Both spans count: ``exp - iat`` is what the issuer granted, ``exp - now`` what is left;
        PyJWT has already refused an ``iat`` in the future, so neither can be dodged by a late
        ``iat``. A token that can only expire is the one kind nothing can revoke.
        """
        longest = self._settings.jwt_max_lifetime_seconds
        expires, issued = int(claims["exp"]), int(claims["iat"])
        if expires - issued > longest or expires - int(time.time()) > longest:
            raise _unauthorized(f"访问令牌的有效期超过 {longest} 秒的上限，请重新获取")


def _generation(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _unauthorized("访问令牌的 client_generation 声明无效")
    return value


def issue_token(
    settings: CommonSettings,
    *,
    client_id: str,
    roles: list[str] | tuple[str, ...],
    department: str | None = None,
    ttl_seconds: int = 3600,
    registered_client: bool = False,
    generation: int = 0,
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
    if registered_client:
        claims[REGISTERED_CLIENT_CLAIM] = True
        claims[GENERATION_CLAIM] = generation
    return jwt.encode(claims, settings.jwt_secret, algorithm="HS256")


_bearer = HTTPBearer(auto_error=False, description="OAuth2 client-credentials access token (JWT)")


async def authenticated(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise _unauthorized("需要 Bearer 访问令牌")
    verifier: TokenVerifier = request.app.state.verifier
    return verifier.verify(credentials.credentials)


CurrentPrincipal = Annotated[Principal, Depends(authenticated)]


def require_roles(*roles: Role) -> Any:
    """A dependency that admits a principal holding any of ``roles`` (admin always).

    ``Security(..., scopes=roles)`` puts the role names into the operation's OpenAPI security
    requirement (``{"HTTPBearer": ["office", ...]}``, role names as OpenAPI 3.1 allows for any
    scheme). The gateway reads that requirement to refuse a token without any of the roles
    before it calls the service; the service still checks here, with this same code.
    """

    async def check(principal: CurrentPrincipal) -> Principal:
        if not principal.has_any(*roles):
            raise Problem(
                403,
                f"需要以下角色之一: {', '.join(roles)}",
                kind="forbidden",
                headers={
                    "WWW-Authenticate": f'{REALM}, error="insufficient_scope", scope="{" ".join(roles)}"'
                },
            )
        return principal

    return Security(check, scopes=list(roles))
