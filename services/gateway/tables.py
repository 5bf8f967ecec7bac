"""Gateway tables: registered API clients (client-credentials)."""

from __future__ import annotations

from sqlalchemy import Column, DateTime, MetaData, String, Table, func
from sqlalchemy.dialects.postgresql import JSONB

metadata = MetaData()

api_clients = Table(
    "api_clients",
    metadata,
    Column("client_id", String(128), primary_key=True),
    Column("secret_hash", String(256), nullable=False),
    Column("name", String(256), nullable=False),
    Column("department", String(32)),
    Column("roles", JSONB, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
