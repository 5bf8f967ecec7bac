"""Smoke test for devtools.kafka_broker: a real Kafka broker, idempotent produce, group commit, restart."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.structs import RecordMetadata

from devtools.kafka_broker import KafkaBroker, assemble

pytestmark = pytest.mark.kafka

MESSAGES = 10


async def create_topic(bootstrap: str, topic: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name=topic, num_partitions=1, replication_factor=1)])
    finally:
        await admin.close()


async def produce(bootstrap: str, topic: str) -> list[RecordMetadata]:
    """MESSAGES messages with the idempotent producer; their metadata once acknowledged."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, linger_ms=5)
    await producer.start()
    try:
        futures = [
            await producer.send(topic, key=b"k", value=f"message-{i}".encode()) for i in range(MESSAGES)
        ]
        return list(await asyncio.gather(*futures))
    finally:
        await producer.stop()


async def consume_and_commit(bootstrap: str, topic: str, group: str, tp: TopicPartition) -> list[bytes]:
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        values: list[bytes] = []
        async with asyncio.timeout(30):
            while len(values) < MESSAGES:
                batches = await consumer.getmany(timeout_ms=1000, max_records=100)
                values += [rec.value for recs in batches.values() for rec in recs if rec.value is not None]
        await consumer.commit()
        assert await consumer.committed(tp) == MESSAGES
    finally:
        await consumer.stop()
    return values


async def group_offsets_after_restart(bootstrap: str, group: str, tp: TopicPartition) -> dict[Any, Any]:
    """After a restart the group coordinator answers before it has reloaded the offsets topic;
    until then the group looks empty. Ask again until it has loaded."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        async with asyncio.timeout(30):
            offsets = await admin.list_consumer_group_offsets(group)
            while tp not in offsets:
                await asyncio.sleep(0.5)
                offsets = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    return dict(offsets)


async def test_broker_produce_consume_commit_survives_restart(tmp_path: Path) -> None:
    await asyncio.to_thread(assemble)
    broker = KafkaBroker(tmp_path / "kafka")
    topic = f"smoke-{uuid.uuid4().hex[:8]}"
    group = f"smoke-group-{uuid.uuid4().hex[:8]}"
    tp = TopicPartition(topic, 0)
    try:
        bootstrap = await asyncio.to_thread(broker.start)
        assert bootstrap == broker.bootstrap == f"127.0.0.1:{broker.port}"

        await create_topic(bootstrap, topic)
        metadata = await produce(bootstrap, topic)
        assert [m.offset for m in metadata] == list(range(MESSAGES))
        values = await consume_and_commit(bootstrap, topic, group, tp)
        assert values == [f"message-{i}".encode() for i in range(MESSAGES)]

        port, controller_port = broker.port, broker.controller_port
        assert await asyncio.to_thread(broker.restart) == bootstrap
        assert (broker.port, broker.controller_port) == (port, controller_port)

        offsets = await group_offsets_after_restart(bootstrap, group, tp)
        assert offsets[tp].offset == MESSAGES

        consumer = AIOKafkaConsumer(
            topic, bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False
        )
        await consumer.start()
        try:
            assert await consumer.committed(tp) == MESSAGES
        finally:
            await consumer.stop()
    finally:
        await asyncio.to_thread(broker.stop)
    assert not broker.is_running
