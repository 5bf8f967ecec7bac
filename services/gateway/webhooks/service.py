"""Webhook use cases: endpoints (create with a ping, read, change, delete), secrets and their
rotation, deliveries (list, read with the attempt log, resend one, recover failed ones).

A client manages its own endpoints; ``admin`` sees every endpoint. Someone else's endpoint is
reported as not found. An endpoint keeps its owner's roles and department claim (from the token
that created it, refreshed when the owner changes it): deliveries are filtered by what they may
read (``visibility``).
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Row, Table, and_, delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.gateway import domain
from services.gateway.runtime import GatewayRuntime
from services.gateway.tables import webhook_attempts, webhook_deliveries, webhook_endpoints, webhook_messages
from services.gateway.webhooks import schemas, targets
from services.gateway.webhooks.events import PING_TYPE, Ping, subscribable_types
from shared.auth import Principal
from shared.events.contracts import WebhookEndpointDisabled
from shared.pagination import Keyset, PageParams
from shared.problems import Problem
from shared.rules import Missing, RuleViolation

DisableReason = Literal["gone", "sustained-failure", "owner"]

E, D, M, A = webhook_endpoints, webhook_deliveries, webhook_messages, webhook_attempts
# Both lists page oldest first.
ENDPOINT_ORDER = Keyset(E.c.created_at, E.c.id, descending=False)
DELIVERY_ORDER = Keyset(D.c.created_at, D.c.id, descending=False)


def etag(version: int) -> str:
    return f'"{version}"'


def _visible(principal: Principal) -> Any:
    return True if "admin" in principal.roles else E.c.owner == principal.client_id


async def _check_target(rt: GatewayRuntime, url: str) -> None:
    reason = await targets.refusal(url, rt.settings, rt.common)
    if reason is not None:
        raise RuleViolation(f"不允许的 webhook 地址: {reason}", kind="webhook-target-refused", field="url")


def _check_if_match(if_match: str | None, version: int) -> None:
    if if_match is not None and not domain.if_match_admits(if_match, etag(version)):
        raise Problem(412, "端点已被修改（ETag 不符），请重新读取后再提交", kind="precondition-failed")


def owner_rights(principal: Principal) -> dict[str, Any]:
    """What an endpoint remembers of its owner: the deliveries it may receive follow from it."""
    return {"owner_roles": sorted(principal.roles), "owner_department": principal.department}


def owner_of(row: Any) -> Principal:
    """The principal an endpoint acts for (``row`` has owner, owner_roles, owner_department)."""
    return Principal(
        client_id=row.owner, roles=frozenset(row.owner_roles or ()), department=row.owner_department
    )


def new_message(
    message_id: str, event_type: str, occurred_at: datetime, data: Mapping[str, Any], now: datetime
) -> dict[str, Any]:
    """A webhook message: the body every delivery of it sends (and signs), serialised once."""
    payload = domain.webhook_body(event_type, occurred_at, data)
    return {
        "id": message_id,
        "event_type": event_type,
        "payload": payload,
        "occurred_at": occurred_at,
        "created_at": now,
    }


def new_delivery(
    endpoint_id: str,
    message_id: str,
    event_type: str,
    now: datetime,
    *,
    first_delay: float,
    enabled: bool = True,
) -> dict[str, Any]:
    """A delivery of a message to an endpoint, due after the schedule's first delay.

    A disabled endpoint's delivery fails at once, so that recovering it once re-enabled brings
    what it missed.
    """
    return {
        "id": f"dlv_{secrets.token_hex(8)}",
        "endpoint_id": endpoint_id,
        "message_id": message_id,
        "event_type": event_type,
        "status": "pending" if enabled else "failed",
        "attempts": 0,
        "trigger": "event",
        "next_attempt_at": now + timedelta(seconds=first_delay) if enabled else None,
        "last_error": None if enabled else "endpoint disabled",
        "failed_at": None if enabled else now,
        "created_at": now,
    }


async def locked(session: AsyncSession, table: Table, row_id: str) -> Row[Any] | None:
    """The row ``row_id`` of ``table``, locked for this transaction."""
    return (await session.execute(select(table).where(table.c.id == row_id).with_for_update())).first()


async def create_endpoint(
    rt: GatewayRuntime, body: schemas.EndpointCreate, principal: Principal
) -> schemas.EndpointCreated:
    event_types = domain.subscribed_types(body.event_types, subscribable_types())
    await _check_target(rt, body.url)
    now = rt.clock()
    endpoint = {
        "id": f"ep_{secrets.token_hex(8)}",
        "owner": principal.client_id,
        **owner_rights(principal),
        "url": body.url,
        "description": body.description,
        "event_types": event_types,
        "enabled": True,
        "secret": domain.new_secret(),
        "version": 1,
        "created_at": now,
        "updated_at": now,
    }
    async with rt.db.transaction() as session:
        row = (await session.execute(insert(E).values(endpoint).returning(*E.c))).one()
        await _queue_ping(rt, session, row.id, now)
    rt.wake_worker()
    return schemas.EndpointCreated.model_validate(row)


async def _queue_ping(rt: GatewayRuntime, session: AsyncSession, endpoint_id: str, now: datetime) -> None:
    """The first message of a new endpoint, so its owner sees signatures verify at once."""
    message_id = f"msg_{uuid.uuid4()}"
    ping = Ping(endpoint_id=endpoint_id, message="效能 Xiaoneng webhook 端点已创建")
    await session.execute(
        insert(M).values(new_message(message_id, PING_TYPE, now, ping.model_dump(mode="json"), now))
    )
    first_delay = rt.settings.webhook_retry_schedule_seconds[0]
    await session.execute(
        insert(D).values(new_delivery(endpoint_id, message_id, PING_TYPE, now, first_delay=first_delay))
    )


async def _endpoint(
    session: AsyncSession, endpoint_id: str, principal: Principal, *, lock: bool = False
) -> Row[Any]:
    query = select(E).where(E.c.id == endpoint_id, _visible(principal))
    if lock:
        query = query.with_for_update()
    row = (await session.execute(query)).first()
    if row is None:
        raise Missing(f"没有编号为 {endpoint_id} 的 webhook 端点")
    return row


async def get_endpoint(
    rt: GatewayRuntime, endpoint_id: str, principal: Principal
) -> tuple[schemas.EndpointView, str]:
    async with rt.db.reader() as session:
        row = await _endpoint(session, endpoint_id, principal)
    return schemas.EndpointView.model_validate(row), etag(row.version)


async def list_endpoints(rt: GatewayRuntime, principal: Principal, page: PageParams) -> schemas.EndpointPage:
    query = ENDPOINT_ORDER.apply(select(E).where(_visible(principal)), page)
    async with rt.db.reader() as session:
        rows, cursor = ENDPOINT_ORDER.cut((await session.execute(query)).all(), page)
    return schemas.EndpointPage(
        items=[schemas.EndpointView.model_validate(r) for r in rows], next_cursor=cursor
    )


async def disable_endpoint(
    rt: GatewayRuntime,
    session: AsyncSession,
    endpoint: Row[Any],
    reason: DisableReason,
    now: datetime,
    *,
    failing_since: datetime | None = None,
    last_status_code: int | None = None,
) -> None:
    """Stop delivering to ``endpoint``; its pending deliveries fail (recoverable once re-enabled).

    A disable the owner did not ask for is announced with ``webhook-endpoint-disabled``.
    """
    await session.execute(
        update(E)
        .where(E.c.id == endpoint.id)
        .values(
            enabled=False, disabled_reason=reason, disabled_at=now, version=E.c.version + 1, updated_at=now
        )
    )
    await session.execute(
        update(D)
        .where(D.c.endpoint_id == endpoint.id, D.c.status == "pending")
        .values(
            status="failed", failed_at=now, next_attempt_at=None, last_error=f"endpoint disabled ({reason})"
        )
    )
    if reason != "owner":
        announced: Literal["gone", "sustained-failure"] = reason
        disabled = WebhookEndpointDisabled(
            endpoint_id=endpoint.id,
            owner=endpoint.owner,
            url=endpoint.url,
            reason=announced,
            failing_since=failing_since or endpoint.failing_since,
            disabled_at=now,
            last_status_code=last_status_code,
        )
        await rt.ctx.emit(session, disabled)


async def _changes(rt: GatewayRuntime, body: schemas.EndpointUpdate) -> dict[str, Any]:
    """The endpoint's own fields the request changes, checked as on creation."""
    changes = body.model_dump(include={"url", "description", "event_types"}, exclude_none=True)
    if "url" in changes:
        await _check_target(rt, changes["url"])
    if "event_types" in changes:
        changes["event_types"] = domain.subscribed_types(changes["event_types"], subscribable_types())
    return changes


