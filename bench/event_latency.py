"""2. Event latency: from the database commit of an event to the consuming service's handler,
at several rates up to 500 events/s.

The writes are the transactions a use case commits, made by the bench itself on disclosure's
database so the rate is not capped by one disclosure process's HTTP throughput (measured in
``gateway_overhead``): each inserts a ``document-formed`` CloudEvent into the outbox exactly as
``shared.messaging.outbox.record`` does, a row into ``bench_writes`` (never updated, so its
``xmin`` is the write's transaction) and sends the ``NOTIFY`` that ``Database.transaction``
sends. The relay running in the disclosure process is woken by that notification (as it is by a
commit in another replica), publishes to Kafka, and evaluation's ``department-facts`` consumer
records the fact. The clock is PostgreSQL's own (both databases live on one server):

- start: the commit timestamp of the write, ``pg_xact_commit_timestamp(xmin)`` of its
  ``bench_writes`` row (``track_commit_timestamp`` is on in the bench cluster);
- handler: ``inbox.received_at``, i.e. ``now()`` of the consumer's transaction that inserts the
  inbox row and runs the handler (the handler's start);
- handled: the commit timestamp of that consumer transaction (the fact is durable).

Beside it, a raw aiokafka producer and consumer on the same broker with the producer settings of
``shared.messaging.kafka.KafkaBus`` (idempotent, ``acks=all``, ``linger_ms=2``) and the consumer
settings of ``KafkaConsumer`` (manual commits, ``getmany``), timed in this process from just before
the send to the consumer's receipt, at the same rates. Writes are paced open loop (each starts
on its schedule whether or not the previous one finished), so the figures are latency under
that arrival rate; "sustained" means every event was handled and the achieved rate is the
offered one.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from shared.clock import utc_now
from shared.db import OUTBOX_CHANNEL
from shared.events import CloudEvent, DocumentFormed, topic_for

from .cluster import TOPIC_PREFIX, BenchCluster
from .stats import BenchResult, CpuMeter, Target, fmt_ratio, latency_summary, ratio, say

NAME = "event_latency"
CONSUMER = "department-facts"
# (events per second, seconds): the 200/s step runs 60 s, as the target asks.
RATES = ((50, 10), (100, 10), (200, 60), (500, 30))
QUICK_RATES = ((50, 4), (200, 5), (500, 4))


def _document_formed(n: int) -> tuple[str, str, str]:
    """One outbox row as ``outbox.record`` writes it: (event id, key, CloudEvent JSON)."""
    data = DocumentFormed(
        document_id=f"bench-{uuid.uuid4().hex[:12]}",
        version=1,
        department="jtj",
        document_number=f"湖政办发〔2026〕{n}号",
        title="关于进一步优化营商环境的通知",
        formed_on=utc_now().date(),
        deadline=utc_now(),
    )
    event = CloudEvent(
        source="/bench/disclosure",
        type=data.event_type(),
        subject=data.aggregate_id(),
        data=data.model_dump(mode="json"),
    )
    return event.id, event.subject, json.dumps(event.model_dump(mode="json"), ensure_ascii=False)


async def _paced(rate: int, seconds: float, send: Callable[[int], Awaitable[None]]) -> float:
    """Start ``send(n)`` every 1/rate s for ``seconds`` (open loop); returns the achieved rate."""
    count, interval = int(rate * seconds), 1.0 / rate
    tasks: list[asyncio.Task[None]] = []
    started = next_at = time.perf_counter()
    for n in range(count):
        tasks.append(asyncio.create_task(send(n)))
        next_at += interval
        await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
    await asyncio.gather(*tasks)
    return count / (time.perf_counter() - started)


async def _pipeline(cluster: BenchCluster, rate: int, seconds: float) -> dict[str, Any]:
    topic = TOPIC_PREFIX + topic_for(DocumentFormed)
    pool = await asyncpg.create_pool(
        host="127.0.0.1",
        port=cluster.pg.port,
        user="postgres",
        password=cluster.pg.password,
        database="xn_disclosure",
        min_size=8,
        max_size=16,
    )
    evaluation = await cluster.connect("xn_evaluation")
    ids: list[str] = []

    async def write(n: int) -> None:
        event_id, key, event = _document_formed(n)
        ids.append(event_id)
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute("INSERT INTO bench_writes (event_id) VALUES ($1)", event_id)
            await conn.execute(
                "INSERT INTO outbox (event_id, topic, key, event) VALUES ($1, $2, $3, $4::jsonb)",
                event_id,
                topic,
                key,
                event,
            )
            await conn.execute(f"NOTIFY {OUTBOX_CHANNEL}")

    try:
        async with pool.acquire() as conn:
            await conn.execute("CREATE TABLE IF NOT EXISTS bench_writes (event_id text PRIMARY KEY)")
        achieved = await _paced(rate, seconds, write)
        latencies = await _handled(pool, evaluation, ids, timeout_s=180)
    finally:
        await pool.close()
        await evaluation.close()
    return {"achieved_per_s": achieved, **latencies}


async def _handled(
    disclosure: asyncpg.Pool,
    evaluation: asyncpg.Connection,
    event_ids: list[str],
    *,
    timeout_s: float,
) -> dict[str, list[float]]:
    """Per write: seconds from commit to handler start and to handler commit (waits for all)."""
    commits = {
        r["event_id"]: r["committed"]
        for r in await disclosure.fetch(
            "SELECT event_id, pg_xact_commit_timestamp(xmin) AS committed FROM bench_writes "
            "WHERE event_id = ANY($1::text[])",
            event_ids,
        )
    }
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


async def _raw(bootstrap: str, rate: int, seconds: float) -> list[float]:
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
        reader = asyncio.create_task(consume(int(rate * seconds)))

        async def send(n: int) -> None:
            key = f"m-{n}".encode()
            sent[key] = time.perf_counter()
            await producer.send_and_wait(topic, b'{"bench": true}', key=key)

        await _paced(rate, seconds, send)
        await asyncio.wait_for(reader, 120)
    finally:
        await consumer.stop()
        await producer.stop()
    return [received[k] - sent[k] for k in sent]


async def run(cluster: BenchCluster, *, quick: bool) -> BenchResult:
    rates = QUICK_RATES if quick else RATES
    figures: dict[str, Any] = {}
    rows: list[list[Any]] = []
    targets: list[Target] = []
    with CpuMeter() as cpu:
        for rate, seconds in rates:
            say(f"{NAME}: {rate}/s for {seconds} s: commits → relay → Kafka → evaluation, then raw aiokafka")
            pipeline = await _pipeline(cluster, rate, seconds)
            raw = latency_summary(await _raw(cluster.bootstrap, rate, seconds))
            handler = latency_summary(pipeline["commit_to_handler"])
            handled = latency_summary(pipeline["commit_to_handled"])
            over_raw = ratio(handler["p99_ms"], raw["p99_ms"])
            figures[f"{rate}_per_s"] = {
                "seconds": seconds,
                "achieved_per_s": round(pipeline["achieved_per_s"], 1),
                "commit_to_handler": handler,
                "commit_to_handled": handled,
                "raw_kafka": raw,
                "handler_p99_over_raw_p99": over_raw,
            }
            rows.append(
                [
                    f"{rate}/s × {seconds} s",
                    f"{pipeline['achieved_per_s']:.0f}",
                    f"{raw['p50_ms']:.1f}",
                    f"{raw['p99_ms']:.1f}",
                    f"{handler['p50_ms']:.1f}",
                    f"{handler['p99_ms']:.1f}",
                    fmt_ratio(over_raw),
                    f"{handled['p99_ms']:.1f}",
                ]
            )
            if rate == 200:
                targets.append(Target("events 200/s: handler p99 / raw aiokafka p99", over_raw, 3, False))
            if rate == 500:
                targets.append(
                    Target("events 500/s: commit → handler p99", handler["p99_ms"], 250, False, " ms")
                )
                targets.append(
                    Target(
                        "events 500/s: achieved rate", round(pipeline["achieved_per_s"], 1), 490, True, "/s"
                    )
                )
    return BenchResult(
        name=NAME,
        title="document-formed: commit in disclosure's database → evaluation's handler, beside raw Kafka",
        headers=[
            "offered",
            "achieved /s",
            "raw p50 ms",
            "raw p99 ms",
            "handler p50 ms",
            "handler p99 ms",
            "p99 / raw",
            "handled p99 ms",
        ],
        rows=rows,
        notes=[
            "writes: outbox row + NOTIFY committed by the bench on disclosure's database, paced open loop; "
            "the relay in the disclosure process is woken by the NOTIFY",
            "start = pg_xact_commit_timestamp of the write; handler = inbox.received_at "
            "(now() of the consumer transaction); handled = that transaction's commit timestamp; "
            "one PostgreSQL clock",
            "raw: same broker, acks=all, idempotent, linger_ms=2, getmany(max_records=200), the same pacing; "
            "timed in this process from before send_and_wait to receipt",
        ],
        figures=figures,
        parameters={"rates": [list(r) for r in rates], "acks": "all", "linger_ms": 2},
        load_generator_cpu=cpu.as_json(),
        targets=targets,
    )
