"""Evaluation tables: department efficiency facts gathered from other services' events."""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Index, MetaData, PrimaryKeyConstraint, String, Table, func
from sqlalchemy.dialects.postgresql import JSONB

metadata = MetaData()

department_facts = Table(
    "department_facts",
    metadata,
    Column("event_id", String(64), nullable=False),
    Column("department", String(32), nullable=False),
    Column("kind", String(64), nullable=False),
    Column("subject_id", String(128), nullable=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("detail", JSONB, nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("event_id", "department", name="pk_department_facts"),
    Index("ix_department_facts_department", "department", "occurred_at", "event_id"),
)