async def update_endpoint(
    rt: GatewayRuntime,
    endpoint_id: str,
    body: schemas.EndpointUpdate,
    principal: Principal,
    if_match: str | None,
) -> tuple[schemas.EndpointView, str]:
    changes = await _changes(rt, body)
    now = rt.clock()
    async with rt.db.transaction() as session:
        row = await _endpoint(session, endpoint_id, principal, lock=True)
        _check_if_match(if_match, row.version)
        # The owner acts with its current rights; an admin changing someone's endpoint does not
        # lend it its own.
        rights = owner_rights(principal)
        kept = {"owner_roles": list(row.owner_roles), "owner_department": row.owner_department}
        if principal.client_id == row.owner and kept != rights:
            changes.update(rights)
        if body.enabled is False and row.enabled:
            await disable_endpoint(rt, session, row, "owner", now)
        elif body.enabled is True and not row.enabled:
            changes.update(enabled=True, disabled_reason=None, disabled_at=None, failing_since=None)
        if changes:
            await session.execute(
                update(E)
                .where(E.c.id == endpoint_id)
                .values(**changes, version=E.c.version + 1, updated_at=now)
            )
        row = (await session.execute(select(E).where(E.c.id == endpoint_id))).one()
    return schemas.EndpointView.model_validate(row), etag(row.version)


