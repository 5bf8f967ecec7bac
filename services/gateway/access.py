"""Who may call the gateway's own operations, declared so that the roles appear in OpenAPI.

``require_roles`` is the one in ``shared.auth`` that every service uses: it puts the role names
into the operation's security requirement (``{"HTTPBearer": ["office", ...]}``), which is what
the guard reads for every operation, the gateway's and the services' alike.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from shared.auth import Principal, authenticated, require_roles

Caller = Annotated[Principal, Depends(authenticated)]

__all__ = ["Caller", "require_roles"]
