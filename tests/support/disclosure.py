"""Helpers of the disclosure service tests: the service in-process, who acts, registering a
document, publishing and changing a version, an exemption's decision, the business clock."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import httpx
from fastapi import FastAPI

from shared.app import ServiceContext
from shared.settings import CommonSettings
from tests.support.apps import bearer, running, service_app
from tests.support.clock import Clock, at
from tests.support.infra import PostgresSource

PORTAL = "https://www.huzhou.gov.cn/art/2018/6/20/art_1229_1.html"
PRIVACY = {"ground": "personal-privacy", "reason": "附件含有征迁户的身份证号码和住址，公开将泄露个人隐私。"}
ORGANISATION = "330500000"  # the default organisation code (Huzhou)
# fgw (市发改委) is in the charge of the executive vice-mayor (shared/reference/departments.yaml).
IN_CHARGE = "vm-executive"


def number(prefix: str = "湖政办发", year: int = 2018) -> str:
    return f"{prefix}〔{year}〕{uuid.uuid4().int % 90000 + 1}号"


def payload(**kw: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "document_number": number(),
        "title": "关于加强行政效能建设的通知",
        "drafting_department": "fgw",
        "formed_on": "2018-06-14",
    }
    body.update(kw)
    return body


@asynccontextmanager
async def disclosure(
    postgres: PostgresSource, common: CommonSettings
) -> AsyncIterator[tuple[httpx.AsyncClient, FastAPI]]:
    """The service on a fresh database; its own sweeper is off, tests sweep with a chosen clock."""
    app = service_app("disclosure", await postgres.new_database(), common, sweepers_enabled=False)
    async with running(app) as client:
        yield client, app


def drafter(common: CommonSettings, department: str = "fgw") -> dict[str, str]:
    return bearer(common, "department", department=department, client_id=f"client-{department}")


def office(common: CommonSettings) -> dict[str, str]:
    return bearer(common, "office", department="office", client_id="city-office")


def leader(common: CommonSettings, code: str) -> dict[str, str]:
    return bearer(common, "leader", department=code, client_id=f"client-{code}")


async def register(client: httpx.AsyncClient, common: CommonSettings, **kw: Any) -> dict[str, Any]:
    body = payload(**kw)
    r = await client.post("/v1/documents", json=body, headers=drafter(common, body["drafting_department"]))
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


async def withheld(client: httpx.AsyncClient, common: CommonSettings, **kw: Any) -> dict[str, Any]:
    """A document to be withheld on the privacy ground, its exemption awaiting the signature (D2)."""
    return await register(client, common, disclosure_mode="withheld", exemption=PRIVACY, **kw)


async def publish(
    client: httpx.AsyncClient, common: CommonSettings, doc_id: str, version: int, when: str
) -> httpx.Response:
    return await client.post(
        f"/v1/documents/{doc_id}/versions/{version}/publication",
        json={"url": PORTAL, "published_at": at(when).isoformat()},
        headers=office(common),
    )


async def change(
    client: httpx.AsyncClient, common: CommonSettings, doc_id: str, on: str, **kw: object
) -> httpx.Response:
    body = {"changed_on": on, "change_reason": "调整第三条", **kw}
    return await client.post(f"/v1/documents/{doc_id}/versions", json=body, headers=drafter(common))


def decision_url(doc: dict[str, Any], version: int = 1) -> str:
    return f"/v1/documents/{doc['id']}/versions/{version}/exemption/decision"


async def decide(
    client: httpx.AsyncClient, doc: dict[str, Any], headers: dict[str, str], *, version: int = 1, **body: Any
) -> httpx.Response:
    """An exemption decision (``body``: ``granted`` and the rest) on ``version`` of ``doc``, posted
    with ``headers``."""
    return await client.post(decision_url(doc, version), json=body, headers=headers)


@contextmanager
def clock_at(ctx: ServiceContext, when: str) -> Iterator[Clock]:
    """The service's business clock stopped at ``when`` (Asia/Shanghai) inside the block, e.g. for a
    sign-off made before a 2018 deadline (D2 judges the decision's instant); the previous clock after."""
    before, ctx.clock = ctx.clock, Clock(at(when))
    try:
        yield ctx.clock
    finally:
        ctx.clock = before
