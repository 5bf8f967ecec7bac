"""Apache Kafka bus (aiokafka): idempotent producer with acks=all, manual offset commits.

A publish that fails discards the producer and the next publish starts a new one: after a broker
restart an idempotent producer can be left with sequence numbers the broker no longer accepts
(``OutOfOrderSequenceNumber`` on every later send), and would never publish again. A new producer
gets a new producer id; the outbox relay sends the failed batch again, and the consumers' inbox
absorbs whatever of it had already arrived.

Every producer, consumer and admin client the bus creates connects with the same
:class:`KafkaSecurity` (plain by default; production uses SASL_SSL with SCRAM-SHA-512). With
``create_topics=False`` the bus never creates a topic: where Strimzi's KafkaTopics own partitions,
replicas and retention, a topic created here would get a replication factor of 1.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from aiokafka.helpers import create_ssl_context

from shared.messaging.bus import Message, next_offsets
from shared.settings import CommonSettings

log = logging.getLogger("xiaoneng.kafka")

# How long discarding a broken producer may wait for it to flush (the broker may be down).
_DISCARD_TIMEOUT_SECONDS = 5.0


@dataclass(frozen=True)
class KafkaSecurity:
    """How every client of the bus authenticates and encrypts (``CommonSettings.kafka_*``).

    The password is left out of ``repr`` so the object can be logged. The combinations are
    checked by ``CommonSettings``; :meth:`client_kwargs` checks them again for direct callers.
    """

    protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = None
    sasl_username: str | None = None
    sasl_password: str | None = field(default=None, repr=False)
    ssl_cafile: str | None = None

    @classmethod
    def from_settings(cls, common: CommonSettings) -> KafkaSecurity:
        password = common.kafka_sasl_password
        return cls(
            protocol=common.kafka_security_protocol,
            sasl_mechanism=common.kafka_sasl_mechanism,
            sasl_username=common.kafka_sasl_username,
            sasl_password=None if password is None else password.get_secret_value(),
            ssl_cafile=common.kafka_ssl_cafile,
        )

    @property
    def uses_sasl(self) -> bool:
        return self.protocol.startswith("SASL_")

    @property
    def uses_tls(self) -> bool:
        return self.protocol.endswith("SSL")

    def client_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``AIOKafkaProducer``/``AIOKafkaConsumer``/``AIOKafkaAdminClient``."""
        kwargs: dict[str, Any] = {"security_protocol": self.protocol}
        if self.uses_sasl:
            if not (self.sasl_mechanism and self.sasl_username and self.sasl_password):
                raise ValueError(f"{self.protocol} needs a SASL mechanism, a username and a password")
            # aiokafka takes the SCRAM credentials under the sasl_plain_* names too.
            kwargs["sasl_mechanism"] = self.sasl_mechanism
            kwargs["sasl_plain_username"] = self.sasl_username
            kwargs["sasl_plain_password"] = self.sasl_password
        if self.uses_tls:
            # Server certificate and host name checked against the CA file (or the system's CAs).
            kwargs["ssl_context"] = create_ssl_context(cafile=self.ssl_cafile)
        elif self.ssl_cafile is not None:
            raise ValueError(f"a CA file is given but {self.protocol} does not use TLS")
        return kwargs


