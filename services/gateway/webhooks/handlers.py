"""Every domain event becomes a webhook message with one delivery per subscribed endpoint.

The gateway consumes every topic (one subscription over every contract). The message and its
deliveries are written in the consumer's inbox transaction, so an event is either fully queued
for delivery or not consumed yet: a gateway restart loses none. The ``webhook-id`` is derived
from the event id, so the same event always carries the same id. An endpoint whose owner may
not read the event (``visibility``) gets no delivery at all, not even a failed one.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import event as sa_event
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.gateway import domain
from services.gateway.tables import webhook_deliveries, webhook_endpoints, webhook_messages
from services.gateway.webhooks import visibility
from services.gateway.webhooks.service import deliverable_to, owner_of
from shared.events import CONTRACTS, CloudEvent
from shared.events.contracts import WebhookEndpointDisabled
from shared.messaging.consumer import Subscription

CONSUMER = "webhooks"


def message_id_of(event: CloudEvent) -> str:
    return f"msg_{event.id}"


async def queue_event(session: AsyncSession, event: CloudEvent, *, now: datetime, first_delay: float) -> int:
    """Store ``event`` as a message and queue a delivery per matching endpoint; returns how many.

    Endpoints that are disabled get a failed delivery, so that recovering them once re-enabled
    brings what they missed. Endpoints whose owner may not read the event get none.
    """
    message_id = message_id_of(event)
    await session.execute(
        pg_insert(webhook_messages)
        .values(
            id=message_id,
            event_type=event.type,
            payload=domain.webhook_body(event.type, event.time, event.data),
            occurred_at=event.time,
            created_at=now,
        )
        .on_conflict_do_nothing()
    )
    # Announcements about an endpoint go to its owner only.
    owner = str(event.data.get("owner")) if event.type == WebhookEndpointDisabled.event_type() else None
    E = webhook_endpoints
    candidates = (
        await session.execute(
            select(E.c.id, E.c.enabled, E.c.owner, E.c.owner_roles, E.c.owner_department).where(
                deliverable_to(event.type, owner, event.time)
            )
        )
    ).all()
    endpoints = [e for e in candidates if visibility.admits(event.type, event.data, owner_of(e))]
    if not endpoints:
        return 0
    rows = [
        {
            "id": f"dlv_{secrets.token_hex(8)}",
            "endpoint_id": e.id,
            "message_id": message_id,
            "event_type": event.type,
            "status": "pending" if e.enabled else "failed",
            "attempts": 0,
            "trigger": "event",
            "next_attempt_at": now + timedelta(seconds=first_delay) if e.enabled else None,
            "last_error": None if e.enabled else "endpoint disabled",
            "failed_at": None if e.enabled else now,
            "created_at": now,
        }
        for e in endpoints
    ]
    await session.execute(pg_insert(webhook_deliveries).values(rows).on_conflict_do_nothing())
    return sum(1 for e in endpoints if e.enabled)


def subscription(
    clock: Callable[[], datetime], first_delay: Callable[[], float], wake: Callable[[], None]
) -> Subscription:
    async def deliver_to_webhooks(session: AsyncSession, event: CloudEvent) -> None:
        if await queue_event(session, event, now=clock(), first_delay=first_delay()):
            # Wake the delivery worker once the deliveries are committed, not before.
            sa_event.listen(session.sync_session, "after_commit", lambda _: wake(), once=True)

    return Subscription(CONSUMER, {c.event_type(): deliver_to_webhooks for c in CONTRACTS})
