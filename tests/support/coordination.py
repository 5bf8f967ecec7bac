"""Helpers of the coordination service tests.

The coordination app runs in-process on a fresh database with an in-memory bus whose topics the
tests read, and with a clock the tests set as its business clock (``ctx.clock``): requests run at
``clock.now`` and the sweepers are called with a chosen instant, so time moves by choice, never by
sleeping for a deadline.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select

from services.coordination.service import matters
from shared.app import ServiceContext
from shared.events import EventData
from shared.messaging.memory import MemoryBus
from shared.messaging.tables import outbox
from shared.settings import CommonSettings
from tests.support.apps import bearer, running, service_app
from tests.support.clock import Clock, at
from tests.support.events import published
from tests.support.infra import PostgresSource
from tests.support.waiting import until


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

    async def open_matter(self, lead: str, *departments: str, **overrides: Any) -> dict[str, Any]:
        """A joint matter the lead department opens with ``sheet``; the answer's body."""
        r = await self.client.post(
            "/v1/joint-matters", json=sheet(lead, *departments, **overrides), headers=self.dept(lead)
        )
        body: dict[str, Any] = r.json()
        return body

    async def open_items(self, lead: str, *departments: str) -> list[str]:
        """The ids of the items of a joint matter ``lead`` opens for ``departments``, in that order."""
        matter = await self.open_matter(lead, *departments)
        return [i["id"] for i in matter["items"]]

    async def events(self, contract: type[EventData]) -> list[dict[str, Any]]:
        """The data of every ``contract`` event published so far, once the outbox is drained."""
        await self.drained()
        return published(self.bus, contract, self.common.topic_prefix)

    async def drained(self) -> None:
        async def nothing_pending() -> bool:
            async with self.ctx.db.reader() as session:
                pending = (
                    await session.execute(select(func.count()).where(outbox.c.published_at.is_(None)))
                ).scalar_one()
            return bool(pending == 0)

        await until(
            nothing_pending, "the outbox relay publishing the pending events", timeout=10, interval=0.025
        )


@asynccontextmanager
async def coordination(
    postgres: PostgresSource, common: CommonSettings, now: datetime
) -> AsyncIterator[Coordination]:
    bus = MemoryBus()
    # The sweepers run only when a test calls them with its own instant.
    app = service_app("coordination", await postgres.new_database(), common, bus, sweepers_enabled=False)
    clock = Clock(now)
    async with running(app) as client:
        app.state.ctx.clock = clock
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


def instruction(category: str = "supervised", **overrides: Any) -> dict[str, Any]:
    """A leader instruction (C7) for the office to register."""
    body: dict[str, Any] = {
        "leader": "vm-urban",
        "category": category,
        "title": "关于加快老旧小区改造的批示",
        "content": "请市建设局牵头研究，月底前报送方案。",
    }
    body.update(overrides)
    return body


def assignment_of(view: dict[str, Any], department: str) -> dict[str, Any]:
    """The assignment of ``department`` in an instruction view."""
    (found,) = (a for a in view["assignments"] if a["department"] == department)
    return found  # type: ignore[no-any-return]


async def registered_and_proposed(
    c: Coordination, *, proposed_at: str | None = None, **overrides: Any
) -> dict[str, Any]:
    """An ``instruction(**overrides)`` the office registers and proposes (at ``proposed_at``, a
    paper record's instant, when given); the proposed view."""
    r = await c.client.post("/v1/instructions", json=instruction(**overrides), headers=c.office())
    url = f"/v1/instructions/{answered(r, 201)['id']}/proposal"
    proposal = {"proposal": "拟请市建设局牵头办理"}
    if proposed_at is not None:
        proposal["proposed_at"] = proposed_at
    return answered(await c.client.post(url, json=proposal, headers=c.office()))


async def instruction_tally(c: Coordination, period: str) -> dict[str, Any]:
    """The office's half-month tally of supervised instructions for ``period``."""
    return answered(await c.client.get(f"/v1/instruction-tallies/{period}", headers=c.office()))


def answered(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    """The body of a response that must have ``status``."""
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    return body


async def late_june(c: Coordination) -> dict[str, str]:
    """jsj's June: nyj answers in time; lyj never answers (twice); rsj answers late with a reason;
    kjj acknowledges and never answers. All due 06-19 (the 端午 holiday moved 06-17)."""
    c.clock.now = at("2018-06-14 09:00")
    first = await c.open_matter("jsj", "nyj", "lyj", "rsj", "kjj")
    ids = {i["department"]: i["id"] for i in first["items"]}
    c.clock.now = at("2018-06-15 09:00")
    second = await c.open_matter("jsj", "lyj")
    ids["lyj-2"] = second["items"][0]["id"]
    elsewhere = await c.open_matter("kjj", "lyj")
    ids["kjj-lead"] = elsewhere["items"][0]["id"]
    assert (
        await c.client.post(f"/v1/joint-items/{ids['kjj']}/acknowledgement", headers=c.dept("kjj"))
    ).status_code == 200
    assert (
        await c.client.post(f"/v1/joint-items/{ids['nyj']}/feedback", json=signed(), headers=c.dept("nyj"))
    ).status_code == 201
    await matters.sweep_deadlines(c.ctx, at("2018-06-20 00:00"))
    c.clock.now = at("2018-06-21 15:00")
    late = signed(delay_reason="等待省厅意见")
    assert (
        await c.client.post(f"/v1/joint-items/{ids['rsj']}/feedback", json=late, headers=c.dept("rsj"))
    ).status_code == 201
    c.clock.now = at("2018-07-02 10:00")
    return ids


def major_matter(number: int, lead: str = "jsj", **overrides: Any) -> dict[str, Any]:
    """A major matter (C8) of 2018 for the office to list: two milestones (04-30, 06-30), done by 12-31."""
    body: dict[str, Any] = {
        "number": number,
        "title": f"重大事项{number}",
        "task": "完成项目主体工程",
        "lead_department": lead,
        "cooperating_departments": ["gtj"],
        "leader": "vm-urban",
        "responsible_person": "王明",
        "contact_phone": "0572-2222222",
        "completion_due": "2018-12-31",
        "milestones": [
            {"title": "完成初步设计", "due_on": "2018-04-30"},
            {"title": "主体工程开工", "due_on": "2018-06-30"},
        ],
        "quarter_targets": [{"quarter": 2, "target": "主体工程开工"}],
    }
    body.update(overrides)
    return body


async def listed(c: Coordination, *matters: dict[str, Any], year: int = 2018) -> list[dict[str, Any]]:
    """The views of ``matters`` the office lists for ``year`` at once."""
    r = await c.client.post(
        f"/v1/major-matter-lists/{year}", json={"matters": list(matters)}, headers=c.office()
    )
    views: list[dict[str, Any]] = answered(r, 201)["matters"]
    return views


def progress(month: str, *done: tuple[str, str], **overrides: Any) -> dict[str, Any]:
    """A monthly progress report of ``month`` saying each (milestone id, done_on) of ``done`` is done."""
    body: dict[str, Any] = {
        "month": month,
        "summary": "内部进展：主体工程完成60%",
        "milestones": [{"milestone_id": m, "status": "done", "done_on": on} for m, on in done],
        "evidence": [{"name": "现场照片", "pages": 2}],
    }
    body.update(overrides)
    return body
