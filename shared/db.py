"""Async database access: one engine per service, one transaction per use case.

Use cases open ``async with db.transaction() as session`` and never commit inside helpers, so
the state change and its outbox rows commit together. After a commit that wrote outbox rows the
relay is woken at once instead of waiting for its next poll.

``is_unavailable`` tells a lost or refused database connection (the server restarting, down, or
out of connections) from a bug: the HTTP layer answers it with 503 and ``Retry-After``, and the
background workers wait and retry instead of giving a message up.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import asyncpg
from sqlalchemy import exc as sa_exc
from sqlalchemy import text
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

OUTBOX_DIRTY = "outbox_dirty"
# The channel a commit that wrote outbox rows notifies; every service has its own database.
OUTBOX_CHANNEL = "xn_outbox"

# What a read runs its statements on: a use case's session or a reader's connection.
Executor = AsyncSession | AsyncConnection

# What a client is told to wait before retrying while the database is unreachable; a restart
# of PostgreSQL takes a few seconds.
UNAVAILABLE_RETRY_AFTER_SECONDS = 2
CONNECT_TIMEOUT_SECONDS = 5

# SQLSTATEs of a connection that is gone or refused: class 08 (connection exception), the
# server shutting down or starting up (57P01-57P03), too many connections (53300).
_UNAVAILABLE_SQLSTATES = ("08", "57P01", "57P02", "57P03", "53300")

# Exception classes that may carry an unavailable database (checked with ``is_unavailable``).
CONNECTION_ERROR_TYPES: tuple[type[Exception], ...] = (
    sa_exc.SQLAlchemyError,
    OSError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
)


def is_unavailable(error: BaseException) -> bool:
    """Whether ``error`` (or what caused it) means the database cannot be reached right now.

    Connecting to a server that is down raises the driver's or the socket's own error, not a
    SQLAlchemy one, so the chain of causes is followed and each link is checked.
    """
    seen: set[int] = set()
    pending: list[BaseException | None] = [error]
    while pending:
        exc = pending.pop()
        if exc is None or id(exc) in seen:
            continue
        seen.add(id(exc))
        if isinstance(exc, OSError | sa_exc.TimeoutError | sa_exc.OperationalError | sa_exc.InterfaceError):
            return True  # OSError covers refused and reset connections and socket timeouts
        if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
            return True
        if isinstance(exc, asyncpg.InterfaceError) and "connection" in str(exc):
            return True
        if str(getattr(exc, "sqlstate", "") or "").startswith(_UNAVAILABLE_SQLSTATES):
            return True
        orig = getattr(exc, "orig", None)
        pending.extend([exc.__cause__, orig if isinstance(orig, BaseException) else None])
    return False


class Database:
    """The engine, session factory and outbox wake-up of one service's database."""

    def __init__(self, url: str, *, pool_size: int = 20) -> None:
        self.url = url
        # A database host that drops packets instead of refusing must still fail fast (503),
        # not hold a request for asyncpg's default 60 s connect timeout.
        # No pre-ping: it cost a round trip and a third of a GET's database CPU on every checkout.
        # A connection the server dropped (a restart) fails its first statement instead; that
        # error invalidates the whole pool, so one request per process gets a 503 with
        # Retry-After (``is_unavailable``) and the next ones get fresh connections.
        self.engine: AsyncEngine = create_async_engine(
            url,
            pool_size=pool_size,
            max_overflow=pool_size,
            pool_pre_ping=False,
            connect_args={"timeout": CONNECT_TIMEOUT_SECONDS},
        )
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self.outbox_wakeup = asyncio.Event()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """One unit of work: commits on success, rolls back on any exception.

        A transaction that wrote outbox rows also sends ``NOTIFY`` on ``OUTBOX_CHANNEL``, which
        PostgreSQL delivers at the commit: the relay that holds the publishing lock may run in
        another process (another replica, the worker), and is woken by it instead of its poll.
        """
        async with self.sessions() as session, session.begin():
            yield session
            if session.info.get(OUTBOX_DIRTY, False):
                await session.execute(text(f"NOTIFY {OUTBOX_CHANNEL}"))
        if session.info.pop(OUTBOX_DIRTY, False):
            self.outbox_wakeup.set()

    @asynccontextmanager
    async def listener(
        self, channel: str, on_notify: Callable[[], None]
    ) -> AsyncIterator[asyncpg.Connection]:
        """A pooled connection kept aside that calls ``on_notify`` for each notification on ``channel``."""
        async with self.engine.connect() as connection:
            raw = await connection.get_raw_connection()
            driver: asyncpg.Connection = raw.driver_connection

            def notified(*_: object) -> None:
                on_notify()

            await driver.add_listener(channel, notified)
            try:
                yield driver
            finally:
                if not driver.is_closed():
                    await driver.remove_listener(channel, notified)

    @asynccontextmanager
    async def reader(self) -> AsyncIterator[AsyncConnection]:
        """A read-only connection in one transaction (one snapshot), rolled back at the end.

        A Core connection, not an ORM session: reads only execute Core statements, and the
        session's bookkeeping was a fifth of a small read's database CPU.
        """
        async with self.engine.connect() as connection:
            yield connection

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()


def _sql_literal(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, datetime):
        return f"'{value.isoformat()}'"
    return "'" + str(value).replace("'", "''") + "'"


async def generic_plan(driver: Any, statement: str, parameters: Sequence[Any]) -> list[str]:
    """The plan of ``statement`` once PostgreSQL has switched its prepared statement to a generic
    plan (planned without the parameter values, as it may after five executions): what shows
    whether a partial index still serves a query whose predicate must be proved from literals.

    ``driver`` is an asyncpg connection; EXECUTE takes no protocol-level parameters, so the
    arguments are written as literals.
    """
    arguments = ", ".join(_sql_literal(p) for p in parameters)
    await driver.execute(f"PREPARE generic_plan_probe AS {statement}")
    try:
        await driver.execute("SET plan_cache_mode = force_generic_plan")
        rows = await driver.fetch(f"EXPLAIN EXECUTE generic_plan_probe({arguments})")
    finally:
        await driver.execute("RESET plan_cache_mode")
        await driver.execute("DEALLOCATE generic_plan_probe")
    return [str(r[0]) for r in rows]
