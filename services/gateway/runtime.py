"""What a running gateway holds beside the service context; reachable as ``app.state.gateway``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import httpx
from starlette.requests import HTTPConnection

from services.gateway.catalog import Catalog
from services.gateway.domain import RateLimiter
from services.gateway.settings import GatewaySettings
from shared.auth import TokenVerifier
from shared.db import Database
from shared.settings import CommonSettings

if TYPE_CHECKING:
    from services.gateway.webhooks.delivery import DeliveryWorker

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class GatewayRuntime:
    settings: GatewaySettings
    common: CommonSettings
    db: Database
    verifier: TokenVerifier
    catalog: Catalog
    limiter: RateLimiter
    upstreams: dict[str, httpx.AsyncClient]
    clock: Clock
    worker: DeliveryWorker | None = None


def runtime_of(connection: HTTPConnection) -> GatewayRuntime:
    gateway: GatewayRuntime = connection.app.state.gateway
    return gateway