async def delete_endpoint(
    rt: GatewayRuntime, endpoint_id: str, principal: Principal, if_match: str | None
) -> None:
    async with rt.db.transaction() as session:
        row = await _endpoint(session, endpoint_id, principal, lock=True)
        _check_if_match(if_match, row.version)
        await session.execute(delete(E).where(E.c.id == endpoint_id))


def active_secrets(row: Any, now: datetime) -> list[str]:
    """The current secret, and the previous one while its overlap lasts."""
    active = [row.secret]
    if row.previous_secret and row.previous_secret_expires_at and row.previous_secret_expires_at > now:
        active.append(row.previous_secret)
    return active


async def get_secret(rt: GatewayRuntime, endpoint_id: str, principal: Principal) -> schemas.SecretView:
    now = rt.clock()
    async with rt.db.reader() as session:
        row = await _endpoint(session, endpoint_id, principal)
    overlap = row.previous_secret_expires_at if len(active_secrets(row, now)) > 1 else None
    return schemas.SecretView(secret=row.secret, previous_secret_expires_at=overlap)


async def rotate_secret(rt: GatewayRuntime, endpoint_id: str, principal: Principal) -> schemas.SecretView:
    now = rt.clock()
    overlap = timedelta(seconds=rt.settings.webhook_secret_overlap_seconds)
    secret = domain.new_secret()
    async with rt.db.transaction() as session:
        row = await _endpoint(session, endpoint_id, principal, lock=True)
        expires = now + overlap if overlap else None
        await session.execute(
            update(E)
            .where(E.c.id == endpoint_id)
            .values(
                secret=secret,
                previous_secret=row.secret if expires else None,
                previous_secret_expires_at=expires,
                version=E.c.version + 1,
                updated_at=now,
            )
        )
    return schemas.SecretView(secret=secret, previous_secret_expires_at=expires)


