"""Helpers of the evaluation tests: the service in-process with its bus, rounds run through the
API, panels at their quotas, ballots that give chosen counts, and evaluators registered at the
gateway for the end-to-end tests."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI

from services.evaluation import trustee
from services.gateway.clients import register_client
from shared.db import Database
from shared.events import EventData
from shared.messaging.memory import MemoryBus
from shared.reference import evaluable_departments, panel_categories
from shared.settings import CommonSettings
from tests.support.apps import bearer, running, service_app
from tests.support.clusters import Services
from tests.support.events import published
from tests.support.infra import PostgresSource
from tests.support.waiting import until

CANDIDATES = [d.code for d in evaluable_departments()]
PROBLEM = "application/problem+json"


@asynccontextmanager
async def evaluation(
    postgres: PostgresSource, common: CommonSettings
) -> AsyncIterator[tuple[httpx.AsyncClient, MemoryBus, Any]]:
    bus = MemoryBus()
    app = service_app("evaluation", await postgres.new_database(), common, bus)
    async with running(app) as client:
        yield client, bus, app


def office(common: CommonSettings) -> dict[str, str]:
    return bearer(common, "office", department="office", client_id="office-clerk")


def evaluator(common: CommonSettings, account: str) -> dict[str, str]:
    return bearer(common, "evaluator", client_id=account)


def panel_slots() -> list[tuple[str, str | None]]:
    """(category, district) of each of the 100 seats: every category at its quota, districts split
    as 附件4 §三 says."""
    return [
        (c.code, q.district) for c in panel_categories() for q in c.district_quotas for _ in range(q.quota)
    ] + [(c.code, None) for c in panel_categories() if not c.district_quotas for _ in range(c.quota)]


def panel_of(accounts: list[str], named_on: str, person: str = "person-{account}") -> list[dict[str, Any]]:
    """A complete panel whose seats go to ``accounts`` in order."""
    return [
        {
            "person_id": person.format(n=n, account=account),
            "name": f"评定人{n:03d}",
            "category": code,
            "district": district,
            "account": account,
            "named_on": named_on,
        }
        for n, ((code, district), account) in enumerate(zip(panel_slots(), accounts, strict=True))
    ]


def panel_entries(prefix: str, named_on: str = "2018-07-18") -> list[dict[str, Any]]:
    """A complete panel of made-up people and accounts named after ``prefix``."""
    accounts = [f"{prefix}-ev-{n:03d}" for n in range(len(panel_slots()))]
    return panel_of(accounts, named_on, person=f"{prefix}-person-{{n}}")


def vote_on(quarter: str) -> str:
    year, q = int(quarter[:4]), int(quarter[-1])
    return f"{year + (q == 4)}-{q * 3 % 12 + 1:02d}-20"


def named_before(quarter: str) -> str:
    return vote_on(quarter)[:-2] + "18"


async def create_round(
    client: httpx.AsyncClient, common: CommonSettings, quarter: str, **body: Any
) -> dict[str, Any]:
    r = await client.post("/v1/rounds", json={"quarter": quarter, **body}, headers=office(common))
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def trustee_headers(common: CommonSettings, n: int) -> dict[str, str]:
    """Trustee ``n``: a member of the working group, with a token of the supervision office."""
    return bearer(common, "supervisor", client_id=f"wg-trustee-{n}")


# The trustees' secrets per round, as each trustee's machine would keep them (E5).
TRUSTEE_SECRETS: dict[tuple[int, str], list[trustee.TrusteeSecret]] = {}


async def name_trustees(
    client: httpx.AsyncClient,
    common: CommonSettings,
    quarter: str,
    n: int = 3,
    threshold: int = 2,
    api: str = "/v1",
) -> list[dict[str, str]]:
    body = {
        "threshold": threshold,
        "trustees": [{"account": f"wg-trustee-{i}", "name": f"受托人{i}"} for i in range(1, n + 1)],
    }
    r = await client.put(f"{api}/rounds/{quarter}/trustees", json=body, headers=office(common))
    assert r.status_code == 200, r.text
    return [trustee_headers(common, i) for i in range(1, n + 1)]


async def key_ceremony(
    client: httpx.AsyncClient, quarter: str, trustees: list[dict[str, str]], api: str = "/v1"
) -> list[trustee.TrusteeSecret]:
    """The three steps of the ceremony, each trustee as its command would do them."""
    secrets_ = [await trustee.register(client, api, quarter, h) for h in trustees]
    for s, h in zip(secrets_, trustees, strict=True):
        await trustee.deal(client, api, s, h)
    return [await trustee.confirm(client, api, s, h) for s, h in zip(secrets_, trustees, strict=True)]


async def with_election_key(
    client: httpx.AsyncClient, common: CommonSettings, quarter: str, api: str = "/v1"
) -> list[trustee.TrusteeSecret]:
    """Three trustees, threshold two, and a completed key ceremony for the round."""
    found = await key_ceremony(client, quarter, await name_trustees(client, common, quarter, api=api), api)
    TRUSTEE_SECRETS[(id(client), quarter)] = found
    return found


async def decrypt_aggregates(
    client: httpx.AsyncClient, common: CommonSettings, quarter: str, trustees: int = 2, api: str = "/v1"
) -> None:
    """After the close, ``trustees`` of the round's trustees decrypt the aggregates (E3)."""
    for s in TRUSTEE_SECRETS[(id(client), quarter)][:trustees]:
        await trustee.decrypt(client, api, s, trustee_headers(common, s.index))


