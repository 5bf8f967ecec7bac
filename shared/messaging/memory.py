"""In-process bus with the same at-least-once contract as Kafka (one partition per topic)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import replace

from shared.messaging.bus import Message, next_offsets


class MemoryBus:
    def __init__(self) -> None:
        self._logs: dict[str, list[Message]] = {}
        self._committed: dict[tuple[str, str], int] = {}
        self._changed = asyncio.Condition()

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def ping(self) -> None:
        return None

    async def ensure_topics(self, topics: Sequence[str]) -> None:
        for t in topics:
            self._logs.setdefault(t, [])

    async def publish(self, messages: Sequence[Message]) -> None:
        async with self._changed:
            for m in messages:
                log = self._logs.setdefault(m.topic, [])
                log.append(replace(m, partition=0, offset=len(log)))
            self._changed.notify_all()

    def consumer(self, group: str, topics: Sequence[str]) -> MemoryConsumer:
        return MemoryConsumer(self, group, tuple(topics))

    def messages(self, topic: str) -> list[Message]:
        return list(self._logs.get(topic, []))

    def topics(self) -> list[str]:
        return list(self._logs)


class MemoryConsumer:
    def __init__(self, bus: MemoryBus, group: str, topics: tuple[str, ...]) -> None:
        self._bus = bus
        self._group = group
        self._topics = topics
        self._position: dict[str, int] = {}

    async def start(self) -> None:
        for t in self._topics:
            self._position[t] = self._bus._committed.get((self._group, t), 0)

    async def stop(self) -> None:
        return None

    def _ready(self, max_records: int) -> list[Message]:
        out: list[Message] = []
        for t in self._topics:
            log = self._bus._logs.get(t, [])
            pos = self._position.get(t, 0)
            take = log[pos : pos + max_records - len(out)]
            self._position[t] = pos + len(take)
            out.extend(take)
            if len(out) >= max_records:
                break
        return out

    async def fetch(self, max_records: int, timeout_s: float) -> list[Message]:
        async with self._bus._changed:
            batch = self._ready(max_records)
            if batch:
                return batch
            # asyncio.timeout, not wait_for: see OutboxRelay.run.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout_s):
                    await self._bus._changed.wait()
            return self._ready(max_records)

    async def commit(self, messages: Sequence[Message]) -> None:
        for (topic, _), offset in next_offsets(messages).items():
            key = (self._group, topic)
            self._bus._committed[key] = max(self._bus._committed.get(key, 0), offset)
