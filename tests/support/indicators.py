"""Helpers of the indicators service tests: the service in-process with a clock the test sets,
every city's values placing Huzhou at a chosen rank, and the office's actions through the API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from decimal import Decimal
from typing import Any

import httpx
from fastapi import FastAPI

from shared import reference
from shared.deadlines import SHANGHAI
from shared.settings import CommonSettings
from tests.support.apps import bearer, running, service_app
from tests.support.infra import PostgresSource

OTHERS = [c.code for c in reference.cities() if c.code != "huzhou"]


def values_for_rank(rank: int, *, higher_is_better: bool = True, tie: bool = False) -> list[dict[str, str]]:
    """All cities' values with Huzhou placed at ``rank``: the others hold 20, 19, … 11 (or the
    mirror image when lower is better); ``tie`` makes Huzhou equal, after rounding to one decimal,
    to the city already at that rank."""
    others = [Decimal(20 - i) for i in range(10)]
    if tie:
        ours = others[rank - 1] + Decimal("0.04")  # published as the same one-decimal value
    else:
        ours = others[rank - 2] - Decimal("0.5") if rank > 1 else Decimal("20.5")
    if not higher_is_better:
        others = [Decimal(30) - v for v in others]
        ours = Decimal(30) - ours
    return [{"city": "huzhou", "value": str(ours)}] + [
        {"city": c, "value": str(v)} for c, v in zip(OTHERS, others, strict=True)
    ]


def at(day: str, hour: int = 10) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=SHANGHAI)


def set_clock(app: FastAPI, now: datetime) -> None:
    """From now on the running service takes ``now`` for the time (``ctx.now()``, ``NowDep``)."""
    app.state.ctx.clock = lambda: now


class Office:
    """The office's actions through the API."""

    def __init__(self, client: httpx.AsyncClient, common: CommonSettings) -> None:
        self.client = client
        self.headers = bearer(common, "office", client_id="office-client")

    async def record(self, code: str, period: str, **body: Any) -> dict[str, Any]:
        r = await self.client.post(
            f"/v1/indicators/{code}/releases", json={"period": period, **body}, headers=self.headers
        )
        assert r.status_code == 201, r.text
        return r.json()  # type: ignore[no-any-return]

    async def correct(self, code: str, period: str, **body: Any) -> dict[str, Any]:
        r = await self.client.post(
            f"/v1/indicators/{code}/releases/{period}/corrections", json=body, headers=self.headers
        )
        assert r.status_code == 201, r.text
        return r.json()  # type: ignore[no-any-return]

    async def publish(self, period: str, issued_on: str) -> dict[str, Any]:
        r = await self.client.post(
            f"/v1/bulletins/{period}/editions", json={"issued_on": issued_on}, headers=self.headers
        )
        assert r.status_code == 201, r.text
        return r.json()  # type: ignore[no-any-return]

    async def duties(self, **params: str) -> list[dict[str, Any]]:
        r = await self.client.get("/v1/report-duties", params={"limit": 200, **params}, headers=self.headers)
        assert r.status_code == 200, r.text
        return r.json()["items"]  # type: ignore[no-any-return]

    async def interviews(self, **params: str) -> list[dict[str, Any]]:
        r = await self.client.get("/v1/interviews", params={"limit": 200, **params}, headers=self.headers)
        assert r.status_code == 200, r.text
        return r.json()["items"]  # type: ignore[no-any-return]


def indicators_app(url: str, common: CommonSettings) -> FastAPI:
    """The service in-process. Tests sweep overdue duties by hand with a chosen now; the registered
    sweeper would sweep with today's date, long after every 2018 due date."""
    return service_app("indicators", url, common, sweepers_enabled=False)


def all_values(ours: str, others: list[str]) -> list[dict[str, str]]:
    """Values for every city: ours for huzhou, the rest in the province's order."""
    codes = [c.code for c in reference.cities() if c.code != "huzhou"]
    assert len(others) == len(codes)
    return [{"city": "huzhou", "value": ours}] + [
        {"city": c, "value": v} for c, v in zip(codes, others, strict=True)
    ]


@asynccontextmanager
async def indicators(
    postgres: PostgresSource, common: CommonSettings, day: str
) -> AsyncIterator[tuple[httpx.AsyncClient, FastAPI, Office]]:
    """The service on a fresh database, its clock at 10:00 of ``day``, and the office acting on it."""
    app = indicators_app(await postgres.new_database(), common)
    async with running(app) as client:
        set_clock(app, at(day))
        yield client, app, Office(client, common)
