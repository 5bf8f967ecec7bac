"""Events in the service tests: putting one on a bus as its service would, and reading what a
service committed to its outbox or what its relay published."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from fastapi import FastAPI
from sqlalchemy import select

from shared.events import CloudEvent, EventData, topic_for
from shared.messaging.bus import Message
from shared.messaging.memory import MemoryBus
from shared.messaging.outbox import to_message
from shared.messaging.tables import outbox


def message_of(
    data: EventData, *, source: str = "/test", at: datetime | None = None, prefix: str = ""
) -> Message:
    """``data`` as a service emits it: a CloudEvent on the contract's topic, keyed by its aggregate
    (``at``: the event's time, else now)."""
    event = CloudEvent(
        source=source,
        type=data.event_type(),
        subject=data.aggregate_id(),
        data=data.model_dump(mode="json"),
        **({"time": at} if at is not None else {}),
    )
    return to_message(topic_for(type(data), prefix), data.aggregate_id(), event)


async def committed(app: FastAPI, contract: type[EventData]) -> list[dict[str, Any]]:
    """The data of the ``contract`` events the service has committed to its outbox, in order."""
    async with app.state.ctx.db.reader() as session:
        rows = await session.execute(
            select(outbox.c.event).where(outbox.c.topic == topic_for(contract)).order_by(outbox.c.seq)
        )
        return [r.event["data"] for r in rows]


def published(bus: MemoryBus, contract: type[EventData], prefix: str = "") -> list[dict[str, Any]]:
    """The data of the ``contract`` events on the in-process bus so far, in order."""
    return [json.loads(m.value) for m in bus.messages(topic_for(contract, prefix))]
