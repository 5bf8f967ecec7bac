"""Helpers for the coordination service tests (this module holds no tests).

The coordination app runs in-process on a fresh database with an in-memory bus whose topics the
tests read, and with a clock the tests set: requests run at ``clock.now`` and the sweepers are
called with a chosen instant, so time moves by choice, never by sleeping for a deadline.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select

from services.coordination.api import deps
from shared.app import ServiceContext
from shared.events import EventData, topic_for
from shared.messaging.memory import MemoryBus
from shared.messaging.tables import outbox
from shared.settings import CommonSettings
from tests.support.apps import bearer, running, service_app
from tests.support.infra import PostgresSource

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(text: str) -> datetime:
    """An instant in Asia/Shanghai, e.g. ``at("2018-06-19 23:59:59")``."""
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


@dataclass
class Clock:
    now: datetime


@dataclass
class Coordination:
    client: httpx.AsyncClient
    app: FastAPI
    bus: MemoryBus
    common: CommonSettings
    clock: Clock
    tokens: dict[tuple[str, str | None], dict[str, str]] = field(default_factory=dict)

    @property
    def ctx(self) -> ServiceContext:
        ctx: ServiceContext = self.app.state.ctx
        return ctx

    def auth(self, role: str, department: str | None = None) -> dict[str, str]:
        key = (role, department)
        if key not in self.tokens:
            self.tokens[key] = bearer(
                self.common, role, department=department, client_id=f"{role}-{department}"
            )
        return self.tokens[key]

    def office(self) -> dict[str, str]:
        return self.auth("office", "office")

    def dept(self, code: str) -> dict[str, str]:
        return self.auth("department", code)

    def leader(self, code: str) -> dict[str, str]:
        return self.auth("leader", code)

    async def events(self, contract: type[EventData]) -> list[dict[str, Any]]:
        """The data of every ``contract`` event published so far, once the outbox is drained."""
        await self.drained()
        return [json.loads(m.value) for m in self.bus.messages(topic_for(contract, self.common.topic_prefix))]

    async def drained(self) -> None:
        for _ in range(400):
            async with self.ctx.db.reader() as session:
                pending = (
                    await session.execute(select(func.count()).where(outbox.c.published_at.is_(None)))
                ).scalar_one()
            if pending == 0:
                return
            await asyncio.sleep(0.025)
        raise AssertionError("the outbox relay did not publish the pending events")


@asynccontextmanager
async def coordination(
    postgres: PostgresSource, common: CommonSettings, now: datetime
) -> AsyncIterator[Coordination]:
    bus = MemoryBus()
    # The sweepers run only when a test calls them with its own instant.
    app = service_app("coordination", await postgres.new_database(), common, bus, sweepers_enabled=False)
    clock = Clock(now)
    app.dependency_overrides[deps.current_time] = lambda: clock.now
    async with running(app) as client:
        yield Coordination(client, app, bus, common, clock)


def sheet(lead: str, *departments: str, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "lead_department": lead,
        "basis": "市政府第12次常务会议纪要",
        "main_matter": "推进城市有机更新项目前期工作",
        "items": [{"department": d, "content": f"请{d}提供相关材料"} for d in departments],
        "contact_person": "王明",
        "contact_phone": "0572-2222222",
        "fax": "0572-2222223",
        "attachments": [{"name": "项目清单", "pages": 2}],
    }
    body.update(overrides)
    return body


def signed(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"content": "同意，材料见附件", "signed_by": "李华", "stamped": True}
    body.update(overrides)
    return body


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    return body
