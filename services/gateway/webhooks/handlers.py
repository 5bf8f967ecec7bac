"""Every domain event becomes a webhook message with one delivery per subscribed endpoint.

The gateway consumes every topic (one subscription over every contract). The message and its
deliveries are written in the consumer's inbox transaction, so an event is either fully queued
for delivery or not consumed yet: a gateway restart loses none. The ``webhook-id`` is derived
from the event id, so the same event always carries the same id. An endpoint whose owner may
not read the event (``visibility``) gets no delivery at all, not even a failed one.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import event as sa_event
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.gateway.tables import webhook_deliveries, webhook_endpoints, webhook_messages
from services.gateway.webhooks import visibility
from services.gateway.webhooks.service import deliverable_to, new_delivery, new_message, owner_of
from shared.clock import Clock
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
    message = new_message(message_id, event.type, event.time, event.data, now)
    await session.execute(pg_insert(webhook_messages).values(message).on_conflict_do_nothing())
    # Announcements about an endpoint go to its owner only.
    owner = str(event.data.get("owner")) if event.type == WebhookEndpointDisabled.event_type() else None
    E = webhook_endpoints
    # FOR SHARE: an endpoint being disabled right now (its UPDATE holds the row) is read once that
    # commits, so no pending delivery is queued for an endpoint that is already disabled; and a
    # disable that comes after waits for this transaction, then fails the deliveries it queued.
    candidates = (
        await session.execute(
            select(E.c.id, E.c.enabled, E.c.owner, E.c.owner_roles, E.c.owner_department)
            .where(deliverable_to(event.type, owner, event.time))
            .order_by(E.c.id)
            .with_for_update(read=True)
        )
    ).all()
    endpoints = [e for e in candidates if visibility.admits(event.type, event.data, owner_of(e))]
    if not endpoints:
        return 0
    rows = [
        new_delivery(e.id, message_id, event.type, now, first_delay=first_delay, enabled=e.enabled)
        for e in endpoints
    ]
    await session.execute(pg_insert(webhook_deliveries).values(rows).on_conflict_do_nothing())
    return sum(1 for e in endpoints if e.enabled)


def subscription(clock: Clock, first_delay: Callable[[], float], wake: Callable[[], None]) -> Subscription:
    async def deliver_to_webhooks(session: AsyncSession, event: CloudEvent) -> None:
        if await queue_event(session, event, now=clock(), first_delay=first_delay()):
            # Wake the delivery worker once the deliveries are committed, not before.
            sa_event.listen(session.sync_session, "after_commit", lambda _: wake(), once=True)

    return Subscription(CONSUMER, {c.event_type(): deliver_to_webhooks for c in CONTRACTS})
