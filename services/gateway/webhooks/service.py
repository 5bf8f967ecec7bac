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
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Row, and_, delete, func, insert, or_, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.gateway import domain
from services.gateway.runtime import GatewayRuntime
from services.gateway.tables import webhook_attempts, webhook_deliveries, webhook_endpoints, webhook_messages
from services.gateway.webhooks import targets
from services.gateway.webhooks.events import PING_TYPE, Ping, subscribable_types
from services.gateway.webhooks.schemas import (
    AttemptView,
    DeliveryDetail,
    DeliveryPage,
    DeliveryStatus,
    DeliveryView,
    EndpointCreate,
    EndpointCreated,
    EndpointPage,
    EndpointUpdate,
    EndpointView,
    SecretView,
)
from shared.auth import Principal
from shared.events.contracts import WebhookEndpointDisabled
from shared.messaging import outbox
from shared.pagination import PageParams, encode_cursor
from shared.problems import Problem

DisableReason = Literal["gone", "sustained-failure", "owner"]

E, D, M, A = webhook_endpoints, webhook_deliveries, webhook_messages, webhook_attempts


def etag(version: int) -> str:
    return f'"{version}"'


def endpoint_view(row: Row[Any]) -> EndpointView:
    return EndpointView(
        id=row.id,
        owner=row.owner,
        owner_roles=list(row.owner_roles),
        owner_department=row.owner_department,
        url=row.url,
        description=row.description,
        event_types=list(row.event_types),
        enabled=row.enabled,
        disabled_reason=row.disabled_reason,
        disabled_at=row.disabled_at,
        failing_since=row.failing_since,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def delivery_view(row: Row[Any]) -> DeliveryView:
    return DeliveryView(
        id=row.id,
        endpoint_id=row.endpoint_id,
        message_id=row.message_id,
        event_type=row.event_type,
        status=row.status,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        last_status_code=row.last_status_code,
        last_error=row.last_error,
        created_at=row.created_at,
        succeeded_at=row.succeeded_at,
        failed_at=row.failed_at,
    )


def _visible(principal: Principal) -> Any:
    return True if "admin" in principal.roles else E.c.owner == principal.client_id


def _check_event_types(types: list[str]) -> list[str]:
    unknown = sorted(set(types) - subscribable_types())
    if unknown:
        raise Problem(
            422,
            f"未知的事件类型: {', '.join(unknown)}；可用类型见 GET /api/v1/webhooks/event-types",
            kind="unknown-event-type",
            field="event_types",
        )
    return sorted(set(types))


async def _check_target(rt: GatewayRuntime, url: str) -> None:
    reason = await targets.refusal(url, rt.settings, rt.common)
    if reason is not None:
        raise Problem(422, f"不允许的 webhook 地址: {reason}", kind="webhook-target-refused", field="url")


def _check_if_match(if_match: str | None, version: int) -> None:
    if if_match is None:
        return
    tags = {t.strip().removeprefix("W/") for t in if_match.split(",")}
    if "*" not in tags and etag(version) not in tags:
        raise Problem(412, "端点已被修改（ETag 不符），请重新读取后再提交", kind="precondition-failed")


def owner_rights(principal: Principal) -> dict[str, Any]:
    """What an endpoint remembers of its owner: the deliveries it may receive follow from it."""
    return {"owner_roles": sorted(principal.roles), "owner_department": principal.department}


def owner_of(row: Any) -> Principal:
    """The principal an endpoint acts for (``row`` has owner, owner_roles, owner_department)."""
    return Principal(
        client_id=row.owner, roles=frozenset(row.owner_roles or ()), department=row.owner_department
    )


def first_attempt_at(rt: GatewayRuntime, now: datetime) -> datetime:
    return now + timedelta(seconds=rt.settings.webhook_retry_schedule_seconds[0])


async def create_endpoint(rt: GatewayRuntime, body: EndpointCreate, principal: Principal) -> EndpointCreated:
    event_types = _check_event_types(body.event_types)
    await _check_target(rt, body.url)
    now = rt.clock()
    endpoint_id = f"ep_{secrets.token_hex(8)}"
    secret = domain.new_secret()
    message_id = f"msg_{uuid.uuid4()}"
    ping = Ping(endpoint_id=endpoint_id, message="效能 Xiaoneng webhook 端点已创建")
    async with rt.db.transaction() as session:
        row = (
            await session.execute(
                insert(E)
                .values(
                    id=endpoint_id,
                    owner=principal.client_id,
                    **owner_rights(principal),
                    url=body.url,
                    description=body.description,
                    event_types=event_types,
                    enabled=True,
                    secret=secret,
                    version=1,
                    created_at=now,
                    updated_at=now,
                )
                .returning(*E.c)
            )
        ).one()
        await session.execute(
            insert(M).values(
                id=message_id,
                event_type=PING_TYPE,
                payload=domain.webhook_body(PING_TYPE, now, ping.model_dump(mode="json")),
                occurred_at=now,
                created_at=now,
            )
        )
        await session.execute(
            insert(D).values(
                id=f"dlv_{secrets.token_hex(8)}",
                endpoint_id=endpoint_id,
                message_id=message_id,
                event_type=PING_TYPE,
                status="pending",
                attempts=0,
                trigger="event",
                next_attempt_at=first_attempt_at(rt, now),
                created_at=now,
            )
        )
    if rt.worker is not None:
        rt.worker.wake()
    return EndpointCreated(**endpoint_view(row).model_dump(), secret=secret)


async def _endpoint(
    session: AsyncSession, endpoint_id: str, principal: Principal, *, lock: bool = False
) -> Row[Any]:
    query = select(E).where(E.c.id == endpoint_id, _visible(principal))
    if lock:
        query = query.with_for_update()
    row = (await session.execute(query)).first()
    if row is None:
        raise Problem(404, f"没有编号为 {endpoint_id} 的 webhook 端点", kind="not-found")
    return row


async def get_endpoint(
    rt: GatewayRuntime, endpoint_id: str, principal: Principal
) -> tuple[EndpointView, str]:
    async with rt.db.reader() as session:
        row = await _endpoint(session, endpoint_id, principal)
    return endpoint_view(row), etag(row.version)


async def list_endpoints(rt: GatewayRuntime, principal: Principal, page: PageParams) -> EndpointPage:
    query = select(E).where(_visible(principal))
    if page.cursor is not None:
        try:
            at, last_id = datetime.fromisoformat(str(page.cursor[0])), str(page.cursor[1])
        except (IndexError, ValueError) as exc:
            raise Problem(400, "游标无效，请使用上一页返回的 next_cursor", kind="invalid-cursor") from exc
        query = query.where(tuple_(E.c.created_at, E.c.id) > tuple_(at, last_id))
    async with rt.db.reader() as session:
        rows = (await session.execute(query.order_by(E.c.created_at, E.c.id).limit(page.limit + 1))).all()
    more = len(rows) > page.limit
    rows = rows[: page.limit]
    cursor = encode_cursor([rows[-1].created_at.isoformat(), rows[-1].id]) if more else None
    return EndpointPage(items=[endpoint_view(r) for r in rows], next_cursor=cursor)


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
            enabled=False,
            disabled_reason=reason,
            disabled_at=now,
            version=E.c.version + 1,
            updated_at=now,
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
        await outbox.record(
            session,
            WebhookEndpointDisabled(
                endpoint_id=endpoint.id,
                owner=endpoint.owner,
                url=endpoint.url,
                reason=announced,
                failing_since=failing_since or endpoint.failing_since,
                disabled_at=now,
                last_status_code=last_status_code,
            ),
            source="/xiaoneng/gateway",
            topic_prefix=rt.common.topic_prefix,
        )


async def update_endpoint(
    rt: GatewayRuntime, endpoint_id: str, body: EndpointUpdate, principal: Principal, if_match: str | None
) -> tuple[EndpointView, str]:
    changes: dict[str, Any] = {}
    if body.url is not None:
        await _check_target(rt, body.url)
        changes["url"] = body.url
    if body.description is not None:
        changes["description"] = body.description
    if body.event_types is not None:
        changes["event_types"] = _check_event_types(body.event_types)
    now = rt.clock()
    async with rt.db.transaction() as session:
        row = await _endpoint(session, endpoint_id, principal, lock=True)
        _check_if_match(if_match, row.version)
        # The owner acts with its current rights; an admin changing someone's endpoint does not
        # lend it its own.
        rights = owner_rights(principal)
        if principal.client_id == row.owner and (
            list(row.owner_roles) != rights["owner_roles"]
            or row.owner_department != rights["owner_department"]
        ):
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
    return endpoint_view(row), etag(row.version)


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


async def get_secret(rt: GatewayRuntime, endpoint_id: str, principal: Principal) -> SecretView:
    now = rt.clock()
    async with rt.db.reader() as session:
        row = await _endpoint(session, endpoint_id, principal)
    overlap = row.previous_secret_expires_at if len(active_secrets(row, now)) > 1 else None
    return SecretView(secret=row.secret, previous_secret_expires_at=overlap)


async def rotate_secret(rt: GatewayRuntime, endpoint_id: str, principal: Principal) -> SecretView:
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
    return SecretView(secret=secret, previous_secret_expires_at=expires)


async def list_deliveries(
    rt: GatewayRuntime,
    endpoint_id: str,
    principal: Principal,
    page: PageParams,
    status: DeliveryStatus | None,
) -> DeliveryPage:
    query = select(D).where(D.c.endpoint_id == endpoint_id)
    if status is not None:
        query = query.where(D.c.status == status)
    if page.cursor is not None:
        try:
            at, last_id = datetime.fromisoformat(str(page.cursor[0])), str(page.cursor[1])
        except (IndexError, ValueError) as exc:
            raise Problem(400, "游标无效，请使用上一页返回的 next_cursor", kind="invalid-cursor") from exc
        query = query.where(tuple_(D.c.created_at, D.c.id) > tuple_(at, last_id))
    async with rt.db.reader() as session:
        await _endpoint(session, endpoint_id, principal)
        rows = (await session.execute(query.order_by(D.c.created_at, D.c.id).limit(page.limit + 1))).all()
    more = len(rows) > page.limit
    rows = rows[: page.limit]
    cursor = encode_cursor([rows[-1].created_at.isoformat(), rows[-1].id]) if more else None
    return DeliveryPage(items=[delivery_view(r) for r in rows], next_cursor=cursor)


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
        raise Problem(404, f"没有编号为 {delivery_id} 的投递", kind="not-found")
    return row


async def get_delivery(rt: GatewayRuntime, delivery_id: str, principal: Principal) -> DeliveryDetail:
    async with rt.db.reader() as session:
        row = await _delivery(session, delivery_id, principal)
        attempts = (
            await session.execute(select(A).where(A.c.delivery_id == delivery_id).order_by(A.c.id))
        ).all()
    return DeliveryDetail(
        **delivery_view(row).model_dump(),
        payload=row.payload,
        attempt_log=[
            AttemptView(
                attempted_at=a.attempted_at,
                trigger=a.trigger,
                status_code=a.status_code,
                error=a.error,
                response_body=a.response_body,
                duration_ms=a.duration_ms,
            )
            for a in attempts
        ],
    )


async def resend(rt: GatewayRuntime, delivery_id: str, principal: Principal) -> DeliveryView:
    now = rt.clock()
    async with rt.db.transaction() as session:
        found = await _delivery(session, delivery_id, principal)
        endpoint = (
            await session.execute(select(E).where(E.c.id == found.endpoint_id).with_for_update())
        ).one()
        if not endpoint.enabled:
            raise Problem(409, "端点已停用；请先通过 PATCH 重新启用", kind="endpoint-disabled")
        row = (await session.execute(select(D).where(D.c.id == delivery_id).with_for_update())).one()
        if row.status == "pending":
            raise Problem(409, "该投递仍在排队或重试中", kind="delivery-pending")
        row = (
            await session.execute(
                update(D)
                .where(D.c.id == delivery_id)
                .values(status="pending", attempts=0, trigger="resend", next_attempt_at=now, failed_at=None)
                .returning(*D.c)
            )
        ).one()
    if rt.worker is not None:
        rt.worker.wake()
    return delivery_view(row)


async def recover(rt: GatewayRuntime, endpoint_id: str, since: datetime, principal: Principal) -> int:
    now = rt.clock()
    async with rt.db.transaction() as session:
        endpoint = await _endpoint(session, endpoint_id, principal, lock=True)
        if not endpoint.enabled:
            raise Problem(409, "端点已停用；请先通过 PATCH 重新启用", kind="endpoint-disabled")
        result = await session.execute(
            update(D)
            .where(D.c.endpoint_id == endpoint_id, D.c.status == "failed", D.c.created_at >= since)
            .values(status="pending", attempts=0, trigger="recover", next_attempt_at=now, failed_at=None)
        )
    if rt.worker is not None:
        rt.worker.wake()
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
