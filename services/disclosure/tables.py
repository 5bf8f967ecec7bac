"""Disclosure tables: documents, their versions, exemptions, index-number counters and the public
catalogue. Kept identical to the migrations (``tests/service/test_migrations.py``)."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, TSVECTOR

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
    Column("index_number", String(64), nullable=False),
    Column("index_year", Integer, nullable=False),
    Column("index_serial", Integer, nullable=False),
    Column("issuing_organ", String(32), nullable=False),
    UniqueConstraint("index_number", name="uq_documents_index_number"),
    UniqueConstraint("index_year", "index_serial", name="uq_documents_index_serial"),
    Index("ix_documents_created", "created_at", "id"),
    Index("ix_documents_department_created", "drafting_department", "created_at", "id"),
)

document_versions = Table(
    "document_versions",
    metadata,
    Column("document_id", String(40), ForeignKey("documents.id"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("formed_on", Date, nullable=False),
    Column("deadline", DateTime(timezone=True), nullable=False),
    # Counted through a year without its official holiday table (recomputed when it arrives).
    Column("deadline_provisional", Boolean, nullable=False, server_default=false()),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("title", Text, nullable=False),
    Column("body", Text, nullable=False, server_default=""),
    Column("subject_words", ARRAY(Text), nullable=False, server_default="{}"),
    Column("disclosure_mode", String(16), nullable=False, server_default="proactive"),
    Column("scope", String(64), nullable=False, server_default="面向社会"),
    Column("validity", String(16), nullable=False, server_default="valid"),
    Column("attachments", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Column("change_reason", Text),
    Column("formed_by", String(128)),
    Column("status", String(16), nullable=False, server_default="open"),
    Column("published_at", DateTime(timezone=True)),
    Column("publication_url", Text),
    Column("published_on_time", Boolean),
    Column("published_by", String(128)),
    Column("overdue_at", DateTime(timezone=True)),
    # A backfilled sign-off made before the deadline withdrew the overdue; ``overdue_at`` is kept.
    Column("overdue_withdrawn_at", DateTime(timezone=True)),
    Column("overdue_withdrawn_by", String(128)),
    Column("superseded_at", DateTime(timezone=True)),
    PrimaryKeyConstraint("document_id", "version", name="pk_document_versions"),
    # The sweeper's claim (D3): only open versions, in deadline order.
    Index("ix_document_versions_open", "deadline", postgresql_where=text("status = 'open'")),
    # Statistics per period.
    Index("ix_document_versions_formed_on", "formed_on"),
)

exemptions = Table(
    "exemptions",
    metadata,
    Column("document_id", String(40), nullable=False),
    Column("version", Integer, nullable=False),
    Column("ground", String(32), nullable=False),
    Column("reason", Text, nullable=False),
    Column("requested_by", String(128), nullable=False),
    Column("requested_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("decision", String(16), nullable=False),
    Column("signed_by", String(64)),
    # The instant of the sign-off the rules judge: the leader's own, or the one a paper record
    # states (backfilled by the office); who entered it and when, beside it.
    Column("decided_at", DateTime(timezone=True)),
    Column("recorded_by", String(128)),
    Column("recorded_at", DateTime(timezone=True)),
    Column("backfilled", Boolean, nullable=False, server_default=false()),
    Column("comment", Text),
    PrimaryKeyConstraint("document_id", "version", name="pk_exemptions"),
    ForeignKeyConstraint(
        ["document_id", "version"],
        ["document_versions.document_id", "document_versions.version"],
        name="fk_exemptions_version",
    ),
)

index_counters = Table(
    "index_counters",
    metadata,
    Column("year", Integer, primary_key=True),
    Column("last_serial", Integer, nullable=False),
)

# The public catalogue (D5): one row per document, its latest published version.
catalogue = Table(
    "catalogue",
    metadata,
    Column("document_id", String(40), ForeignKey("documents.id"), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("index_number", String(64), nullable=False),
    Column("document_number", String(64), nullable=False),
    Column("number_prefix", String(32), nullable=False),
    Column("number_year", Integer, nullable=False),
    Column("number_serial", Integer, nullable=False),
    Column("title", Text, nullable=False),
    Column("issuing_organ", String(32), nullable=False),
    Column("department", String(32), nullable=False),
    Column("formed_on", Date, nullable=False),
    Column("year", Integer, nullable=False),
    Column("subject_words", ARRAY(Text), nullable=False),
    Column("disclosure_mode", String(16), nullable=False),
    Column("scope", String(64), nullable=False),
    Column("validity", String(16), nullable=False),
    Column("body", Text, nullable=False),
    Column("attachments", JSONB, nullable=False),
    Column("url", Text, nullable=False),
    Column("published_at", DateTime(timezone=True), nullable=False),
    Column("search", TSVECTOR, nullable=False),
    Index("ix_catalogue_published", "published_at", "document_id"),
    Index("ix_catalogue_department", "department", "published_at", "document_id"),
    Index("ix_catalogue_year", "year", "published_at", "document_id"),
    Index("ix_catalogue_validity", "validity", "published_at", "document_id"),
    Index("ix_catalogue_mode", "disclosure_mode", "published_at", "document_id"),
    Index("ix_catalogue_number", "number_prefix", "number_year", "number_serial"),
    Index("ix_catalogue_number_year", "number_year", "number_serial"),
    Index("ix_catalogue_subjects", "subject_words", postgresql_using="gin"),
    Index("ix_catalogue_search", "search", postgresql_using="gin"),
)
