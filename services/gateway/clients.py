"""Registered API clients and the client-credentials grant (embedded mode and tests).

Only a hash of each secret is stored (``hash_secret``). Checking a secret costs tens of milliseconds of CPU,
so it runs in a few worker threads (``hashlib.scrypt`` releases the GIL), never on the event
loop that every app of the embedded mode shares; an unknown or disabled client id costs the same
check against a stand-in, so the time of an answer does not tell which ids exist; and failed
attempts per id are limited (``FailedAttempts``). The guard asks ``Registry.is_active`` about
every token this issuer signed (``Registry.admits``), so the tokens of a client deleted, disabled
or given another secret, roles or department stop working: at once on the gateway that made the
change, at most ``client_cache_seconds`` later on the others.
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
from datetime import datetime
from typing import Any

from sqlalchemy import RowMapping, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from starlette.applications import Starlette

from services.gateway.domain import FailedAttempts
from services.gateway.settings import GatewaySettings
from services.gateway.tables import api_client_changes, api_clients
from shared.auth import ROLES, Principal
from shared.clock import utc_now
from shared.db import Database
from shared.observability import request_id_var

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


def _keyed(secret: bytes, salt: bytes) -> bytes:
    return hmac.new(salt, secret, hashlib.sha256).digest()


def new_secret() -> str:
    """A secret made here: 256 random bits, shown once."""
    return secrets.token_urlsafe(32)


def hash_secret(secret: str, *, generated: bool = False) -> str:
    """The stored form of a secret.

    A secret someone chose (``--secret``) may be guessable, so it is stretched with scrypt. A
    secret this gateway generated holds 256 random bits: no guessing can find it, stretched or not
    (what NIST SP 800-63B §5.1.1.2 stretches for is memorised secrets), so a salted HMAC-SHA-256
    is enough and a panel of a hundred accounts is stored in milliseconds instead of seconds.
    """
    salt = secrets.token_bytes(16)
    scheme, digest = (
        ("hmac-sha256", _keyed(secret.encode(), salt))
        if generated
        else (
            "scrypt",
            _kdf(secret.encode(), salt),
        )
    )
    return f"{scheme}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def _parse(stored: str | None) -> tuple[str, bytes, bytes] | None:
    if stored is None:
        return None
    try:
        scheme, salt_b64, digest_b64 = stored.split("$")
        if scheme not in ("scrypt", "hmac-sha256"):
            return None
        return scheme, base64.b64decode(salt_b64, validate=True), base64.b64decode(digest_b64, validate=True)
    except (ValueError, binascii.Error):
        return None


def verify_secret(secret: str, stored: str | None) -> bool:
    """Whether ``secret`` matches ``stored``; the same scrypt work whatever is stored, or nothing,
    so the time of an answer tells neither whether the id exists nor how its secret was made."""
    parsed = _parse(stored)
    scheme, salt, digest = parsed if parsed is not None else ("scrypt", _STAND_IN_SALT, _STAND_IN_DIGEST)
    stretched = _kdf(secret.encode(), salt if scheme == "scrypt" else _STAND_IN_SALT)
    candidate = stretched if scheme == "scrypt" else _keyed(secret.encode(), salt)
    return hmac.compare_digest(candidate, digest) and parsed is not None


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
        # Client id → (its token generation, None when it may not be used; when looked up).
        self._status: dict[str, tuple[int | None, float]] = {}
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
        return {
            "client_id": row["client_id"],
            "department": row["department"],
            "roles": list(row["roles"]),
            "generation": int(row["token_generation"]),
        }

    async def admits(self, principal: Principal) -> bool:
        """Whether a token of this issuer is still good: its client exists, is not disabled, and
        has not changed secret, roles or department since (looked up at most every few s)."""
        now = self._clock()
        cached = self._status.get(principal.client_id)
        if cached is None or now - cached[1] >= self._cache_seconds:
            row = await self._row(principal.client_id)
            generation = int(row["token_generation"]) if row is not None and _active(row) else None
            if len(self._status) >= _STATUS_CACHE_ENTRIES:
                self._status.clear()
            cached = self._status[principal.client_id] = (generation, now)
        return cached[0] is not None and cached[0] == principal.generation

    def forget(self, client_id: str) -> None:
        """A change made through this gateway applies to its next request at once (other gateway
        replicas see it within ``client_cache_seconds``)."""
        self._status.pop(client_id, None)

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


def change_row(
    client_id: str, action: str, actor: str, at: datetime, changes: dict[str, Any]
) -> dict[str, Any]:
    """One entry of the change log (never a secret: only that it changed)."""
    return {
        "client_id": client_id,
        "action": action,
        "actor": actor,
        "at": at,
        "changes": changes,
        "request_id": request_id_var.get(),
    }


async def _unchanged(
    db: Database, client_id: str, name: str, roles: list[str], department: str | None, secret: str
) -> bool:
    async with db.reader() as session:
        row = (await session.execute(select(api_clients).where(api_clients.c.client_id == client_id))).first()
    if row is None or row.disabled_at is not None:
        return False
    if (row.name, list(row.roles), row.department) != (name, roles, department):
        return False
    return await asyncio.to_thread(verify_secret, secret, row.secret_hash)


async def register_client(
    db: Database,
    *,
    client_id: str,
    name: str,
    roles: list[str],
    department: str | None = None,
    secret: str | None = None,
    actor: str = "cli",
) -> str:
    """Create or replace a client (the CLI and the demo clients); returns its secret (shown once).

    Replacing gives it the new secret, roles and department and ends its earlier tokens; either
    way the change is logged with ``actor``. Registering a client exactly as it is (same secret,
    name, roles and department, enabled) changes nothing: the demo clients, registered on every
    start, keep their tokens across a restart.
    """
    unknown = sorted(set(roles) - set(ROLES))
    if unknown:
        raise ValueError(f"unknown roles: {', '.join(unknown)}")
    if secret is not None and await _unchanged(db, client_id, name, roles, department, secret):
        return secret
    generated = secret is None
    secret = secret or new_secret()
    now = utc_now()
    values = {
        "client_id": client_id,
        "secret_hash": await asyncio.to_thread(hash_secret, secret, generated=generated),
        "name": name,
        "department": department,
        "roles": roles,
        "disabled_at": None,
        "updated_at": now,
    }
    async with db.transaction() as session:
        stmt = pg_insert(api_clients).values(**values, created_at=now)
        stmt = stmt.on_conflict_do_update(
            index_elements=["client_id"],
            set_={**values, "token_generation": api_clients.c.token_generation + 1},
        ).returning(api_clients.c.token_generation)
        generation = (await session.execute(stmt)).scalar_one()
        what = {"name": name, "roles": roles, "department": department, "secret": "set"}
        action = "created" if generation == 0 else "replaced"
        await session.execute(
            insert(api_client_changes).values(change_row(client_id, action, actor, now, what))
        )
    return secret
