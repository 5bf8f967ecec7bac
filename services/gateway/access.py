"""Who may call the gateway's own operations, declared so that the roles appear in OpenAPI.

``Security(..., scopes=roles)`` puts the role names into the operation's security requirement
(``{"HTTPBearer": ["office", ...]}``, role names as OpenAPI 3.1 allows), which is what the
guard reads for every operation, the gateway's and the services' alike.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Security

from shared.auth import Principal, Role, authenticated
from shared.problems import Problem

Caller = Annotated[Principal, Depends(authenticated)]


def require_roles(*roles: Role) -> Any:
    def check(principal: Caller) -> Principal:
        if not principal.has_any(*roles):
            raise Problem(
                403,
                f"需要以下角色之一: {', '.join(roles)}",
                kind="forbidden",
                headers={
                    "WWW-Authenticate": f'Bearer realm="xiaoneng", error="insufficient_scope", '
                    f'scope="{" ".join(roles)}"'
                },
            )
        return principal

    return Security(check, scopes=list(roles))
