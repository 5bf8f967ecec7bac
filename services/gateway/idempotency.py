"""Idempotency-Key records in the gateway database.

A creating POST with ``Idempotency-Key`` first claims ``(client, key)``. The claim holds the
request's fingerprint (method, path, query and body); the response is stored when the request
finishes. A repeat with the same fingerprint replays the stored response; with another
fingerprint it is refused (422); while the first is still running it is refused (409). Records
expire after ``idempotency_ttl_seconds``. Responses that say the request did not run to a
result (401, 403, 429, 5xx, unreachable upstream) are not kept, so the client may retry with
the same key. An upstream answer cut short (the service died mid-response) is one of them: the
proxy reads every answer whole before sending it and turns a cut one into a 502, so what is
stored here is always a response the service finished.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from services.gateway.tables import idempotency_keys
from shared.db import Database

Outcome = Literal["proceed", "replay", "running", "mismatch"]

# Responses that record an outcome a retry would reproduce.
_NOT_KEPT = {401, 403, 408, 425, 429}
MAX_STORED_BODY = 1_048_576
_SKIPPED_HEADERS = {
    "content-length",
    "date",
    "server",
    "x-request-id",
    "ratelimit",
    "ratelimit-policy",
    "transfer-encoding",
    "connection",
}


@dataclass(frozen=True)
class StoredResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


@dataclass(frozen=True)
class Claim:
    outcome: Outcome
    stored: StoredResponse | None = None


def keeps(status: int) -> bool:
    return status < 500 and status not in _NOT_KEPT


def storable_headers(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(k, v) for k, v in headers if k.lower() not in _SKIPPED_HEADERS]


async def claim(
    db: Database,
    *,
    scope: str,
    key: str,
    fingerprint: str,
    method: str,
    path: str,
    now: datetime,
    ttl: timedelta,
    lock: timedelta,
) -> Claim:
    t = idempotency_keys
    fresh = {
        "fingerprint": fingerprint,
        "method": method,
        "path": path,
        "state": "running",
        "locked_until": now + lock,
        "response_status": None,
        "response_headers": None,
        "response_body": None,
        "created_at": now,
        "expires_at": now + ttl,
    }
    async with db.transaction() as session:
        while True:
            inserted = await session.execute(
                pg_insert(t).values(scope=scope, key=key, **fresh).on_conflict_do_nothing().returning(t.c.key)
            )
            if inserted.first() is not None:
                return Claim("proceed")
            row = (
                await session.execute(select(t).where(t.c.scope == scope, t.c.key == key).with_for_update())
            ).first()
            # None: the request that held the key released it between the two statements (its
            # answer was not kept); each statement sees what is committed, so claim it again.
            if row is not None:
                break
        mine = (t.c.scope == scope) & (t.c.key == key)
        if row.expires_at <= now:
            await session.execute(update(t).where(mine).values(**fresh))
            return Claim("proceed")
        if row.fingerprint != fingerprint:
            return Claim("mismatch")
        if row.state == "running":
            if row.locked_until > now:
                return Claim("running")
            # The first request never finished (its gateway died): this one takes over.
            await session.execute(update(t).where(mine).values(locked_until=now + lock))
            return Claim("proceed")
        return Claim(
            "replay",
            StoredResponse(
                status=row.response_status,
                headers=[(str(k), str(v)) for k, v in row.response_headers or []],
                body=bytes(row.response_body or b""),
            ),
        )


async def complete(db: Database, *, scope: str, key: str, response: StoredResponse) -> None:
    t = idempotency_keys
    async with db.transaction() as session:
        await session.execute(
            update(t)
            .where(t.c.scope == scope, t.c.key == key)
            .values(
                state="completed",
                response_status=response.status,
                response_headers=[list(h) for h in response.headers],
                response_body=response.body,
            )
        )


async def release(db: Database, *, scope: str, key: str) -> None:
    """Forget a claim whose request produced no result worth replaying."""
    t = idempotency_keys
    async with db.transaction() as session:
        await session.execute(delete(t).where(t.c.scope == scope, t.c.key == key, t.c.state == "running"))


async def purge_expired(db: Database, now: datetime) -> int:
    t = idempotency_keys
    async with db.transaction() as session:
        result = await session.execute(delete(t).where(t.c.expires_at <= now))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
