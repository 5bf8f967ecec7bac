"""A domain service killed with SIGKILL in the middle of 2,000 writes through the gateway.

Twelve clients write documents concurrently; after the first few hundred are acknowledged the
disclosure service is killed (kill -9 of its process group, no shutdown) and started again.
What a client sees: every answer is either 201 or a clean ``502``/``503``/``504``
``application/problem+json`` from the gateway, never a hang and never a 500. A client retries a
failed write with the same ``Idempotency-Key``; a write that committed just before the crash but
whose answer was lost is then refused as a duplicate document number (409), which is how the
client learns it exists. Afterwards every write exists exactly once, every acknowledged one with
the id it was acknowledged with, and every one of them reached the evaluation service exactly
once in effect (one ``document-formed`` fact each), although the relay was killed mid-batch and
some events were therefore published twice.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

import httpx
import pytest

from tests.support.clusters import fact_counts
from tests.support.resilience import PROBLEM_JSON, ResilientCluster, document, documents_of
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.kafka]

DEPARTMENT = "sfj"
PREFIX = "湖政崩发"
WRITES = 2000
CONCURRENCY = 12
KILL_AFTER = 400  # acknowledged writes before the kill
# A client gives up on one answer after this long: a hang fails the test.
ANSWER_TIMEOUT = 30.0
# A write still not through after this long (retrying) fails the test.
WRITE_DEADLINE = 120.0


@dataclass
class Outcome:
    serial: int
    acknowledged_id: str | None = None
    duplicate_after_failure: bool = False
    failures: list[tuple[int, str]] = field(default_factory=list)


@dataclass
class Run:
    outcomes: list[Outcome] = field(default_factory=list)
    acknowledged: int = 0
    failed_answers: int = 0
    unexpected: list[str] = field(default_factory=list)


async def write(client: httpx.AsyncClient, headers: dict[str, str], serial: int, run: Run) -> Outcome:
    outcome = Outcome(serial)
    key = f"crash-{uuid.uuid4()}"
    body = document(PREFIX, serial, DEPARTMENT)
    started = time.monotonic()
    while time.monotonic() - started < WRITE_DEADLINE:
        r = await client.post(
            "/api/v1/disclosure/documents", json=body, headers={**headers, "Idempotency-Key": key}
        )
        content_type = r.headers.get("content-type", "")
        if r.status_code == 201:
            outcome.acknowledged_id = r.json()["id"]
            run.acknowledged += 1
            return outcome
        if r.status_code in (502, 503, 504) and content_type.startswith(PROBLEM_JSON):
            outcome.failures.append((r.status_code, r.json()["type"]))
            run.failed_answers += 1
            await asyncio.sleep(0.2)
            continue
        if (
            r.status_code == 409
            and outcome.failures
            and r.json().get("type") == "/problems/duplicate-document-number"
        ):
            outcome.duplicate_after_failure = True  # committed before the crash, answer lost
            return outcome
        run.unexpected.append(f"write {serial}: {r.status_code} {content_type} {r.text[:300]}")
        return outcome
    run.unexpected.append(f"write {serial}: not through within {WRITE_DEADLINE:g} s ({outcome.failures})")
    return outcome


async def write_all_and_crash(cluster: ResilientCluster, headers: dict[str, str]) -> Run:
    run = Run()
    serials: asyncio.Queue[int] = asyncio.Queue()
    for serial in range(1, WRITES + 1):
        serials.put_nowait(serial)

    async def client_loop(client: httpx.AsyncClient) -> None:
        while not serials.empty():
            run.outcomes.append(await write(client, headers, serials.get_nowait(), run))

    async def crash_and_restart() -> None:
        while run.acknowledged < KILL_AFTER:
            await asyncio.sleep(0.05)
        disclosure = cluster["disclosure"]
        await asyncio.to_thread(disclosure.kill)
        # Down until the clients have felt it, then back with no other step.
        while run.failed_answers < CONCURRENCY:
            await asyncio.sleep(0.05)
        await asyncio.to_thread(disclosure.start)
        await asyncio.to_thread(disclosure.wait_ready, 90)

    limits = httpx.Limits(max_connections=CONCURRENCY)
    async with httpx.AsyncClient(base_url=cluster.gateway, timeout=ANSWER_TIMEOUT, limits=limits) as client:
        await asyncio.gather(crash_and_restart(), *(client_loop(client) for _ in range(CONCURRENCY)))
    return run


def test_kill_9_of_a_service_during_2000_writes_loses_and_duplicates_nothing(
    cluster: ResilientCluster, http: httpx.Client, office: dict[str, str]
) -> None:
    run = asyncio.run(write_all_and_crash(cluster, office))

    assert not run.unexpected, run.unexpected[:10]
    assert len(run.outcomes) == WRITES
    assert run.failed_answers >= CONCURRENCY, "the crash was felt by the clients"
    failure_kinds = Counter(status for o in run.outcomes for status, _ in o.failures)
    assert set(failure_kinds) <= {502, 503, 504}, failure_kinds

    acknowledged = {o.serial: o.acknowledged_id for o in run.outcomes if o.acknowledged_id}
    committed_unanswered = {o.serial for o in run.outcomes if o.duplicate_after_failure}
    assert len(acknowledged) + len(committed_unanswered) == WRITES

    listed = documents_of(http, office, DEPARTMENT)
    numbers = Counter(d["document_number"] for d in listed)
    assert all(n == 1 for n in numbers.values()), [k for k, n in numbers.items() if n > 1][:10]
    by_number = {d["document_number"]: d["id"] for d in listed}
    expected_numbers = {document(PREFIX, s, DEPARTMENT)["document_number"] for s in range(1, WRITES + 1)}
    assert set(by_number) == expected_numbers, "every write exists, nothing else does"
    for serial, document_id in acknowledged.items():
        assert by_number[document(PREFIX, serial, DEPARTMENT)["document_number"]] == document_id

    wait_for(
        lambda: fact_counts(http, office, DEPARTMENT).get("document-formed", 0) >= WRITES,
        timeout=120,
        what=f"{WRITES} document-formed facts for {DEPARTMENT}",
    )
    # Redeliveries after the crash are absorbed by the consumer's inbox: once each, not more.
    time.sleep(2)
    assert fact_counts(http, office, DEPARTMENT)["document-formed"] == WRITES
