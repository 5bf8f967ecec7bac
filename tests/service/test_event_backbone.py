"""The event backbone on a real database: outbox relay, inbox dedupe, dead letters."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.clock import utc_now
from shared.db import Database
from shared.events import CloudEvent, DocumentFormed, topic_for
from shared.messaging import outbox
from shared.messaging.bus import Message
from shared.messaging.consumer import ConsumerRunner, Subscription
from shared.messaging.memory import MemoryBus
from shared.messaging.outbox import OutboxRelay
from shared.migrations import upgrade
from shared.settings import CommonSettings
from tests.support.apps import bearer, running, service_app
from tests.support.infra import PostgresSource
from tests.support.waiting import until

TOPIC = topic_for(DocumentFormed)


def document_number() -> str:
    return f"湖政办发〔2018〕{uuid.uuid4().int % 90000 + 1}号"


def formed(document_id: str, version: int = 1) -> DocumentFormed:
    return DocumentFormed(
        document_id=document_id,
        version=version,
        department="jtj",
        document_number=document_number(),
        title="关于优化营商环境的通知",
        formed_on=utc_now().date(),
        deadline=utc_now(),
    )


async def test_document_formed_reaches_evaluation_once_even_when_delivered_twice(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    bus = MemoryBus()
    disclosure = service_app("disclosure", await postgres.new_database(), common, bus)
    evaluation = service_app("evaluation", await postgres.new_database(), common, bus)
    office = bearer(common, "office", department="office")
    async with running(disclosure) as d, running(evaluation) as e:
        r = await d.post(
            "/v1/documents",
            json={
                "document_number": document_number(),
                "title": "关于优化营商环境的通知",
                "drafting_department": "jtj",
                "formed_on": utc_now().date().isoformat(),
            },
            headers=bearer(common, "department", department="jtj"),
        )
        assert r.status_code == 201, r.text
        doc_id = r.json()["id"]

        async def recorded() -> bool:
            facts = (await e.get("/v1/departments/jtj/facts", headers=office)).json()
            return facts["counts"].get("document-formed", 0) >= 1

        await until(recorded, "the document-formed fact", timeout=10)
        # Deliver the very same message again, as Kafka may after a consumer restart.
        await bus.publish(bus.messages(TOPIC))
        runner = evaluation.state.ctx.consumers[0]
        await until(lambda: runner.processed >= 2, "the redelivery consumed", timeout=10)
        facts = (await e.get("/v1/departments/jtj/facts", headers=office)).json()
        assert facts["counts"] == {"document-formed": 1}
        assert facts["facts"][0]["subject_id"] == f"{doc_id}@1"


async def test_poison_message_goes_to_dead_letter_topic_and_later_messages_flow(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    url = await postgres.new_database()
    await upgrade("evaluation", url)
    db = Database(url)
    bus = MemoryBus()
    seen: list[str] = []

    async def handler(session: AsyncSession, event: CloudEvent) -> None:
        DocumentFormed.model_validate(event.data)  # a poison payload fails here, every time
        seen.append(event.id)

    runner = ConsumerRunner(
        db,
        bus,
        Subscription("probe", {DocumentFormed.event_type(): handler}),
        group_prefix="test.",
        max_attempts=3,
        retry_base_seconds=0.001,
    )
    task = asyncio.create_task(runner.run())
    poison = CloudEvent(
        source="/test", type=DocumentFormed.event_type(), subject="x", data={"nonsense": True}
    )
    good = CloudEvent(
        source="/test",
        type=DocumentFormed.event_type(),
        subject="doc-9",
        data=DocumentFormed(
            document_id="doc-9",
            version=1,
            department="fgw",
            document_number="湖政发〔2018〕9号",
            title="t",
            formed_on=datetime(2018, 6, 1).date(),
            deadline=datetime(2018, 6, 12, tzinfo=UTC),
        ).model_dump(mode="json"),
    )
    garbage = Message(topic=TOPIC, key=b"z", value=b"\xff not json", headers=(("ce_id", b"1"),))
    await bus.publish(
        [outbox.to_message(TOPIC, "x", poison), garbage, outbox.to_message(TOPIC, "doc-9", good)]
    )
    try:
        await until(lambda: good.id in seen, "the good message handled", timeout=10)
        dead = bus.messages(f"{TOPIC}.dlt")
        assert len(dead) == 2
        assert "ValidationError" in (dead[0].header("dlt-error") or "")
        assert dead[0].header("dlt-original-topic") == TOPIC
        assert dead[0].header("ce_id") == poison.id
        assert "malformed" in (dead[1].header("dlt-error") or "")
        assert runner.dead_lettered == 2
    finally:
        task.cancel()
        await db.dispose()


async def test_a_batch_is_handled_together_and_a_poison_message_in_it_changes_nothing_for_the_others(
    postgres: PostgresSource,
) -> None:
    """Good events of a batch share one transaction; one bad event sends the batch through the
    one-at-a-time path, where it alone is dead-lettered and every other event is handled once."""
    url = await postgres.new_database()
    await upgrade("evaluation", url)
    db = Database(url)
    bus = MemoryBus()
    async with db.transaction() as session:
        await session.execute(text("CREATE TABLE probe_effects (subject text NOT NULL)"))

    async def handler(session: AsyncSession, event: CloudEvent) -> None:
        # The handler's effect lives in its transaction, as every real handler's does.
        await session.execute(text("INSERT INTO probe_effects VALUES (:s)"), {"s": event.subject})
        DocumentFormed.model_validate(event.data)  # the poison payload fails here, every time

    async def effects() -> list[str]:
        async with db.reader() as conn:
            return [r[0] for r in await conn.execute(text("SELECT subject FROM probe_effects"))]

    goods = [
        CloudEvent(
            source="/test",
            type=DocumentFormed.event_type(),
            subject=f"doc-{n}",
            data=formed(f"doc-{n}").model_dump(mode="json"),
        )
        for n in range(40)
    ]
    poison = CloudEvent(source="/test", type=DocumentFormed.event_type(), subject="bad", data={"x": 1})
    first = [outbox.to_message(TOPIC, e.subject or "", e) for e in goods[:20]]
    second = [outbox.to_message(TOPIC, e.subject or "", e) for e in goods[20:]]
    # A batch with a duplicate (the same event twice) and, after it, a batch with a poison event.
    await bus.publish([*first, first[0]])
    await bus.publish([*second[:10], outbox.to_message(TOPIC, "bad", poison), *second[10:]])
    runner = ConsumerRunner(
        db,
        bus,
        Subscription("probe", {DocumentFormed.event_type(): handler}),
        group_prefix="test.",
        max_attempts=2,
        retry_base_seconds=0.001,
    )
    task = asyncio.create_task(runner.run())
    try:
        await until(lambda: runner.dead_lettered == 1, "the poison event dead-lettered", timeout=15)
        await until(lambda: runner.processed >= 40, "every good event consumed", timeout=15)
        handled = await effects()
        assert sorted(handled, key=lambda s: int(s.split("-")[1])) == [f"doc-{n}" for n in range(40)]
        dead = bus.messages(f"{TOPIC}.dlt")
        assert [m.header("ce_id") for m in dead] == [poison.id]
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await db.dispose()


async def test_several_relays_publish_every_outbox_row_exactly_once_and_in_order(
    postgres: PostgresSource,
) -> None:
    url = await postgres.new_database()
    await upgrade("evaluation", url)
    db = Database(url, pool_size=10)
    bus = MemoryBus()
    try:
        for i in range(300):
            async with db.transaction() as session:
                # Ten aggregates (documents), thirty versions each, committed in version order.
                data = formed(f"doc-{i % 10}", version=i // 10 + 1)
                await outbox.record(session, data, source="/t")
        relays = [OutboxRelay(db, bus, batch_size=25) for _ in range(4)]
        while sum(await asyncio.gather(*(r.relay_once() for r in relays))):
            pass
        events = [CloudEvent.from_kafka(m.headers, m.value).data for m in bus.messages(TOPIC)]
        assert sorted((e["document_id"], e["version"]) for e in events) == sorted(
            (f"doc-{i % 10}", i // 10 + 1) for i in range(300)
        )
        assert sum(r.published for r in relays) == 300
        for n in range(10):
            versions = [e["version"] for e in events if e["document_id"] == f"doc-{n}"]
            assert versions == list(range(1, 31)), "events of one aggregate must keep their commit order"
    finally:
        await db.dispose()


async def test_relay_stops_when_cancelled_just_as_it_is_woken(postgres: PostgresSource) -> None:
    url = await postgres.new_database()
    await upgrade("evaluation", url)
    db = Database(url)
    relay = OutboxRelay(db, MemoryBus(), poll_seconds=30)
    task = asyncio.create_task(relay.run())
    try:
        await asyncio.sleep(0.2)  # the relay has found nothing and waits for a wake-up
        db.outbox_wakeup.set()
        task.cancel()
        done, _ = await asyncio.wait({task}, timeout=5)
        assert done, "the relay must stop when cancelled, even as a wake-up arrives"
        assert task.cancelled()
    finally:
        await db.dispose()


async def test_a_commit_in_another_process_wakes_the_relay_without_waiting_for_its_poll(
    postgres: PostgresSource,
) -> None:
    """The relay holding the lock may run in another replica than the write: NOTIFY wakes it."""
    url = await postgres.new_database()
    await upgrade("evaluation", url)
    relay_side, writer_side = Database(url), Database(url)  # two processes' pools, two wake-up events
    bus = MemoryBus()
    relay = OutboxRelay(relay_side, bus, poll_seconds=600)
    task = asyncio.create_task(relay.run())
    try:
        await asyncio.wait_for(relay.listening.wait(), 10)
        await asyncio.sleep(0.5)  # the relay has found nothing and waits: its next poll is 10 min away
        async with writer_side.transaction() as session:
            await outbox.record(session, formed("doc-notify"), source="/t")
        await until(lambda: relay.published == 1, "the relay to publish the other process's row", timeout=10)
        published = [CloudEvent.from_kafka(m.headers, m.value).subject for m in bus.messages(TOPIC)]
        assert published == ["doc-notify"]
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await relay_side.dispose()
        await writer_side.dispose()
