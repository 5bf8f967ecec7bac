"""The bus interface: publish batches, consume in groups, commit after processing.

Two implementations keep the same at-least-once contract: Kafka (aiokafka) and an in-process
bus for the embedded mode and unit tests. A consumer sees messages from its group's committed
position; what it fetched but did not commit is delivered again to the next consumer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

Headers = tuple[tuple[str, bytes], ...]


@dataclass(frozen=True)
class Message:
    topic: str
    key: bytes | None
    value: bytes
    headers: Headers = ()
    partition: int = 0
    offset: int = -1

    def header(self, name: str) -> str | None:
        for k, v in self.headers:
            if k == name:
                return v.decode()
        return None


class BusConsumer(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def fetch(self, max_records: int, timeout_s: float) -> list[Message]: ...

    async def commit(self, messages: Sequence[Message]) -> None:
        """Mark everything up to and including these messages as processed."""
        ...


class Bus(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def ensure_topics(self, topics: Sequence[str]) -> None: ...

    async def publish(self, messages: Sequence[Message]) -> None:
        """Return only when every message is durably accepted (acks=all on Kafka)."""
        ...

    def consumer(self, group: str, topics: Sequence[str]) -> BusConsumer: ...

    async def ping(self) -> None:
        """Raise if the bus cannot be reached."""
        ...


def next_offsets(messages: Sequence[Message]) -> dict[tuple[str, int], int]:
    """The offset to commit per topic-partition: one past the highest message seen."""
    offsets: dict[tuple[str, int], int] = {}
    for m in messages:
        tp = (m.topic, m.partition)
        offsets[tp] = max(offsets.get(tp, 0), m.offset + 1)
    return offsets
