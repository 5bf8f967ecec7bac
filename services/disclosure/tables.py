"""Disclosure tables: documents and their versions."""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    func,
)

metadata = MetaData()

documents = Table(
    "documents",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("document_number", String(64), nullable=False, unique=True),
    Column("title", Text, nullable=False),
    Column("drafting_department", String(32), nullable=False),
    Column("current_version", Integer, nullable=False),
    Column("registered_by", String(128), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("ix_documents_department", "drafting_department", "id"),
)

document_versions = Table(
    "document_versions",
    metadata,
    Column("document_id", String(40), ForeignKey("documents.id"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("formed_on", Date, nullable=False),
    Column("deadline", DateTime(timezone=True), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("document_id", "version", name="pk_document_versions"),
)
