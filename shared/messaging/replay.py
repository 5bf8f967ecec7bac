"""Replay dead-lettered messages to their original topic.

    python -m shared.messaging.replay --bootstrap 127.0.0.1:9092 \
        --topic gov.efficiency.document-formed.v1.dlt --partition 0 --offset 3

The broker address defaults to ``XN_KAFKA_BOOTSTRAP_SERVERS``; TLS and SASL come from the same
``XN_KAFKA_*`` settings as the services' (in Kubernetes: run it in a pod with a service's
KafkaUser secret and the cluster CA mounted).

Without ``--offset`` every message in the partition is replayed. The message goes back with
its original key, value and CloudEvents headers (the ``dlt-*`` headers are dropped), so a
consumer that already handled it skips it by its event id.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from shared.messaging.kafka import KafkaSecurity
from shared.settings import CommonSettings

log = logging.getLogger("xiaoneng.replay")


async def replay(
    bootstrap: str,
    dlt_topic: str,
    partition: int = 0,
    offset: int | None = None,
    security: KafkaSecurity | None = None,
) -> int:
    """Republish one dead letter (or all of a partition); returns how many were replayed."""
    tp = TopicPartition(dlt_topic, partition)
    auth = (security or KafkaSecurity()).client_kwargs()
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None, **auth)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, acks="all", **auth)
    await consumer.start()
    await producer.start()
    try:
        consumer.assign([tp])
        end = (await consumer.end_offsets([tp]))[tp]
        start = offset if offset is not None else (await consumer.beginning_offsets([tp]))[tp]
        stop = start + 1 if offset is not None else end
        if start >= end:
            raise LookupError(f"{dlt_topic}[{partition}] has no message at offset {start} (end is {end})")
        consumer.seek(tp, start)
        replayed = 0
        while True:
            record = await consumer.getone()
            if record.offset >= stop:
                break
            headers = [(k, v) for k, v in record.headers if not k.startswith("dlt-")]
            original = dict(record.headers).get("dlt-original-topic")
            if original is None:
                raise ValueError(f"message at offset {record.offset} has no dlt-original-topic header")
            await producer.send_and_wait(
                original.decode(), value=record.value, key=record.key, headers=headers
            )
            log.info("replayed %s[%d]@%d to %s", dlt_topic, partition, record.offset, original.decode())
            replayed += 1
            if record.offset + 1 >= stop:
                break
        return replayed
    finally:
        await consumer.stop()
        await producer.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description="Replay dead-lettered messages to their original topic")
    parser.add_argument("--bootstrap", default=None, help="default: XN_KAFKA_BOOTSTRAP_SERVERS")
    parser.add_argument("--topic", required=True, help="the .dlt topic")
    parser.add_argument("--partition", type=int, default=0)
    parser.add_argument("--offset", type=int, default=None, help="one message; all when omitted")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO)
    common = CommonSettings()
    bootstrap = args.bootstrap or common.kafka_bootstrap_servers
    security = KafkaSecurity.from_settings(common)
    count = asyncio.run(replay(bootstrap, args.topic, args.partition, args.offset, security))
    sys.stdout.write(f"replayed {count} message(s)\n")


if __name__ == "__main__":
    main()
