"""Every service's migrations produce exactly the tables its code declares."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import create_async_engine

from launcher.topology import SERVICES
from shared.calendar_store import calendar_metadata
from shared.messaging.tables import messaging_metadata
from shared.migrations import upgrade
from tests.support.infra import PostgresSource


@pytest.mark.parametrize("service", SERVICES)
async def test_migrations_match_the_declared_tables(service: str, postgres: PostgresSource) -> None:
    module = __import__(f"services.{service}.tables", fromlist=["metadata"])
    url = await postgres.new_database()
    await upgrade(service, url)
    await upgrade(service, url)  # a second run is a no-op
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            tables = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
            columns = {
                t: await conn.run_sync(lambda c, t=t: {col["name"] for col in inspect(c).get_columns(t)})
                for t in tables
            }
    finally:
        await engine.dispose()
    declared = {**module.metadata.tables, **messaging_metadata.tables, **calendar_metadata.tables}
    assert tables - {"alembic_version"} == set(declared)
    for name, table in declared.items():
        assert columns[name] == {c.name for c in table.columns}, name
