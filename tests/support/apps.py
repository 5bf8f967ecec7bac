"""Run service apps in-process for tests: lifespan started, an httpx client on ASGI."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI

from launcher.topology import app_factory
from shared.auth import issue_token
from shared.settings import CommonSettings, ServiceSettings


def test_settings(**overrides: Any) -> CommonSettings:
    values: dict[str, Any] = {
        "environment": "test",
        "bus": "memory",
        "relay_poll_seconds": 0.05,
        "consumer_retry_base_seconds": 0.01,
        "log_json": False,
        "jwt_secret": f"test-{uuid.uuid4().hex}",
    }
    values.update(overrides)
    return CommonSettings(**values)


# Imported into test modules by name; not a test itself.
test_settings.__test__ = False  # type: ignore[attr-defined]


@asynccontextmanager
async def running(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


def service_app(
    name: str, database_url: str, common: CommonSettings, bus: Any = None, **settings: Any
) -> FastAPI:
    app: FastAPI = app_factory(name)(
        common=common, settings=ServiceSettings(database_url=database_url, **settings), bus=bus
    )
    return app


def bearer(
    common: CommonSettings, *roles: str, department: str | None = None, client_id: str = "test"
) -> dict[str, str]:
    token = issue_token(common, client_id=client_id, roles=list(roles), department=department)
    return {"Authorization": f"Bearer {token}"}