async def open_round(
    client: httpx.AsyncClient, common: CommonSettings, quarter: str, prefix: str | None = None
) -> list[str]:
    """Create a round with a full panel and its trustees' election key, publish its pack and open
    the vote; returns the accounts."""
    prefix = prefix or f"{quarter}-{uuid.uuid4().hex[:6]}"
    await create_round(client, common, quarter)
    entries = panel_entries(prefix, named_before(quarter))
    r = await client.post(f"/v1/rounds/{quarter}/panel", json={"entries": entries}, headers=office(common))
    assert r.status_code == 201, r.text
    await with_election_key(client, common, quarter)
    for step in ("publish-reference-pack", "open-voting"):
        r = await client.post(f"/v1/rounds/{quarter}/{step}", headers=office(common))
        assert r.status_code == 200, r.text
    return [e["account"] for e in entries]


def ballot(*departments: str, **extra: Any) -> dict[str, Any]:
    return {"choices": [{"department": d, **extra} for d in departments]}


async def vote(
    client: httpx.AsyncClient, common: CommonSettings, quarter: str, account: str, departments: list[str]
) -> httpx.Response:
    return await client.post(
        f"/v1/rounds/{quarter}/ballots", json=ballot(*departments), headers=evaluator(common, account)
    )


def ballots_for(counts: dict[str, int], fillers: list[str]) -> list[list[str]]:
    """Ballots of three distinct departments giving exactly ``counts``; fillers take spare places."""
    remaining = dict(counts)
    spare = itertools.cycle(fillers)
    ballots: list[list[str]] = []
    for _ in range(max(counts.values())):
        names = sorted((d for d in remaining if remaining[d] > 0), key=lambda d: -remaining[d])[:3]
        for d in names:
            remaining[d] -= 1
        while len(names) < 3:
            names.append(next(spare))
        ballots.append(names)
    assert not any(remaining.values()), "counts do not fit into ballots of three"
    return ballots


async def close_and_decrypt(client: httpx.AsyncClient, common: CommonSettings, quarter: str) -> None:
    """Close the vote and have a threshold of trustees decrypt the aggregates."""
    r = await client.post(f"/v1/rounds/{quarter}/close-voting", headers=office(common))
    assert r.status_code == 200, r.text
    await decrypt_aggregates(client, common, quarter)


async def run_round(
    client: httpx.AsyncClient, common: CommonSettings, quarter: str, ballots: list[list[str]]
) -> dict[str, Any]:
    """A whole round: open, cast ``ballots``, close, decrypt, tally; returns the results."""
    accounts = await open_round(client, common, quarter)
    for account, names in zip(accounts, ballots, strict=False):
        r = await vote(client, common, quarter, account, names)
        assert r.status_code == 201, r.text
    await close_and_decrypt(client, common, quarter)
    r = await client.post(f"/v1/rounds/{quarter}/tally", headers=office(common))
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


async def all_ballots(
    client: httpx.AsyncClient, quarter: str, headers: dict[str, str]
) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 7}
        if cursor:
            params["cursor"] = cursor
        r = await client.get(f"/v1/rounds/{quarter}/ballots", params=params, headers=headers)
        assert r.status_code == 200, r.text
        items += r.json()["items"]
        cursor = r.json()["next_cursor"]
        if not cursor:
            return items


async def eventually_events(
    bus: MemoryBus, contract: type[EventData], common: CommonSettings, n: int
) -> list[dict[str, Any]]:
    """The ``contract`` events on the bus once there are ``n`` of them."""

    def enough() -> list[dict[str, Any]]:
        found = published(bus, contract, common.topic_prefix)
        return found if len(found) >= n else []

    events: list[dict[str, Any]] = await until(enough, f"{n} {contract.event_name} events", timeout=10)
    return events


async def consumed(app: FastAPI, n: int) -> None:
    """Wait until the service's consumer has processed ``n`` events."""
    runner = app.state.ctx.consumers[0]
    await until(lambda: runner.processed >= n, f"{n} events consumed", timeout=10)


async def register_evaluators(cluster: Services, accounts: list[str], roles: list[str] | None = None) -> None:
    """Register many evaluator (or other) clients straight into the gateway's database (one CLI
    call each is slow)."""
    db = Database(cluster.env["XN_GATEWAY_DATABASE_URL"])
    try:
        for account in accounts:
            await register_client(
                db, client_id=account, name=account, roles=roles or ["evaluator"], secret=f"{account}-secret"
            )
    finally:
        await db.dispose()


def problem(r: httpx.Response, status: int, kind: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == PROBLEM
    body: dict[str, Any] = r.json()
    assert body["type"] == f"/problems/{kind}", body
    return body
