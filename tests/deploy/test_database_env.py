"""The database wiring of the manifests works: a URL without credentials plus PGUSER/PGPASSWORD.

The manifests give each service ``XN_<SERVICE>_DATABASE_URL=postgresql+asyncpg://<host>:5432/<db>``
from a ConfigMap and the user and password from CloudNativePG's secret as ``PGUSER`` and
``PGPASSWORD``, which the driver reads when the URL leaves them out. This runs the migration Job's
own code path (``shared.migrations``) and a service's settings with exactly that kind of
environment against a real PostgreSQL, with a password no URL could carry unescaped.
"""

from __future__ import annotations

import uuid

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from shared.db import Database
from shared.migrations import upgrade
from shared.settings import load_service_settings
from tests.support.infra import PostgresSource


async def test_migrations_and_the_app_database_run_on_the_manifests_environment(
    postgres: PostgresSource, monkeypatch: pytest.MonkeyPatch
) -> None:
    admin = postgres.admin_url
    role = f"xn_probe_{uuid.uuid4().hex[:8]}"
    database = f"xn_coordination_{uuid.uuid4().hex[:8]}"
    password = "p@ss:w/rd#?&=%1"
    conn = await asyncpg.connect(
        host=admin.host, port=admin.port, user=admin.username, password=admin.password, database="postgres"
    )
    try:
        await conn.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{password}'")
        await conn.execute(f"CREATE DATABASE {database} OWNER {role}")
    finally:
        await conn.close()

    monkeypatch.setenv(
        "XN_COORDINATION_DATABASE_URL", f"postgresql+asyncpg://{admin.host}:{admin.port}/{database}"
    )
    monkeypatch.setenv("PGUSER", role)
    monkeypatch.setenv("PGPASSWORD", password)
    monkeypatch.setenv("PGSSLMODE", "prefer")  # the test server has no TLS; the manifests use verify-full
    url = load_service_settings("coordination").database_url
    assert make_url(url).username is None

    await upgrade("coordination", url)  # what `python -m shared.migrations coordination` runs

    db = Database(url)
    try:
        async with db.reader() as session:
            user = (await session.execute(text("SELECT current_user"))).scalar_one()
            owners = set(
                (
                    await session.execute(
                        text("SELECT tableowner FROM pg_tables WHERE tablename IN ('outbox', 'inbox')")
                    )
                ).scalars()
            )
    finally:
        await db.dispose()
    assert user == role
    assert owners == {role}