async def list_deliveries(
    rt: GatewayRuntime,
    endpoint_id: str,
    principal: Principal,
    page: PageParams,
    status: schemas.DeliveryStatus | None,
) -> schemas.DeliveryPage:
    query = select(D).where(D.c.endpoint_id == endpoint_id)
    if status is not None:
        query = query.where(D.c.status == status)
    query = DELIVERY_ORDER.apply(query, page)
    async with rt.db.reader() as session:
        await _endpoint(session, endpoint_id, principal)
        rows, cursor = DELIVERY_ORDER.cut((await session.execute(query)).all(), page)
    return schemas.DeliveryPage(
        items=[schemas.DeliveryView.model_validate(r) for r in rows], next_cursor=cursor
    )


async def _delivery(session: AsyncSession, delivery_id: str, principal: Principal) -> Row[Any]:
    row = (
        await session.execute(
            select(D, M.c.payload, E.c.owner, E.c.enabled)
            .join(E, E.c.id == D.c.endpoint_id)
            .join(M, M.c.id == D.c.message_id)
            .where(D.c.id == delivery_id, _visible(principal))
        )
    ).first()
    if row is None:
        raise Missing(f"没有编号为 {delivery_id} 的投递")
    return row


async def get_delivery(rt: GatewayRuntime, delivery_id: str, principal: Principal) -> schemas.DeliveryDetail:
    async with rt.db.reader() as session:
        row = await _delivery(session, delivery_id, principal)
        attempts = (
            await session.execute(select(A).where(A.c.delivery_id == delivery_id).order_by(A.c.id))
        ).all()
    return schemas.DeliveryDetail.of(
        row, attempt_log=[schemas.AttemptView.model_validate(a) for a in attempts]
    )


def _queued_again(trigger: Literal["resend", "recover"], now: datetime) -> dict[str, Any]:
    """A delivery put back in the queue: due now, the retry schedule from the start, same webhook-id."""
    return {"status": "pending", "attempts": 0, "trigger": trigger, "next_attempt_at": now, "failed_at": None}


async def resend(rt: GatewayRuntime, delivery_id: str, principal: Principal) -> schemas.DeliveryView:
    now = rt.clock()
    async with rt.db.transaction() as session:
        found = await _delivery(session, delivery_id, principal)
        endpoint = await locked(session, E, found.endpoint_id)
        current = await locked(session, D, delivery_id)
        if endpoint is None or current is None:  # deleted with its endpoint since it was read
            raise Missing(f"没有编号为 {delivery_id} 的投递")
        domain.check_endpoint_enabled(endpoint.enabled)
        domain.check_resendable(current.status)
        row = (
            await session.execute(
                update(D).where(D.c.id == delivery_id).values(_queued_again("resend", now)).returning(*D.c)
            )
        ).one()
    rt.wake_worker()
    return schemas.DeliveryView.model_validate(row)


async def recover(rt: GatewayRuntime, endpoint_id: str, since: datetime, principal: Principal) -> int:
    now = rt.clock()
    async with rt.db.transaction() as session:
        endpoint = await _endpoint(session, endpoint_id, principal, lock=True)
        domain.check_endpoint_enabled(endpoint.enabled)
        result = await session.execute(
            update(D)
            .where(D.c.endpoint_id == endpoint_id, D.c.status == "failed", D.c.created_at >= since)
            .values(_queued_again("recover", now))
        )
    rt.wake_worker()
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def purge_old_messages(rt: GatewayRuntime, now: datetime) -> int:
    """Forget messages past the retention period (their deliveries and attempts go with them)."""
    cutoff = now - timedelta(days=rt.settings.webhook_retention_days)
    pending = select(D.c.id).where(D.c.message_id == M.c.id, D.c.status == "pending").exists()
    async with rt.db.transaction() as session:
        result = await session.execute(delete(M).where(M.c.created_at < cutoff, ~pending))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def deliverable_to(event_type: str, owner: str | None, occurred_at: datetime) -> Any:
    """Endpoints that take ``event_type``: their filter is empty or names it (owner-only events),
    and they existed when the event occurred. An endpoint receives what happens after it is
    created, never a backlog the gateway happens to be still working through."""
    condition = and_(
        or_(func.jsonb_array_length(E.c.event_types) == 0, E.c.event_types.contains([event_type])),
        E.c.created_at <= occurred_at,
    )
    if owner is not None:
        condition = and_(condition, E.c.owner == owner)
    return condition
