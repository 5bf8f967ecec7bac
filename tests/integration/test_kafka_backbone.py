"""The event backbone on real Apache Kafka: outbox → Kafka → inbox, duplicates, dead letters, replay."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import Database
from shared.events import CloudEvent, DocumentFormed, topic_for
from shared.messaging import outbox
from shared.messaging.consumer import ConsumerRunner, Subscription
from shared.messaging.kafka import KafkaBus
from shared.messaging.outbox import OutboxRelay
from shared.messaging.replay import replay
from shared.messaging.tables import inbox
from shared.migrations import upgrade
from tests.support.infra import KafkaSource, PostgresSource
from tests.support.kafka import read_all

pytestmark = pytest.mark.kafka


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 30.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await check():
        if loop.time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.1)


def formed(n: int) -> DocumentFormed:
    return DocumentFormed(
        document_id=f"doc-{n}",
        version=1,
        department="fgw",
        document_number=f"湖政发〔2018〕{n}号",
        title=f"文件{n}",
        formed_on=date(2018, 6, 1),
        deadline=datetime(2018, 6, 12, tzinfo=UTC),
    )


async def test_outbox_to_kafka_to_inbox_once_even_when_sent_twice(
    kafka: KafkaSource, postgres: PostgresSource
) -> None:
    prefix = f"t{uuid.uuid4().hex[:8]}."
    url = await postgres.new_database()
    await upgrade("evaluation", url)
    db = Database(url)
    bus = KafkaBus(kafka.bootstrap, client_id="test")
    await bus.start()
    handled: list[str] = []

    async def handler(session: AsyncSession, event: CloudEvent) -> None:
        handled.append(DocumentFormed.model_validate(event.data).document_id)

    runner = ConsumerRunner(
        db,
        bus,
        Subscription("facts", {DocumentFormed.event_type(): handler}),
        group_prefix=prefix,
        topic_prefix=prefix,
    )
    consumer_task = asyncio.create_task(runner.run())
    relay = OutboxRelay(db, bus)
    try:
        async with db.transaction() as session:
            for n in range(5):
                await outbox.record(session, formed(n), source="/test", topic_prefix=prefix)
        assert await relay.relay_once() == 5
        # The same five rows once more: what a relay that crashed after sending would do.
        rows = await read_all(kafka.bootstrap, topic_for(DocumentFormed, prefix))
        await bus.publish(
            [
                outbox.to_message(
                    topic_for(DocumentFormed, prefix), "k", CloudEvent.from_kafka(tuple(r.headers), r.value)
                )
                for r in rows
            ]
        )
        await eventually(lambda: _count(runner, 10))
        assert sorted(handled) == [f"doc-{n}" for n in range(5)]
        async with db.reader() as session:
            assert await session.scalar(select(func.count()).select_from(inbox)) == 5
        # Keys are aggregate ids: per-aggregate order holds on Kafka.
        assert {r.key for r in rows} == {f"doc-{n}".encode() for n in range(5)}
    finally:
        consumer_task.cancel()
        await asyncio.gather(consumer_task, return_exceptions=True)
        await bus.stop()
        await db.dispose()


async def _count(runner: ConsumerRunner, n: int) -> bool:
    return runner.processed >= n


async def test_poison_message_lands_in_dlt_later_messages_flow_and_replay_works(
    kafka: KafkaSource, postgres: PostgresSource
) -> None:
    prefix = f"t{uuid.uuid4().hex[:8]}."
    topic = topic_for(DocumentFormed, prefix)
    url = await postgres.new_database()
    await upgrade("evaluation", url)
    db = Database(url)
    bus = KafkaBus(kafka.bootstrap, client_id="test", partitions=1)
    await bus.start()
    handled: list[str] = []
    healed = False

    async def handler(session: AsyncSession, event: CloudEvent) -> None:
        if event.data.get("title") == "poison" and not healed:
            raise RuntimeError("cannot digest this document")
        handled.append(event.data["document_id"])

    runner = ConsumerRunner(
        db,
        bus,
        Subscription("facts", {DocumentFormed.event_type(): handler}),
        group_prefix=prefix,
        topic_prefix=prefix,
        max_attempts=3,
        retry_base_seconds=0.01,
    )
    task = asyncio.create_task(runner.run())
    try:
        poison = formed(1).model_copy(update={"title": "poison"})
        async with db.transaction() as session:
            await outbox.record(session, poison, source="/test", topic_prefix=prefix)
            await outbox.record(session, formed(2), source="/test", topic_prefix=prefix)
        await OutboxRelay(db, bus).relay_once()
        await eventually(lambda: _has(handled, "doc-2"))
        assert handled == ["doc-2"]
        dead = await read_all(kafka.bootstrap, f"{topic}.dlt")
        assert len(dead) == 1
        headers = dict(dead[0].headers)
        assert b"cannot digest" in headers["dlt-error"]
        assert headers["dlt-original-topic"] == topic.encode()
        assert headers["dlt-consumer"] == b"facts"

        healed = True
        assert await replay(kafka.bootstrap, f"{topic}.dlt", 0) == 1
        await eventually(lambda: _has(handled, "doc-1"))
        assert sorted(handled) == ["doc-1", "doc-2"]
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await bus.stop()
        await db.dispose()


async def _has(handled: list[str], doc: str) -> bool:
    return doc in handled
