"""What a running gateway holds beside the service context; reachable as ``app.state.gateway``.

Routes take it as ``RuntimeDep``. Its ``clock`` is the gateway's transport clock (Standard
Webhooks timestamps, delivery leases and retries, Idempotency-Key expiry): the wall clock unless a
test injects one. Business time (a calendar publication, a summary's date) is ``ctx.now()``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

import httpx
from fastapi import Depends
from starlette.requests import HTTPConnection

from services.gateway.catalog import Catalog
from services.gateway.domain import RateLimiter
from services.gateway.settings import GatewaySettings
from shared.app import ServiceContext
from shared.auth import TokenVerifier
from shared.clock import Clock, utc_now
from shared.db import Database
from shared.settings import CommonSettings

if TYPE_CHECKING:
    from services.gateway.webhooks.delivery import DeliveryWorker

# ``Clock`` and ``utc_now`` are the kernel's (shared.clock); still importable from here for the
# test harness that names them so.
__all__ = ["Clock", "GatewayRuntime", "RuntimeDep", "runtime_of", "utc_now"]


@dataclass
class GatewayRuntime:
    ctx: ServiceContext
    settings: GatewaySettings
    verifier: TokenVerifier
    catalog: Catalog
    limiter: RateLimiter
    upstreams: dict[str, httpx.AsyncClient]
    clock: Clock
    worker: DeliveryWorker | None = None

    @property
    def db(self) -> Database:
        return self.ctx.db

    @property
    def common(self) -> CommonSettings:
        return self.ctx.common

    def wake_worker(self) -> None:
        """Deliveries were queued: the worker looks now instead of at its next poll."""
        if self.worker is not None:
            self.worker.wake()


async def runtime_of(connection: HTTPConnection) -> GatewayRuntime:
    gateway: GatewayRuntime = connection.app.state.gateway
    return gateway


RuntimeDep = Annotated[GatewayRuntime, Depends(runtime_of)]
