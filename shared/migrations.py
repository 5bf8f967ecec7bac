"""Alembic per service: the shared env runner, programmatic upgrade and a CLI.

Each service keeps its migrations in ``services/<name>/migrations``; its ``env.py`` only calls
``run_env`` with the service's metadata. ``upgrade`` holds an advisory lock so several replicas
starting at once migrate one after the other. ``python -m shared.migrations <service>`` runs
the upgrade as a separate step (a Kubernetes Job in production).
"""

from __future__ import annotations

import argparse
import asyncio
import zlib
from pathlib import Path

import sqlalchemy as sa
from alembic import command, context, op
from alembic.config import Config
from sqlalchemy import Connection, MetaData, pool, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import create_async_engine

from shared.calendar_store import calendar_metadata
from shared.messaging.tables import messaging_metadata

ROOT = Path(__file__).resolve().parent.parent

# Alembic's ``context`` is process-global: services sharing a process (embedded mode) must
# migrate one at a time.
_in_process = asyncio.Lock()


def alembic_config(service: str, url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(ROOT / "services" / service / "migrations"))
    cfg.set_main_option("sqlalchemy.url", url)
    return cfg


def _run_with_connection(connection: Connection, metadata: MetaData) -> None:
    context.configure(
        connection=connection, target_metadata=[metadata, messaging_metadata, calendar_metadata]
    )
    with context.begin_transaction():
        context.run_migrations()


def run_env(metadata: MetaData) -> None:
    """Body of every service's ``env.py``."""
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run_with_connection(connection, metadata)
        return
    url = context.config.get_main_option("sqlalchemy.url")
    if context.is_offline_mode():
        context.configure(
            url=url, target_metadata=[metadata, messaging_metadata, calendar_metadata], literal_binds=True
        )
        with context.begin_transaction():
            context.run_migrations()
        return

    async def online() -> None:
        engine = create_async_engine(str(url), poolclass=pool.NullPool)
        async with engine.connect() as conn:
            await conn.run_sync(_run_with_connection, metadata)
        await engine.dispose()

    asyncio.run(online())


def create_messaging_tables() -> None:
    """Used by each service's first migration: outbox, inbox and dead letters.

    Spelled out here (not ``create_all``) so that what this migration creates never changes when
    the table definitions in ``shared.messaging.tables`` evolve; later changes get migrations.
    """
    op.create_table(
        "outbox",
        sa.Column("seq", sa.BigInteger, sa.Identity(always=True), primary_key=True),
        sa.Column("event_id", sa.String(64), nullable=False, unique=True),
        sa.Column("topic", sa.String(255), nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("event", JSONB, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("published_at", sa.DateTime(timezone=True)),
    )
    op.create_index(
        "ix_outbox_unpublished", "outbox", ["seq"], postgresql_where=sa.text("published_at IS NULL")
    )
    op.create_table(
        "inbox",
        sa.Column("consumer", sa.String(128), nullable=False),
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.Column("event_type", sa.String(255), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("consumer", "event_id", name="pk_inbox"),
    )
    op.create_table(
        "dead_letters",
        sa.Column("seq", sa.BigInteger, sa.Identity(always=True), primary_key=True),
        sa.Column("consumer", sa.String(128), nullable=False),
        sa.Column("topic", sa.String(255), nullable=False),
        sa.Column("event_id", sa.String(64)),
        sa.Column("error", sa.Text, nullable=False),
        sa.Column(
            "dead_lettered_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
    )


def drop_messaging_tables() -> None:
    """The downgrade of ``create_messaging_tables``."""
    for table in ("dead_letters", "inbox", "outbox"):
        op.drop_table(table)


def add_deadline_provisional(*tables: str) -> None:
    """The calendar migration's flag on stored deadlines: until it, a deadline in a year without an
    official table was refused, so no stored one is provisional."""
    for table in tables:
        op.add_column(
            table, sa.Column("deadline_provisional", sa.Boolean, nullable=False, server_default=sa.false())
        )


def drop_deadline_provisional(*tables: str) -> None:
    for table in tables:
        op.drop_column(table, "deadline_provisional")


def create_calendar_tables() -> None:
    """Used by every service's calendar migration: its copy of the official year tables
    (``shared.calendar_store``), spelled out for the same reason as the messaging tables."""
    op.create_table(
        "calendar_years",
        sa.Column("seq", sa.BigInteger, sa.Identity(always=True), primary_key=True),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("notice", sa.Text, nullable=False),
        sa.Column("published_on", sa.Date, nullable=False),
        sa.Column("days", JSONB, nullable=False),
        sa.Column("published_by", sa.String(128), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.UniqueConstraint("year", "revision", name="uq_calendar_years_revision"),
    )


async def upgrade(service: str, url: str) -> None:
    async with _in_process:
        await _upgrade_locked(service, url)


async def _upgrade_locked(service: str, url: str) -> None:
    cfg = alembic_config(service, url)
    engine = create_async_engine(url, poolclass=pool.NullPool)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": zlib.crc32(service.encode())})

            def _upgrade(sync_conn: Connection) -> None:
                cfg.attributes["connection"] = sync_conn
                command.upgrade(cfg, "head")

            await conn.run_sync(_upgrade)
    finally:
        await engine.dispose()


def main() -> None:
    from shared.settings import load_service_settings

    parser = argparse.ArgumentParser(description="Run a service's database migrations")
    parser.add_argument("service")
    args = parser.parse_args()
    asyncio.run(upgrade(args.service, load_service_settings(args.service).database_url))


if __name__ == "__main__":
    main()
