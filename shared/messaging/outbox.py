"""Transactional outbox: events are rows written with the state change, then relayed.

``record`` adds the event in the caller's transaction (``record_many`` a batch of them in one
statement). The relay claims unpublished rows with
``FOR UPDATE SKIP LOCKED``, publishes them with the bus's durable send, and marks them
published in the same transaction; if the send fails the claim rolls back and the rows are
tried again. Several relays may run (one per replica): a transaction-scoped advisory lock lets
one of them publish at a time, so two batches never race and events of one aggregate reach
Kafka in the order they were committed; the others take over at once when it stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
from collections.abc import Sequence

from sqlalchemy import ARRAY, Text, bindparam, cast, func, insert, select, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession

from shared.clock import utc_now
from shared.db import OUTBOX_CHANNEL, OUTBOX_DIRTY, Database
from shared.events import CloudEvent, EventData, topic_for
from shared.messaging.bus import Bus, Message
from shared.messaging.tables import outbox
from shared.observability import current_traceparent

log = logging.getLogger("xiaoneng.outbox")

# Advisory lock key of the relay; each service has its own database, so one key serves all.
RELAY_LOCK = 0x6F7574626F78  # "outbox"


async def record(
    session: AsyncSession, data: EventData, *, source: str, topic_prefix: str = ""
) -> CloudEvent:
    """Add ``data`` as a CloudEvent to the outbox in the session's transaction."""
    event = CloudEvent(
        source=source,
        type=data.event_type(),
        subject=data.aggregate_id(),
        data=data.model_dump(mode="json"),
        traceparent=current_traceparent(),
    )
    await session.execute(
        insert(outbox).values(
            event_id=event.id,
            topic=topic_for(type(data), topic_prefix),
            key=event.subject,
            event=event.model_dump(mode="json"),
        )
    )
    session.info[OUTBOX_DIRTY] = True
    return event


async def record_many(
    session: AsyncSession, events: Sequence[EventData], *, source: str, topic_prefix: str = ""
) -> list[CloudEvent]:
    """Add every event of ``events`` to the outbox, in that order, with one ``INSERT``.

    The rows are the ones ``record`` writes, one per event, and ``seq`` follows the given order.
    The columns travel as four arrays unnested in the database: one statement of constant shape
    (compiled once, planned once) whatever the batch size, instead of one bind per value.
    """
    if not events:
        return []
    traceparent = current_traceparent()
    recorded: list[CloudEvent] = []
    columns: dict[str, list[str]] = {"event_id": [], "topic": [], "key": [], "event": []}
    for data in events:
        event = CloudEvent(
            source=source,
            type=data.event_type(),
            subject=data.aggregate_id(),
            data=data.model_dump(mode="json"),
            traceparent=traceparent,
        )
        recorded.append(event)
        columns["event_id"].append(event.id)
        columns["topic"].append(topic_for(type(data), topic_prefix))
        columns["key"].append(event.subject)
        columns["event"].append(event.model_dump_json())
    rows = (
        func.unnest(*(bindparam(name, values, type_=ARRAY(Text)) for name, values in columns.items()))
        .table_valued(*columns, with_ordinality="n")
        .render_derived()
        .alias("batch")
    )
    await session.execute(
        insert(outbox).from_select(
            list(columns),
            select(rows.c.event_id, rows.c.topic, rows.c.key, cast(rows.c.event, JSONB)).order_by(rows.c.n),
        )
    )
    session.info[OUTBOX_DIRTY] = True
    return recorded


def _set_event(event: asyncio.Event, *_: object) -> None:
    event.set()


def to_message(topic: str, key: str, event: CloudEvent) -> Message:
    return Message(topic=topic, key=key.encode(), value=event.kafka_value(), headers=event.kafka_headers())


class OutboxRelay:
    def __init__(
        self,
        db: Database,
        bus: Bus,
        *,
        batch_size: int = 200,
        poll_seconds: float = 0.5,
        crash_before_send: bool = False,
    ) -> None:
        self._db = db
        self._bus = bus
        self._batch_size = batch_size
        self._poll = poll_seconds
        self._crash_before_send = crash_before_send
        self.published = 0
        self.listening = asyncio.Event()  # set while notifications of other processes' commits arrive

    async def relay_once(self) -> int:
        """Publish one batch; returns how many rows were published."""
        async with self._db.transaction() as session:
            if not await session.scalar(select(func.pg_try_advisory_xact_lock(RELAY_LOCK))):
                return 0
            rows = (
                await session.execute(
                    select(outbox.c.seq, outbox.c.topic, outbox.c.key, outbox.c.event)
                    .where(outbox.c.published_at.is_(None))
                    .order_by(outbox.c.seq)
                    .limit(self._batch_size)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            if not rows:
                return 0
            if self._crash_before_send:
                log.critical("fault injection: dying between commit and send", extra={"rows": len(rows)})
                os._exit(137)
            messages = [to_message(r.topic, r.key, CloudEvent.model_validate(r.event)) for r in rows]
            await self._bus.publish(messages)
            await session.execute(
                update(outbox).where(outbox.c.seq.in_([r.seq for r in rows])).values(published_at=utc_now())
            )
        self.published += len(rows)
        return len(rows)

    async def run(self) -> None:
        listening = asyncio.create_task(self._listen(), name="outbox-listener")
        try:
            await self._relay()
        finally:
            listening.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await listening

    async def _listen(self) -> None:
        """Wake the relay on the NOTIFY of any process's commit; on a lost connection, listen again.

        While nobody listens (the database restarting) the relay still polls every
        ``poll_seconds``, so a notification missed meanwhile only delays the rows it announced.
        """
        while True:
            try:
                lost = asyncio.Event()
                async with self._db.listener(OUTBOX_CHANNEL, self._db.outbox_wakeup.set) as connection:
                    connection.add_termination_listener(functools.partial(_set_event, lost))
                    self._db.outbox_wakeup.set()  # rows committed while nobody listened
                    self.listening.set()
                    await lost.wait()
                    self.listening.clear()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("outbox listener lost (%s); listening again", type(exc).__name__)
            await asyncio.sleep(max(self._poll, 1.0))

    async def _relay(self) -> None:
        backoff = self._poll
        while True:
            # Cleared before the claim so a commit made meanwhile still wakes the next round.
            self._db.outbox_wakeup.clear()
            try:
                while await self.relay_once() == self._batch_size:
                    pass
                backoff = self._poll
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox relay failed; will retry")
                backoff = min(backoff * 2, 10.0)
                # Back off for real: new commits must not turn an outage (broker or database
                # down) into a retry per write.
                await asyncio.sleep(backoff)
                continue
            # asyncio.timeout, not wait_for: on 3.11 wait_for swallows a cancellation that arrives
            # as the wake-up fires, and the relay would never stop at shutdown.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(backoff):
                    await self._db.outbox_wakeup.wait()
