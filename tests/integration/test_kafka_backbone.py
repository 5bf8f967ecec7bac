"""The event backbone on real Apache Kafka: outbox → Kafka → inbox, duplicates, dead letters, replay."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import Database
from shared.events import CloudEvent, DocumentFormed, topic_for
from shared.messaging import outbox
from shared.messaging.consumer import ConsumerRunner, HandlerFn, Subscription
from shared.messaging.kafka import KafkaBus
from shared.messaging.outbox import OutboxRelay
from shared.messaging.replay import replay
from shared.messaging.tables import inbox
from shared.migrations import upgrade
from tests.support.infra import KafkaSource, PostgresSource
from tests.support.kafka import read_all
from tests.support.waiting import until

pytestmark = pytest.mark.kafka


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


@asynccontextmanager
async def backbone(
    kafka: KafkaSource, postgres: PostgresSource, **bus_options: Any
) -> AsyncIterator[tuple[str, Database, KafkaBus]]:
    """A fresh evaluation database and a started Kafka bus, on topics with a prefix of their own."""
    prefix = f"t{uuid.uuid4().hex[:8]}."
    url = await postgres.new_database()
    await upgrade("evaluation", url)
    db = Database(url)
    bus = KafkaBus(kafka.bootstrap, client_id="test", **bus_options)
    await bus.start()
    try:
        yield prefix, db, bus
    finally:
        await bus.stop()
        await db.dispose()


@asynccontextmanager
async def consuming(
    db: Database, bus: KafkaBus, prefix: str, handler: HandlerFn, **options: Any
) -> AsyncIterator[ConsumerRunner]:
    """A ``facts`` consumer of document-formed running until the block ends."""
    runner = ConsumerRunner(
        db,
        bus,
        Subscription("facts", {DocumentFormed.event_type(): handler}),
        group_prefix=prefix,
        topic_prefix=prefix,
        **options,
    )
    task = asyncio.create_task(runner.run())
    try:
        yield runner
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_outbox_to_kafka_to_inbox_once_even_when_sent_twice(
    kafka: KafkaSource, postgres: PostgresSource
) -> None:
    handled: list[str] = []

    async def handler(session: AsyncSession, event: CloudEvent) -> None:
        handled.append(DocumentFormed.model_validate(event.data).document_id)

    async with backbone(kafka, postgres) as (prefix, db, bus), consuming(db, bus, prefix, handler) as runner:
        relay = OutboxRelay(db, bus)
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
        await until(lambda: runner.processed >= 10, "10 events processed", interval=0.1)
        assert sorted(handled) == [f"doc-{n}" for n in range(5)]
        async with db.reader() as session:
            assert await session.scalar(select(func.count()).select_from(inbox)) == 5
        # Keys are aggregate ids: per-aggregate order holds on Kafka.
        assert {r.key for r in rows} == {f"doc-{n}".encode() for n in range(5)}


async def test_poison_message_lands_in_dlt_later_messages_flow_and_replay_works(
    kafka: KafkaSource, postgres: PostgresSource
) -> None:
    handled: list[str] = []
    healed = False

    async def handler(session: AsyncSession, event: CloudEvent) -> None:
        if event.data.get("title") == "poison" and not healed:
            raise RuntimeError("cannot digest this document")
        handled.append(event.data["document_id"])

    async with (
        backbone(kafka, postgres, partitions=1) as (prefix, db, bus),
        consuming(db, bus, prefix, handler, max_attempts=3, retry_base_seconds=0.01),
    ):
        topic = topic_for(DocumentFormed, prefix)
        poison = formed(1).model_copy(update={"title": "poison"})
        async with db.transaction() as session:
            await outbox.record(session, poison, source="/test", topic_prefix=prefix)
            await outbox.record(session, formed(2), source="/test", topic_prefix=prefix)
        await OutboxRelay(db, bus).relay_once()
        await until(lambda: "doc-2" in handled, "doc-2 handled", interval=0.1)
        assert handled == ["doc-2"]
        dead = await read_all(kafka.bootstrap, f"{topic}.dlt")
        assert len(dead) == 1
        headers = dict(dead[0].headers)
        assert b"cannot digest" in headers["dlt-error"]
        assert headers["dlt-original-topic"] == topic.encode()
        assert headers["dlt-consumer"] == b"facts"

        healed = True
        assert await replay(kafka.bootstrap, f"{topic}.dlt", 0) == 1
        await until(lambda: "doc-1" in handled, "doc-1 handled", interval=0.1)
        assert sorted(handled) == ["doc-1", "doc-2"]