class KafkaBus:
    def __init__(
        self,
        bootstrap_servers: str,
        *,
        client_id: str,
        partitions: int = 3,
        security: KafkaSecurity | None = None,
        create_topics: bool = True,
    ) -> None:
        self._bootstrap = bootstrap_servers
        self._client_id = client_id
        self._partitions = partitions
        self._security = security or KafkaSecurity()
        # Built once: a bad CA file or missing credentials fail at construction, not at first send.
        self._client_kwargs = self._security.client_kwargs()
        self._create_topics = create_topics
        self._producer: AIOKafkaProducer | None = None
        self._started = False
        self._known_topics: set[str] = set()

    @property
    def security(self) -> KafkaSecurity:
        return self._security

    @property
    def creates_topics(self) -> bool:
        return self._create_topics

    async def start(self) -> None:
        self._started = True
        await self._ready_producer()

    async def stop(self) -> None:
        self._started = False
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None

    async def _ready_producer(self) -> AIOKafkaProducer:
        if self._producer is None:
            producer = AIOKafkaProducer(
                bootstrap_servers=self._bootstrap,
                client_id=self._client_id,
                enable_idempotence=True,
                acks="all",
                linger_ms=2,
                request_timeout_ms=15000,
                **self._client_kwargs,
            )
            try:
                await producer.start()
            except BaseException:
                with contextlib.suppress(Exception):
                    await producer.stop()
                raise
            self._producer = producer
        return self._producer

    async def _discard_producer(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(_DISCARD_TIMEOUT_SECONDS):
                    await producer.stop()

    async def ping(self) -> None:
        admin = AIOKafkaAdminClient(
            bootstrap_servers=self._bootstrap, request_timeout_ms=3000, **self._client_kwargs
        )
        try:
            await admin.start()
            await admin.describe_cluster()
        finally:
            await admin.close()

    async def ensure_topics(self, topics: Sequence[str]) -> None:
        if not self._create_topics:
            return  # the topics are declared elsewhere (Strimzi KafkaTopics)
        wanted = [t for t in topics if t not in self._known_topics]
        if not wanted:
            return
        admin = AIOKafkaAdminClient(
            bootstrap_servers=self._bootstrap, client_id=self._client_id, **self._client_kwargs
        )
        await admin.start()
        try:
            existing = set(await admin.list_topics())
            new = [
                NewTopic(name=t, num_partitions=self._partitions, replication_factor=1)
                for t in wanted
                if t not in existing
            ]
            if new:
                try:
                    await admin.create_topics(new)
                except TopicAlreadyExistsError:
                    pass  # another service created it first
        finally:
            await admin.close()
        self._known_topics.update(wanted)

    async def publish(self, messages: Sequence[Message]) -> None:
        if not self._started:
            raise RuntimeError("KafkaBus.publish before start")
        # Topics are created with the intended partition count before the first send, not
        # left to the broker's auto-creation defaults.
        await self.ensure_topics(sorted({m.topic for m in messages}))
        producer = await self._ready_producer()
        try:
            futures = [
                await producer.send(m.topic, value=m.value, key=m.key, headers=list(m.headers))
                for m in messages
            ]
            await asyncio.gather(*futures)
        except Exception as exc:
            log.warning("publish failed (%s); the next publish uses a new producer", type(exc).__name__)
            await self._discard_producer()
            raise

    def consumer(self, group: str, topics: Sequence[str]) -> KafkaConsumer:
        return KafkaConsumer(
            self._bootstrap,
            group,
            tuple(topics),
            client_id=self._client_id,
            client_kwargs=self._client_kwargs,
        )


class KafkaConsumer:
    def __init__(
        self,
        bootstrap: str,
        group: str,
        topics: tuple[str, ...],
        *,
        client_id: str,
        client_kwargs: dict[str, Any] | None = None,
    ) -> None:
        self._consumer = AIOKafkaConsumer(
            *topics,
            bootstrap_servers=bootstrap,
            group_id=group,
            client_id=client_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            metadata_max_age_ms=5000,
            **(client_kwargs or {}),
        )

    async def start(self) -> None:
        await self._consumer.start()

    async def stop(self) -> None:
        await self._consumer.stop()

    async def fetch(self, max_records: int, timeout_s: float) -> list[Message]:
        batches = await self._consumer.getmany(timeout_ms=int(timeout_s * 1000), max_records=max_records)
        out: list[Message] = []
        for tp, records in batches.items():
            for r in records:
                out.append(
                    Message(
                        topic=tp.topic,
                        key=r.key,
                        value=r.value or b"",
                        headers=tuple((k, v) for k, v in r.headers),
                        partition=tp.partition,
                        offset=r.offset,
                    )
                )
        return out

    async def commit(self, messages: Sequence[Message]) -> None:
        offsets = {TopicPartition(t, p): o for (t, p), o in next_offsets(messages).items()}
        if offsets:
            await self._consumer.commit(offsets)
