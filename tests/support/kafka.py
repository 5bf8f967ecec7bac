"""Raw aiokafka helpers for tests: read a whole topic, send duplicates, check a group's lag."""

from __future__ import annotations

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import ConsumerRecord


async def partitions_of(bootstrap: str, topic: str) -> list[TopicPartition]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        (described,) = await admin.describe_topics([topic])
        return sorted(TopicPartition(topic, p["partition"]) for p in described["partitions"])
    finally:
        await admin.close()


async def read_all(bootstrap: str, topic: str) -> list[ConsumerRecord[bytes, bytes]]:
    tps = await partitions_of(bootstrap, topic)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        records: list[ConsumerRecord[bytes, bytes]] = []
        while any([await consumer.position(tp) < ends[tp] for tp in tps]):
            for batch in (await consumer.getmany(timeout_ms=500)).values():
                records.extend(batch)
        return records
    finally:
        await consumer.stop()


async def republish_all(bootstrap: str, topic: str) -> int:
    """Send every message of ``topic`` again, unchanged: what a redelivery looks like."""
    records = await read_all(bootstrap, topic)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True)
    await producer.start()
    try:
        for r in records:
            await producer.send_and_wait(topic, value=r.value, key=r.key, headers=list(r.headers))
    finally:
        await producer.stop()
    return len(records)


async def group_caught_up(bootstrap: str, group: str, topic: str) -> bool:
    """True when ``group`` has committed every message of ``topic``."""
    tps = await partitions_of(bootstrap, topic)
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await admin.start()
    await consumer.start()
    try:
        committed = await admin.list_consumer_group_offsets(group)
        ends = await consumer.end_offsets(tps)
        done = {tp: committed[tp].offset if tp in committed else 0 for tp in tps}
        return all(done[tp] >= ends[tp] for tp in tps)
    finally:
        await admin.close()
        await consumer.stop()
