"""Registered API clients and the client-credentials grant (embedded mode and tests).

Only a scrypt hash of each secret is stored. Checking a secret costs tens of milliseconds of CPU,
so it runs in a few worker threads (``hashlib.scrypt`` releases the GIL), never on the event
loop that every app of the embedded mode shares; an unknown or disabled client id costs the same
check against a stand-in, so the time of an answer does not tell which ids exist; and failed
attempts per id are limited (``FailedAttempts``). The guard asks ``Registry.is_active`` about
every token this issuer signed, so a deleted or disabled client's tokens stop working (at most
``client_cache_seconds`` later).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import RowMapping, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from starlette.applications import Starlette

from services.gateway.domain import FailedAttempts
from services.gateway.settings import GatewaySettings
from services.gateway.tables import api_clients
from shared.auth import ROLES
from shared.db import Database

_SCRYPT = {"n": 2**14, "r": 8, "p": 1}
# Checked against when there is no usable hash (unknown id, disabled client, unreadable hash):
# the same work as a real check, and never a match.
_STAND_IN_SALT = secrets.token_bytes(16)
_STAND_IN_DIGEST = secrets.token_bytes(64)
# Longer ids cannot be registered (the column holds 128); they share one failure count.
_MAX_CLIENT_ID = 128
# Columns that, where the table has them, say a client may no longer sign in or use its tokens.
_OFF_FLAGS = ("disabled", "disabled_at", "deleted_at", "revoked_at")
_STATUS_CACHE_ENTRIES = 10_000


def _kdf(secret: bytes, salt: bytes) -> bytes:
    return hashlib.scrypt(secret, salt=salt, **_SCRYPT)


def hash_secret(secret: str) -> str:
    salt = secrets.token_bytes(16)
    digest = _kdf(secret.encode(), salt)
    return f"scrypt${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def _parse(stored: str | None) -> tuple[bytes, bytes] | None:
    if stored is None:
        return None
    try:
        scheme, salt_b64, digest_b64 = stored.split("$")
        if scheme != "scrypt":
            return None
        return base64.b64decode(salt_b64, validate=True), base64.b64decode(digest_b64, validate=True)
    except (ValueError, binascii.Error):
        return None


def verify_secret(secret: str, stored: str | None) -> bool:
    """Whether ``secret`` matches ``stored``; the same scrypt work when there is nothing to match."""
    parsed = _parse(stored)
    salt, digest = parsed if parsed is not None else (_STAND_IN_SALT, _STAND_IN_DIGEST)
    matches = hmac.compare_digest(_kdf(secret.encode(), salt), digest)
    return matches and parsed is not None


def _active(row: RowMapping) -> bool:
    return all(not row.get(flag) for flag in _OFF_FLAGS) and row.get("enabled", True) is not False


class LockedOut(Exception):
    """Too many failed attempts for this client id; ``retry_after`` seconds until the next."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"locked for {retry_after} s")
        self.retry_after = retry_after


class Registry:
    """The gateway's view of its registered clients: sign-in, and whether a client is still on."""

    def __init__(
        self, db: Database, settings: GatewaySettings, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.db = db
        self._kdf_pool = ThreadPoolExecutor(
            max_workers=settings.token_kdf_workers, thread_name_prefix="xn-client-kdf"
        )
        self._failures = FailedAttempts(settings.token_max_failures, settings.token_failure_window_seconds)
        self._cache_seconds = settings.client_cache_seconds
        self._status: dict[str, tuple[bool, float]] = {}
        self._clock = clock

    async def authenticate(self, client_id: str, secret: str) -> dict[str, Any] | None:
        """The client's id, roles and department if ``secret`` is its secret; None otherwise.

        Raises ``LockedOut`` (before any work) once the id has failed too often.
        """
        key = client_id if len(client_id) <= _MAX_CLIENT_ID else "(too long)"
        started = self._clock()
        wait = self._failures.begin(key, started)
        if wait is not None:
            raise LockedOut(wait)
        row = await self._row(client_id)
        stored = str(row["secret_hash"]) if row is not None and _active(row) else None
        loop = asyncio.get_running_loop()
        if not await loop.run_in_executor(self._kdf_pool, verify_secret, secret, stored) or row is None:
            return None
        self._failures.succeeded(key, started)
        return {"client_id": row["client_id"], "department": row["department"], "roles": list(row["roles"])}

    async def is_active(self, client_id: str) -> bool:
        """Whether the client still exists and is not disabled (looked up at most every few s)."""
        now = self._clock()
        cached = self._status.get(client_id)
        if cached is not None and now - cached[1] < self._cache_seconds:
            return cached[0]
        row = await self._row(client_id)
        active = row is not None and _active(row)
        if len(self._status) >= _STATUS_CACHE_ENTRIES:
            self._status.clear()
        self._status[client_id] = (active, now)
        return active

    async def _row(self, client_id: str) -> RowMapping | None:
        async with self.db.reader() as session:
            row = (
                await session.execute(select(api_clients).where(api_clients.c.client_id == client_id))
            ).first()
        return row._mapping if row is not None else None


def registry_of(app: Starlette) -> Registry:
    """The running gateway's registry, made on first use (one per gateway database)."""
    runtime = app.state.gateway
    registry: Registry | None = getattr(app.state, "client_registry", None)
    if registry is None or registry.db is not runtime.db:
        registry = Registry(runtime.db, runtime.settings)
        app.state.client_registry = registry
    return registry


async def register_client(
    db: Database,
    *,
    client_id: str,
    name: str,
    roles: list[str],
    department: str | None = None,
    secret: str | None = None,
) -> str:
    """Create or replace a client; returns its secret (shown once)."""
    unknown = sorted(set(roles) - set(ROLES))
    if unknown:
        raise ValueError(f"unknown roles: {', '.join(unknown)}")
    secret = secret or secrets.token_urlsafe(24)
    values = {
        "client_id": client_id,
        "secret_hash": await asyncio.to_thread(hash_secret, secret),
        "name": name,
        "department": department,
        "roles": roles,
    }
    async with db.transaction() as session:
        stmt = pg_insert(api_clients).values(**values)
        await session.execute(stmt.on_conflict_do_update(index_elements=["client_id"], set_=values))
    return secret
