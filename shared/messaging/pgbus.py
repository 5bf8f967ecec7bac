"""A durable in-process bus on PostgreSQL, for the embedded mode.

Same at-least-once contract as Kafka: per-topic offsets, consumer groups with committed
positions, redelivery of what was fetched but not committed. Unlike the memory bus it keeps
messages and positions across a crash or restart, so the embedded mode loses nothing either.
One partition per topic; the bus's tables live in their own database.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
from collections.abc import Sequence

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from shared.messaging.bus import Message, next_offsets

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS bus_topics (topic text PRIMARY KEY, next_offset bigint NOT NULL DEFAULT 0)",
    "CREATE TABLE IF NOT EXISTS bus_messages (topic text NOT NULL, offset_ bigint NOT NULL, key bytea,"
    " value bytea NOT NULL, headers jsonb NOT NULL, PRIMARY KEY (topic, offset_))",
    "CREATE TABLE IF NOT EXISTS bus_offsets (group_ text NOT NULL, topic text NOT NULL,"
    " committed bigint NOT NULL, PRIMARY KEY (group_, topic))",
)


def _encode_headers(headers: Sequence[tuple[str, bytes]]) -> str:
    return json.dumps([[k, base64.b64encode(v).decode()] for k, v in headers])


def _decode_headers(raw: list[list[str]]) -> tuple[tuple[str, bytes], ...]:
    return tuple((k, base64.b64decode(v)) for k, v in raw)


class PostgresBus:
    def __init__(self, url: str) -> None:
        self._url = url
        self._engine: AsyncEngine | None = None
        # Bumped on every publish in this process; consumers wait for it to change.
        self.generation = 0
        self.changed = asyncio.Condition()

    @property
    def engine(self) -> AsyncEngine:
        if self._engine is None:
            raise RuntimeError("PostgresBus used before start")
        return self._engine

    async def start(self) -> None:
        self._engine = create_async_engine(self._url, pool_size=5, max_overflow=10)
        async with self._engine.begin() as conn:
            await conn.execute(text("SELECT pg_advisory_xact_lock(7335)"))
            for ddl in _SCHEMA:
                await conn.execute(text(ddl))

    async def stop(self) -> None:
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = None

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def ensure_topics(self, topics: Sequence[str]) -> None:
        async with self.engine.begin() as conn:
            for topic in topics:
                await conn.execute(
                    text("INSERT INTO bus_topics (topic) VALUES (:t) ON CONFLICT DO NOTHING"), {"t": topic}
                )

    async def publish(self, messages: Sequence[Message]) -> None:
        by_topic: dict[str, list[Message]] = {}
        for m in messages:
            by_topic.setdefault(m.topic, []).append(m)
        async with self.engine.begin() as conn:
            for topic in sorted(by_topic):
                batch = by_topic[topic]
                end = await conn.scalar(
                    text(
                        "INSERT INTO bus_topics (topic, next_offset) VALUES (:t, :n) ON CONFLICT (topic)"
                        " DO UPDATE SET next_offset = bus_topics.next_offset + :n RETURNING next_offset"
                    ),
                    {"t": topic, "n": len(batch)},
                )
                first = int(end) - len(batch)
                await conn.execute(
                    text(
                        "INSERT INTO bus_messages (topic, offset_, key, value, headers)"
                        " VALUES (:t, :o, :k, :v, CAST(:h AS jsonb))"
                    ),
                    [
                        {
                            "t": topic,
                            "o": first + i,
                            "k": m.key,
                            "v": m.value,
                            "h": _encode_headers(m.headers),
                        }
                        for i, m in enumerate(batch)
                    ],
                )
        async with self.changed:
            self.generation += 1
            self.changed.notify_all()

    def consumer(self, group: str, topics: Sequence[str]) -> PostgresConsumer:
        return PostgresConsumer(self, group, tuple(topics))


class PostgresConsumer:
    def __init__(self, bus: PostgresBus, group: str, topics: tuple[str, ...]) -> None:
        self._bus = bus
        self._group = group
        self._topics = topics
        self._position: dict[str, int] = {}

    async def start(self) -> None:
        async with self._bus.engine.connect() as conn:
            rows = await conn.execute(
                text("SELECT topic, committed FROM bus_offsets WHERE group_ = :g"), {"g": self._group}
            )
            committed = {r.topic: int(r.committed) for r in rows}
        self._position = {t: committed.get(t, 0) for t in self._topics}

    async def stop(self) -> None:
        return None

    async def _ready(self, max_records: int) -> list[Message]:
        out: list[Message] = []
        async with self._bus.engine.connect() as conn:
            for topic in self._topics:
                rows = await conn.execute(
                    text(
                        "SELECT offset_, key, value, headers FROM bus_messages"
                        " WHERE topic = :t AND offset_ >= :p ORDER BY offset_ LIMIT :n"
                    ),
                    {"t": topic, "p": self._position[topic], "n": max_records - len(out)},
                )
                for r in rows:
                    out.append(
                        Message(
                            topic=topic,
                            key=r.key,
                            value=r.value,
                            headers=_decode_headers(r.headers),
                            offset=int(r.offset_),
                        )
                    )
                    self._position[topic] = int(r.offset_) + 1
                if len(out) >= max_records:
                    break
        return out

    async def fetch(self, max_records: int, timeout_s: float) -> list[Message]:
        seen = self._bus.generation
        batch = await self._ready(max_records)
        if batch:
            return batch
        # Woken at once by a publish in this process; the timeout covers other processes.
        async with self._bus.changed:
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation that
            # arrives as the wait completes, and the consumer task would never stop.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout_s):
                    await self._bus.changed.wait_for(lambda: self._bus.generation != seen)
        return await self._ready(max_records)

    async def commit(self, messages: Sequence[Message]) -> None:
        async with self._bus.engine.begin() as conn:
            for (topic, _), offset in next_offsets(messages).items():
                await conn.execute(
                    text(
                        "INSERT INTO bus_offsets (group_, topic, committed) VALUES (:g, :t, :o)"
                        " ON CONFLICT (group_, topic) DO UPDATE"
                        " SET committed = GREATEST(bus_offsets.committed, EXCLUDED.committed)"
                    ),
                    {"g": self._group, "t": topic, "o": offset},
                )
