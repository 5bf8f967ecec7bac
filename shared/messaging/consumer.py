"""Consumer runner: inbox dedupe, bounded retries, dead-letter topic, commit after the database.

For each message the handler runs inside one transaction together with the inbox insert
``(consumer, event_id)``; an event already in the inbox is skipped, so a redelivery has no
effect. Offsets are committed only after the database commit. A message that keeps failing is
sent to ``<topic>.dlt`` with the error in its headers and the stream moves on. Losing the
database is not the message's fault: the runner waits and retries without dead-lettering.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Result, insert, literal_column
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import Database, is_unavailable
from shared.events import CloudEvent, dead_letter_topic
from shared.messaging.bus import Bus, BusConsumer, Message
from shared.messaging.tables import dead_letters, inbox
from shared.observability import trace_context

log = logging.getLogger("xiaoneng.consumer")

HandlerFn = Callable[[AsyncSession, CloudEvent], Awaitable[None]]


@dataclass(frozen=True)
class Subscription:
    """A named consumer (its group and inbox key) and its handler per event type."""

    consumer: str
    handlers: dict[str, HandlerFn] = field(default_factory=dict)

    def topics(self, prefix: str) -> list[str]:
        return [f"{prefix}{t}" for t in self.handlers]


def _is_infrastructure_error(exc: BaseException) -> bool:
    # Also the driver's own errors (e.g. "the database system is starting up" while PostgreSQL
    # restarts): counting those as the handler's failures would dead-letter a good message.
    return is_unavailable(exc)


class ConsumerRunner:
    def __init__(
        self,
        db: Database,
        bus: Bus,
        subscription: Subscription,
        *,
        group_prefix: str,
        topic_prefix: str = "",
        max_attempts: int = 5,
        retry_base_seconds: float = 0.05,
    ) -> None:
        self._db = db
        self._bus = bus
        self._sub = subscription
        self._group = f"{group_prefix}{subscription.consumer}"
        self._topic_prefix = topic_prefix
        self._max_attempts = max_attempts
        self._retry_base = retry_base_seconds
        self.processed = 0
        self.dead_lettered = 0

    async def run(self) -> None:
        """Consume until cancelled. A consumer that fails (the broker gone for long, the group
        rebalanced under it, its commit refused) is stopped and started again: what it had not
        committed comes again, and the inbox makes that harmless."""
        while True:
            consumer = await self._start()
            try:
                while True:
                    batch = await consumer.fetch(max_records=200, timeout_s=1.0)
                    if batch:
                        await self._process_batch(consumer, batch)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("consumer %s failed; starting it again", self._sub.consumer)
            finally:
                with contextlib.suppress(Exception):
                    await consumer.stop()
            await asyncio.sleep(2.0)

    async def _start(self) -> BusConsumer:
        topics = self._sub.topics(self._topic_prefix)
        while True:
            try:
                await self._bus.ensure_topics(topics)
                consumer = self._bus.consumer(self._group, topics)
                await consumer.start()
                return consumer
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("consumer %s cannot start yet; retrying", self._sub.consumer)
                await asyncio.sleep(2.0)

    async def _process_batch(self, consumer: BusConsumer, batch: Sequence[Message]) -> None:
        if len(batch) == 1 or not await self._handle_together(batch):
            for message in batch:
                await self._process(message)
        await consumer.commit(batch)

    async def _handle_together(self, batch: Sequence[Message]) -> bool:
        """Every message of ``batch`` in one transaction: one inbox ``INSERT`` and one commit for
        the batch instead of one per event, in the batch's order.

        Anything unusual (a malformed event, a type without a handler, a handler's error, the
        database) rolls the whole batch back and returns False: the caller then handles it one
        message at a time, with the per-message retries, skips and dead letters. The inbox makes
        the second pass safe.
        """
        work: list[tuple[CloudEvent, HandlerFn]] = []
        for message in batch:
            try:
                event = CloudEvent.from_kafka(message.headers, message.value)
            except (ValueError, UnicodeDecodeError):
                return False
            handler = self._sub.handlers.get(event.type)
            if handler is None:
                return False
            work.append((event, handler))
        try:
            async with self._db.transaction() as session:
                claimed = await session.execute(
                    pg_insert(inbox)
                    .values(
                        [
                            {"consumer": self._sub.consumer, "event_id": e.id, "event_type": e.type}
                            for e, _ in work
                        ]
                    )
                    .on_conflict_do_nothing()
                    .returning(inbox.c.event_id)
                )
                fresh = set(claimed.scalars())
                for event, handler in work:
                    if event.id in fresh:
                        fresh.discard(event.id)  # the same event twice in one batch runs once
                        with trace_context(event.traceparent):
                            await handler(session, event)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.info("batch of %d on %s failed (%s); one at a time", len(batch), self._sub.consumer, exc)
            return False
        self.processed += len(work)  # as one at a time: every message, a duplicate skipped included
        return True

    async def _process(self, message: Message) -> None:
        try:
            event = CloudEvent.from_kafka(message.headers, message.value)
        except (ValueError, UnicodeDecodeError) as exc:
            await self._dead_letter(message, None, f"malformed event: {exc}")
            return
        handler = self._sub.handlers.get(event.type)
        if handler is None:
            log.warning("no handler for %s on %s; skipped", event.type, message.topic)
            return
        attempt = 0
        while True:
            attempt += 1
            try:
                with trace_context(event.traceparent):
                    await self._handle_once(event, handler)
                self.processed += 1
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if _is_infrastructure_error(exc):
                    log.warning("database unavailable while handling %s; waiting", event.id)
                    await asyncio.sleep(min(5.0, self._retry_base * 2 ** min(attempt, 8)))
                    attempt = 0
                    continue
                log.warning(
                    "handler %s failed on %s (attempt %d/%d): %s",
                    self._sub.consumer,
                    event.id,
                    attempt,
                    self._max_attempts,
                    exc,
                )
                if attempt >= self._max_attempts:
                    await self._dead_letter(message, event.id, f"{type(exc).__name__}: {exc}")
                    return
                await asyncio.sleep(self._retry_base * 2 ** (attempt - 1))

    async def _handle_once(self, event: CloudEvent, handler: HandlerFn) -> None:
        async with self._db.transaction() as session:
            inserted: Result[Any] = await session.execute(
                pg_insert(inbox)
                .values(consumer=self._sub.consumer, event_id=event.id, event_type=event.type)
                .on_conflict_do_nothing()
                .returning(literal_column("1"))
            )
            if inserted.first() is None:
                log.info("event %s already handled by %s; skipped", event.id, self._sub.consumer)
                return
            await handler(session, event)

    async def _dead_letter(self, message: Message, event_id: str | None, error: str) -> None:
        dlt = dead_letter_topic(message.topic)
        headers = (
            *message.headers,
            ("dlt-error", error[:2000].encode()),
            ("dlt-original-topic", message.topic.encode()),
            ("dlt-original-partition", str(message.partition).encode()),
            ("dlt-original-offset", str(message.offset).encode()),
            ("dlt-consumer", self._sub.consumer.encode()),
        )
        await self._bus.ensure_topics([dlt])
        await self._bus.publish([Message(topic=dlt, key=message.key, value=message.value, headers=headers)])
        async with self._db.transaction() as session:
            await session.execute(
                insert(dead_letters).values(
                    consumer=self._sub.consumer, topic=message.topic, event_id=event_id, error=error[:2000]
                )
            )
        self.dead_lettered += 1
        log.error("message %s@%d dead-lettered to %s: %s", message.topic, message.offset, dlt, error)
