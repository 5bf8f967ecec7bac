"""The event backbone on a real database: outbox relay, inbox dedupe, dead letters."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from shared.clock import utc_now
from shared.db import Database
from shared.events import CloudEvent, DocumentFormed, VoteCast, topic_for
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
                # Ten aggregates (rounds), thirty events each, committed in turnout order.
                data = VoteCast(round_id=f"2018-Q{i % 10}", receipt=f"r-{i}", turnout=i // 10 + 1)
                await outbox.record(session, data, source="/t")
        relays = [OutboxRelay(db, bus, batch_size=25) for _ in range(4)]
        while sum(await asyncio.gather(*(r.relay_once() for r in relays))):
            pass
        events = [CloudEvent.from_kafka(m.headers, m.value).data for m in bus.messages(topic_for(VoteCast))]
        assert sorted(e["receipt"] for e in events) == sorted(f"r-{i}" for i in range(300))
        assert sum(r.published for r in relays) == 300
        for n in range(10):
            turnouts = [e["turnout"] for e in events if e["round_id"] == f"2018-Q{n}"]
            assert turnouts == list(range(1, 31)), "events of one aggregate must keep their commit order"
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
