"""2. Event latency: from the database commit of a write to the consuming service's handler.

The write is a real registration (``POST /v1/documents`` on disclosure), which commits the
document and its document-formed outbox row in one transaction; the relay publishes the row to
Kafka and evaluation's ``department-facts`` consumer records the fact. The clock is PostgreSQL's
own (both databases live on one server):

- start: the commit timestamp of the write transaction, ``pg_xact_commit_timestamp(xmin)`` of the
  ``documents`` row (``track_commit_timestamp`` is on in the bench cluster; nothing updates that
  row afterwards, so its ``xmin`` is the write's transaction);
- handler: ``inbox.received_at``, i.e. ``now()`` of the consumer's transaction that inserts the
  inbox row and runs the handler (the handler's start);
- handled: the commit timestamp of that consumer transaction (the fact is durable).

Beside it, a raw aiokafka producer and consumer on the same broker with the producer settings of
``shared.messaging.kafka.KafkaBus`` (idempotent, ``acks=all``, ``linger_ms=2``) and the consumer
settings of ``KafkaConsumer`` (manual commits, ``getmany``), timed in this process from just before
the send to the consumer's receipt. Writes are paced (open loop) so the figures are latency, not
queueing.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from shared.events import DocumentFormed

from .cluster import TOPIC_PREFIX, BenchCluster
from .common import register_document
from .stats import BenchResult, CpuMeter, fmt_ratio, latency_summary, ratio, say

NAME = "event_latency"
CONSUMER = "department-facts"


async def _pipeline(cluster: BenchCluster, count: int, interval_s: float) -> dict[str, list[float]]:
    headers = await cluster.token()
    disclosure = await cluster.connect("xn_disclosure")
    evaluation = await cluster.connect("xn_evaluation")
    try:
        async with httpx.AsyncClient(base_url=cluster.url("disclosure"), timeout=30) as http:
            # Warm-up: the consumer group has joined and every connection pool is open.
            warm = [(await register_document(http, headers))["id"] for _ in range(3)]
            await _handled(disclosure, evaluation, warm, timeout_s=120)
            ids: list[str] = []
            next_at = time.perf_counter()
            for n in range(count):
                ids.append((await register_document(http, headers))["id"])
                if n % 50 == 49:
                    say(f"{NAME}: {n + 1}/{count} writes")
                next_at += interval_s
                await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
        return await _handled(disclosure, evaluation, ids, timeout_s=120)
    finally:
        await disclosure.close()
        await evaluation.close()


async def _handled(
    disclosure: asyncpg.Connection,
    evaluation: asyncpg.Connection,
    document_ids: list[str],
    *,
    timeout_s: float,
) -> dict[str, list[float]]:
    """Per write: seconds from commit to handler start and to handler commit (waits for all)."""
    commits = {
        r["event_id"]: r["committed"]
        for r in await disclosure.fetch(
            """
            SELECT o.event_id, pg_xact_commit_timestamp(d.xmin) AS committed
            FROM outbox o JOIN documents d ON d.id = o.key
            WHERE o.key = ANY($1::text[]) AND o.event->>'type' = $2
            """,
            document_ids,
            DocumentFormed.event_type(),
        )
    }
    if len(commits) != len(document_ids):
        raise RuntimeError(f"{len(document_ids)} writes but {len(commits)} document-formed outbox rows")
    deadline = time.monotonic() + timeout_s
    while True:
        rows = await evaluation.fetch(
            """
            SELECT event_id, received_at, pg_xact_commit_timestamp(xmin) AS committed
            FROM inbox WHERE consumer = $1 AND event_id = ANY($2::text[])
            """,
            CONSUMER,
            list(commits),
        )
        if len(rows) == len(commits):
            break
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {len(rows)}/{len(commits)} events reached evaluation's handler")
        await asyncio.sleep(0.5)
    return {
        "commit_to_handler": [(r["received_at"] - commits[r["event_id"]]).total_seconds() for r in rows],
        "commit_to_handled": [(r["committed"] - commits[r["event_id"]]).total_seconds() for r in rows],
    }


async def _raw(bootstrap: str, count: int, interval_s: float) -> list[float]:
    topic = f"{TOPIC_PREFIX}bench-raw-{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name=topic, num_partitions=3, replication_factor=1)])
    finally:
        await admin.close()
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        enable_idempotence=True,
        acks="all",
        linger_ms=2,
        request_timeout_ms=15000,
    )
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"bench-raw-{uuid.uuid4().hex[:8]}",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        metadata_max_age_ms=5000,
    )
    await producer.start()
    await consumer.start()
    sent: dict[bytes, float] = {}
    received: dict[bytes, float] = {}

    async def consume(expected: int) -> None:
        while len(received) < expected:
            batches = await consumer.getmany(timeout_ms=1000, max_records=200)
            now = time.perf_counter()
            for records in batches.values():
                for record in records:
                    if record.key is not None:
                        received.setdefault(record.key, now)
            if batches:
                await consumer.commit()

    try:
        # Warm-up: partitions assigned and the producer's connection open before timing.
        warm = [f"warm-{n}".encode() for n in range(3)]
        reader = asyncio.create_task(consume(len(warm)))
        for key in warm:
            sent[key] = time.perf_counter()
            await producer.send_and_wait(topic, b"{}", key=key)
        await asyncio.wait_for(reader, 120)
        received.clear()
        sent.clear()
        reader = asyncio.create_task(consume(count))
        next_at = time.perf_counter()
        for n in range(count):
            key = f"m-{n}".encode()
            sent[key] = time.perf_counter()
            await producer.send_and_wait(topic, b'{"bench": true}', key=key)
            next_at += interval_s
            await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
        await asyncio.wait_for(reader, 120)
    finally:
        await consumer.stop()
        await producer.stop()
    return [received[k] - sent[k] for k in sent]


async def run(cluster: BenchCluster, *, quick: bool) -> BenchResult:
    count = 60 if quick else 300
    interval = 0.1
    with CpuMeter() as cpu:
        say(f"{NAME}: {count} registrations through disclosure → Kafka → evaluation, one every {interval} s")
        pipeline = await _pipeline(cluster, count, interval)
        say(f"{NAME}: {count} raw aiokafka produce → consume on the same broker")
        raw = await _raw(cluster.bootstrap, count, interval)
    handler = latency_summary(pipeline["commit_to_handler"])
    handled = latency_summary(pipeline["commit_to_handled"])
    kafka = latency_summary(raw)
    ratios = {
        "handler_over_raw_p50": ratio(handler["p50_ms"], kafka["p50_ms"]),
        "handler_over_raw_p99": ratio(handler["p99_ms"], kafka["p99_ms"]),
        "handled_over_raw_p50": ratio(handled["p50_ms"], kafka["p50_ms"]),
        "handled_over_raw_p99": ratio(handled["p99_ms"], kafka["p99_ms"]),
    }

    def row(path: str, summary: dict[str, Any], over_raw: str | None) -> list[Any]:
        p50, p99 = (
            (fmt_ratio(ratios[f"{over_raw}_p50"]), fmt_ratio(ratios[f"{over_raw}_p99"]))
            if over_raw
            else ("1.00x", "1.00x")
        )
        return [path, summary["n"], f"{summary['p50_ms']:.1f}", f"{summary['p99_ms']:.1f}", p50, p99]

    rows = [
        row("raw aiokafka produce → consume", kafka, None),
        row("commit → evaluation handler starts", handler, "handler_over_raw"),
        row("commit → handler committed", handled, "handled_over_raw"),
    ]
    return BenchResult(
        name=NAME,
        title="document-formed: commit in disclosure → evaluation's handler, beside raw Kafka",
        headers=["path", "n", "p50 ms", "p99 ms", "p50 / raw", "p99 / raw"],
        rows=rows,
        notes=[
            f"{count} writes paced one every {interval} s (open loop), after 3 warm-up writes",
            "start = pg_xact_commit_timestamp of the write transaction; handler = inbox.received_at (now() "
            "of the consumer transaction); handled = that transaction's commit timestamp; "
            "one PostgreSQL clock",
            "raw: same broker, acks=all, idempotent, linger_ms=2, getmany(max_records=200); timed in this "
            "process from before send_and_wait to receipt",
            "the pipeline adds the relay (woken by the commit, claims the row FOR UPDATE SKIP LOCKED, sends, "
            "marks it published) and the consumer's inbox transaction",
        ],
        figures={"commit_to_handler": handler, "commit_to_handled": handled, "raw_kafka": kafka},
        ratios=ratios,
        parameters={"writes": count, "interval_s": interval, "acks": "all", "linger_ms": 2},
        load_generator_cpu=cpu.as_json(),
    )
