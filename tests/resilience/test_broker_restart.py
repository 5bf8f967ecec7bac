"""The Kafka broker restarted during a stream of writes.

Writes never need the broker: the state change and its event commit together in the service's
database (transactional outbox), so while the broker is down writes keep being accepted (201)
and their events wait in the outbox. Once the broker is back the relays publish them and the
consumers, which reconnect by themselves, handle every one: the evaluation service ends with
exactly one ``document-formed`` fact per acknowledged write, with no manual step. Meanwhile the
services stay ready (``/readyz`` 200, status ``degraded``), so an orchestrator keeps them in service.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import httpx
import pytest

from tests.support.clusters import fact_counts
from tests.support.resilience import ResilientCluster, document, documents_of
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.kafka]

DEPARTMENT = "czj"
PREFIX = "湖政卡发"
CONCURRENCY = 4
BEFORE, DURING, AFTER = 40, 60, 40  # acknowledged writes in each phase (at least)


@dataclass
class Stream:
    phase: str = "before"
    acknowledged: dict[str, list[str]] = field(default_factory=dict)  # phase -> document ids
    refused: list[str] = field(default_factory=list)
    serial: int = 0
    stopped: bool = False

    def count(self, phase: str) -> int:
        return len(self.acknowledged.get(phase, []))


async def stream_writes(client: httpx.AsyncClient, headers: dict[str, str], stream: Stream) -> None:
    while not stream.stopped:
        stream.serial += 1
        phase = stream.phase
        r = await client.post(
            "/api/v1/disclosure/documents", json=document(PREFIX, stream.serial, DEPARTMENT), headers=headers
        )
        if r.status_code == 201 and stream.phase == phase:
            stream.acknowledged.setdefault(phase, []).append(r.json()["id"])
        elif r.status_code == 201:  # the phase changed while the write ran: count it as neither
            stream.acknowledged.setdefault("between", []).append(r.json()["id"])
        else:
            stream.refused.append(f"{r.status_code} {r.text[:300]}")


async def assert_ready_but_degraded(cluster: ResilientCluster) -> None:
    """Without the broker a service still takes writes, so it stays ready (in service) and says
    that its bus is down."""
    async with httpx.AsyncClient(timeout=10) as client:
        for name in ("disclosure", "evaluation"):
            r = await client.get(f"{cluster[name].url}/readyz")
            assert r.status_code == 200, (name, r.text)
            body = r.json()
            assert body["status"] == "degraded", (name, body)
            assert body["checks"]["database"] == "ok" and body["checks"]["bus"].startswith("failed"), body


async def restart_broker_during_writes(cluster: ResilientCluster, headers: dict[str, str]) -> Stream:
    stream = Stream()

    async def until_acknowledged(phase: str, count: int) -> None:
        deadline = time.monotonic() + 120
        while stream.count(phase) < count:
            assert not stream.refused, stream.refused[:5]
            assert time.monotonic() < deadline, f"only {stream.count(phase)} writes acknowledged ({phase})"
            await asyncio.sleep(0.05)

    async def conduct() -> None:
        try:
            await until_acknowledged("before", BEFORE)
            stream.phase = "stopping"
            await asyncio.to_thread(cluster.broker.stop)
            stream.phase = "during"
            await until_acknowledged("during", DURING)
            await assert_ready_but_degraded(cluster)
            stream.phase = "starting"
            await asyncio.to_thread(cluster.broker.start, 120)
            stream.phase = "after"
            await until_acknowledged("after", AFTER)
        finally:
            stream.stopped = True

    async with httpx.AsyncClient(base_url=cluster.gateway, timeout=30) as client:
        await asyncio.gather(conduct(), *(stream_writes(client, headers, stream) for _ in range(CONCURRENCY)))
    return stream


def test_broker_restart_during_writes_keeps_accepting_and_delivers_every_event(
    cluster: ResilientCluster, http: httpx.Client, office: dict[str, str]
) -> None:
    stream = asyncio.run(restart_broker_during_writes(cluster, office))

    assert not stream.refused, stream.refused[:5]
    assert stream.count("during") >= DURING, "writes were accepted while the broker was down"
    acknowledged = {i for ids in stream.acknowledged.values() for i in ids}
    assert {d["id"] for d in documents_of(http, office, DEPARTMENT)} == acknowledged

    wait_for(
        lambda: fact_counts(http, office, DEPARTMENT).get("document-formed", 0) >= len(acknowledged),
        timeout=120,
        what=f"{len(acknowledged)} document-formed facts for {DEPARTMENT} after the broker returned",
    )
    assert fact_counts(http, office, DEPARTMENT)["document-formed"] == len(acknowledged)
