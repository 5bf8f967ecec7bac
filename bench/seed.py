"""Bulk seeding in SQL: generate_series inserts with the table's secondary indexes rebuilt after.

Dropping a secondary index and creating it again from its own ``pg_indexes`` definition gives
the same index as the migration's, built in one sorted pass instead of 1,000,000 insertions.
Primary keys and unique constraints stay in place, so the load is checked like any other write.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

from .stats import say


async def tune_for_load(conn: asyncpg.Connection) -> None:
    # Bulk-load settings for this session only: the benchmarks measure the services, not the seed.
    await conn.execute("SET maintenance_work_mem = '256MB'")
    await conn.execute("SET synchronous_commit = off")
    # Foreign keys are satisfied by construction; skipping their per-row triggers saves minutes.
    await conn.execute("SET session_replication_role = replica")


@asynccontextmanager
async def secondary_indexes_dropped(conn: asyncpg.Connection, table: str) -> AsyncIterator[None]:
    rows = await conn.fetch(
        """
        SELECT i.indexname, i.indexdef FROM pg_indexes i
        WHERE i.schemaname = 'public' AND i.tablename = $1
          AND i.indexname NOT IN (
            SELECT conname FROM pg_constraint WHERE conrelid = $1::regclass AND contype IN ('p', 'u'))
        ORDER BY i.indexname
        """,
        table,
    )
    for r in rows:
        await conn.execute(f'DROP INDEX "{r["indexname"]}"')
    try:
        yield
    finally:
        for r in rows:
            started = time.perf_counter()
            await conn.execute(r["indexdef"])
            say(f"  index {r['indexname']} rebuilt in {time.perf_counter() - started:.1f} s")


async def timed(conn: asyncpg.Connection, what: str, sql: str, *args: object) -> float:
    started = time.perf_counter()
    status = await conn.execute(sql, *args)
    elapsed = time.perf_counter() - started
    say(f"  {what}: {status} in {elapsed:.1f} s")
    return elapsed
