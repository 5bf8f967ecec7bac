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
    Index("ix_catalogue_number_published", "number_prefix", "number_year", "published_at", "document_id"),
    Index("ix_catalogue_number_year", "number_year", "number_serial"),
    Index("ix_catalogue_subjects", "subject_words", postgresql_using="gin"),
    Index("ix_catalogue_search", "search", postgresql_using="gin"),
)

# D7 requests for government information (依申请公开). ``applicant`` holds the applicant's personal
# data, shown only to the organ's officials and to the applicant with the access code; the code
# itself is kept only as its SHA-256 digest.
disclosure_requests = Table(
    "disclosure_requests",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("number", String(32), nullable=False),
    Column("access_code_hash", String(64), nullable=False),
    Column("department", String(32), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("submitted_on", Date),
    Column("signed_for_on", Date),
    Column("confirmed_on", Date),
    Column("received_on", Date, nullable=False),
    Column("applicant_type", String(32), nullable=False),
    Column("applicant", JSONB, nullable=False),
    Column("content", Text, nullable=False),
    Column("form", String(16), nullable=False),
    Column("delivery", String(16), nullable=False),
    Column("registered_by", String(128), nullable=False),
    Column("registered_at", DateTime(timezone=True), nullable=False),
    Column("status", String(24), nullable=False),
    # The answer clock (D7): counted from clock_start_on, plus the extension, plus consultation
    # days that do not count; while a third party is consulted the deadline assumes its full limit.
    Column("clock_start_on", Date, nullable=False),
    Column("extension_days", Integer, nullable=False, server_default="0"),
    Column("paused_days", Integer, nullable=False, server_default="0"),
    Column("consulting_since", Date),
    Column("deadline", DateTime(timezone=True)),
    Column("deadline_provisional", Boolean, nullable=False, server_default=false()),
    Column("overdue_at", DateTime(timezone=True)),
    Column("completion_notified_on", Date),
    Column("completion_items", Text),
    Column("complete_by", Date),
    Column("completion_deadline", DateTime(timezone=True)),
    Column("completed_on", Date),
    Column("extension_reason", Text),
    Column("extension_consented_by", String(64)),
    Column("extension_notified_on", Date),
    Column("answer_kind", String(24)),
    Column("answer_ground", String(40)),
    Column("answer_reason", Text),
    Column("answer_documents", JSONB),
    Column("responsible_organ", Text),
    Column("answered_at", DateTime(timezone=True)),
    Column("answered_by", String(128)),
    Column("answered_late", Boolean),
    Column("abandoned_at", DateTime(timezone=True)),
    # The day the request was answered or abandoned (Asia/Shanghai): the year table 三 counts it in.
    Column("concluded_on", Date),
    UniqueConstraint("number", name="uq_disclosure_requests_number"),
    Index("ix_disclosure_requests_department", "department", "registered_at", "id"),
    Index("ix_disclosure_requests_received", "department", "received_on"),
    # The sweeps' claims (D7): late answers, and abandonment of requests not completed in time.
    Index(
        "ix_disclosure_requests_running",
        "deadline",
        postgresql_where=text("status IN ('pending', 'consulting') AND overdue_at IS NULL"),
    ),
    Index(
        "ix_disclosure_requests_completion",
        "completion_deadline",
        postgresql_where=text("status = 'awaiting-completion'"),
    ),
)

# Every change of a request's clock: who, when, why, and the deadline before and after (D7).
request_clock_changes = Table(
    "request_clock_changes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("request_id", String(40), ForeignKey("disclosure_requests.id"), nullable=False),
    Column("change", String(32), nullable=False),
    Column("changed_at", DateTime(timezone=True), nullable=False),
    Column("changed_by", String(128), nullable=False),
    Column("reason", Text, nullable=False),
    Column("old_deadline", DateTime(timezone=True)),
    Column("new_deadline", DateTime(timezone=True)),
    Index("ix_request_clock_changes_request", "request_id", "id"),
)

# Public policy inquiries (政策咨询, 004): the form's fields, a reply limit, the reply.
policy_inquiries = Table(
    "policy_inquiries",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("number", String(32), nullable=False),
    Column("access_code_hash", String(64), nullable=False),
    Column("department", String(32), nullable=False),
    Column("name", String(64), nullable=False),
    Column("mobile", String(20), nullable=False),
    Column("email", String(254)),
    Column("title", Text, nullable=False),
    Column("content", Text, nullable=False),
    Column("public", Boolean, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("deadline", DateTime(timezone=True), nullable=False),
    Column("deadline_provisional", Boolean, nullable=False, server_default=false()),
    Column("status", String(16), nullable=False),
    Column("overdue_at", DateTime(timezone=True)),
    Column("reply", Text),
    Column("replied_at", DateTime(timezone=True)),
    Column("replied_by", String(128)),
    Column("replied_late", Boolean),
    UniqueConstraint("number", name="uq_policy_inquiries_number"),
    Index("ix_policy_inquiries_department", "department", "received_at", "id"),
    Index(
        "ix_policy_inquiries_public",
        "replied_at",
        "id",
        postgresql_where=text("public AND status = 'replied'"),
    ),
    Index(
        "ix_policy_inquiries_open",
        "deadline",
        postgresql_where=text("status = 'open' AND overdue_at IS NULL"),
    ),
)

# Failed look-ups with an access code, per caller address: too many in the window are refused (429).
access_failures = Table(
    "access_failures",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("caller", String(64), nullable=False),
    Column("failed_at", DateTime(timezone=True), nullable=False),
    Index("ix_access_failures_caller", "caller", "failed_at"),
)
