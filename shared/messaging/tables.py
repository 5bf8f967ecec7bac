"""Outbox and inbox tables, present in every service's database."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Identity,
    Index,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

messaging_metadata = MetaData()

outbox = Table(
    "outbox",
    messaging_metadata,
    Column("seq", BigInteger, Identity(always=True), primary_key=True),
    Column("event_id", String(64), nullable=False, unique=True),
    Column("topic", String(255), nullable=False),
    Column("key", String(255), nullable=False),
    Column("event", JSONB, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("published_at", DateTime(timezone=True)),
    # The relay claims only unpublished rows; the partial index keeps that scan small.
    Index("ix_outbox_unpublished", "seq", postgresql_where=text("published_at IS NULL")),
)

inbox = Table(
    "inbox",
    messaging_metadata,
    Column("consumer", String(128), nullable=False),
    Column("event_id", String(64), nullable=False),
    Column("event_type", String(255), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("consumer", "event_id", name="pk_inbox"),
)

dead_letters = Table(
    "dead_letters",
    messaging_metadata,
    Column("seq", BigInteger, Identity(always=True), primary_key=True),
    Column("consumer", String(128), nullable=False),
    Column("topic", String(255), nullable=False),
    Column("event_id", String(64)),
    Column("error", Text, nullable=False),
    Column("dead_lettered_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
