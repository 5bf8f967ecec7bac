"""Links a service writes into its answers are the paths clients use: the gateway's.

Every domain service serves ``/v1/...`` behind the gateway, which publishes it as
``/api/v1/<service>/...``; a client never reaches a service directly. So a ``Location``, a
``Link``, a problem's ``instance``, a URL field in a body or a path named in a message is written
as the gateway path (``public_path``), and resolves when followed. The gateway's own paths are
already public.
"""

from __future__ import annotations

from typing import Any

from starlette.types import Scope

from shared.registry import DOMAIN_SERVICES

GATEWAY_API = "/api/v1"


def public_path(service: str, path: str) -> str:
    """``/v1/x`` of ``service`` as the gateway serves it (``/api/v1/<service>/x``); other paths as
    they are (the gateway's own, or one that is already public)."""
    if service in DOMAIN_SERVICES and path.startswith("/v1/"):
        return f"{GATEWAY_API}/{service}/{path.removeprefix('/v1/')}"
    return path


def service_of(app: Any) -> str | None:
    """The service an app is (its kernel context's name), once it has started."""
    ctx = getattr(getattr(app, "state", None), "ctx", None)
    spec = getattr(ctx, "spec", None)
    name = getattr(spec, "name", None)
    return name if isinstance(name, str) else None


def request_path(scope: Scope) -> str:
    """The public path of the request being answered."""
    service = service_of(scope.get("app"))
    path: str = scope["path"]
    return public_path(service, path) if service is not None else path
