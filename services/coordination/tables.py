"""Coordination tables: joint matters and their items, feedback, escalations, overdue-table
reviews, and leader instructions with their assignments. Kept identical to the migrations."""

from __future__ import annotations

import uuid

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    MetaData,
    Numeric,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

metadata = MetaData()


def new_id(prefix: str) -> str:
    """A new row id: the table's prefix and 12 random hex digits (``item-8d2e41aa90c1``)."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


joint_matters = Table(
    "joint_matters",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("lead_department", String(32), nullable=False),
    Column("basis", Text, nullable=False),
    Column("main_matter", Text, nullable=False),
    Column("requirements", Text, nullable=False),
    Column("contact_person", String(64), nullable=False),
    Column("contact_phone", String(32), nullable=False),
    Column("fax", String(32)),
    Column("attachments", JSONB, nullable=False),
    Column("copied_to", JSONB, nullable=False),
    Column("assigned_on", Date, nullable=False),
    Column("supersedes", String(40), ForeignKey("joint_matters.id")),
    Column("created_by", String(128), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_joint_matters_created", "created_at", "id"),
    Index("ix_joint_matters_lead", "lead_department", "created_at", "id"),
)

matter_approvals = Table(
    "matter_approvals",
    metadata,
    Column("matter_id", String(40), ForeignKey("joint_matters.id"), nullable=False),
    Column("level", String(16), nullable=False),
    Column("leader", String(64), nullable=False),
    Column("approved_on", Date, nullable=False),
    Column("reference", Text),
    Column("recorded_by", String(128), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("matter_id", "level", name="pk_matter_approvals"),
    Index("ix_matter_approvals_leader", "leader", "matter_id"),
)

joint_items = Table(
    "joint_items",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("matter_id", String(40), ForeignKey("joint_matters.id"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("department", String(32), nullable=False),
    Column("content", Text, nullable=False),
    Column("tier", String(16), nullable=False),
    Column("feedback_days", Integer, nullable=False),
    Column("day_unit", String(16), nullable=False),
    Column("due_on", Date, nullable=False),
    Column("deadline", DateTime(timezone=True), nullable=False),
    # The deadline counted through a year without an official holiday table (moved when it comes).
    Column("deadline_provisional", Boolean, nullable=False, server_default=false()),
    Column("state", String(32), nullable=False),
    Column("acknowledged_at", DateTime(timezone=True)),
    Column("acknowledged_by", String(128)),
    Column("closed_at", DateTime(timezone=True)),
    Column("swept_at", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("matter_id", "seq", name="uq_joint_items_seq"),
    UniqueConstraint("matter_id", "department", name="uq_joint_items_department"),
    Index("ix_joint_items_department", "department", "created_at", "id"),
    Index("ix_joint_items_due_on", "due_on"),
    # The sweeper claims due items through this partial index on open items only.
    Index(
        "ix_joint_items_open_deadline",
        "deadline",
        postgresql_where=text("state IN ('assigned', 'acknowledged')"),
    ),
)

item_feedback = Table(
    "item_feedback",
    metadata,
    Column("id", String(40), primary_key=True),
    # Insertion order: a correction may carry the same instant as what it corrects.
    Column("seq", BigInteger, Identity(always=True), nullable=False, unique=True),
    Column("item_id", String(40), ForeignKey("joint_items.id"), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("content", Text, nullable=False),
    Column("signed_by", String(64), nullable=False),
    Column("stamped", Boolean, nullable=False),
    Column("attachments", JSONB, nullable=False),
    Column("delay_reason", Text),
    Column("late", Boolean, nullable=False),
    Column("corrects", String(40), ForeignKey("item_feedback.id")),
    Column("submitted_by", String(128), nullable=False),
    Column("submitted_at", DateTime(timezone=True), nullable=False),
    Index("ix_item_feedback_item", "item_id", "seq"),
)

escalations = Table(
    "escalations",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("item_id", String(40), ForeignKey("joint_items.id"), nullable=False, unique=True),
    Column("matter_id", String(40), ForeignKey("joint_matters.id"), nullable=False),
    Column("lead_department", String(32), nullable=False),
    Column("department", String(32), nullable=False),
    Column("chain", JSONB, nullable=False),
    Column("level", Integer, nullable=False),
    Column("holder", String(64), nullable=False),
    Column("status", String(32), nullable=False),
    Column("reason", Text, nullable=False),
    Column("raised_at", DateTime(timezone=True), nullable=False),
    Index("ix_escalations_holder", "holder", "raised_at", "id"),
    Index("ix_escalations_raised", "raised_at", "id"),
)

escalation_steps = Table(
    "escalation_steps",
    metadata,
    Column("escalation_id", String(40), ForeignKey("escalations.id"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("step", String(16), nullable=False),
    Column("actor", String(64), nullable=False),
    Column("actor_client", String(128), nullable=False),
    Column("recipient", String(64)),
    Column("note", Text),
    Column("at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("escalation_id", "seq", name="pk_escalation_steps"),
)

overdue_reviews = Table(
    "overdue_reviews",
    metadata,
    Column("lead_department", String(32), nullable=False),
    Column("period", String(16), nullable=False),
    Column("reviewer", String(64), nullable=False),
    Column("reviewed_by", String(128), nullable=False),
    Column("reviewed_at", DateTime(timezone=True), nullable=False),
    Column("rows", Integer, nullable=False),
    Column("note", Text),
    PrimaryKeyConstraint("lead_department", "period", name="pk_overdue_reviews"),
)

# Leader instructions (C7). A step handled on paper is entered later (补录) by the office: its
# ``<step>_at`` is the instant the record states, which every rule reads; ``<step>_by`` is who
# entered it and ``<step>_recorded_at`` the server's instant of entry (the receipt's are
# ``registered_by`` and ``registered_at``). A step entered as it happens has both instants equal.
instructions = Table(
    "instructions",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("leader", String(64), nullable=False),
    Column("category", String(32), nullable=False),
    Column("title", Text, nullable=False),
    Column("content", Text, nullable=False),
    Column("source_document", Text),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("assignment_due", DateTime(timezone=True), nullable=False),
    Column("state", String(16), nullable=False),
    Column("registered_by", String(128), nullable=False),
    Column("registered_at", DateTime(timezone=True), nullable=False),
    Column("proposal", Text),
    Column("proposed_by", String(128)),
    Column("proposed_at", DateTime(timezone=True)),
    Column("proposal_recorded_at", DateTime(timezone=True)),
    Column("assigned_at", DateTime(timezone=True)),
    Column("assigned_by", String(128)),
    Column("assignment_recorded_at", DateTime(timezone=True)),
    Column("held_overnight", Boolean),
    Column("archived_by", String(128)),
    Column("archived_at", DateTime(timezone=True)),
    Index("ix_instructions_registered", "registered_at", "id"),
    Index("ix_instructions_leader", "leader", "registered_at", "id"),
)

instruction_assignments = Table(
    "instruction_assignments",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("instruction_id", String(40), ForeignKey("instructions.id"), nullable=False),
    Column("department", String(32), nullable=False),
    Column("requirement", Text),
    Column("supervised", Boolean, nullable=False),
    Column("due_on", Date, nullable=False),
    Column("deadline", DateTime(timezone=True), nullable=False),
    Column("deadline_provisional", Boolean, nullable=False, server_default=false()),
    # The sheet stated the limit (due_on); otherwise it is the default (不过夜) counted from assigned_at.
    Column("due_stated", Boolean, nullable=False, server_default=false()),
    Column("assigned_by", String(128), nullable=False),
    Column("assigned_at", DateTime(timezone=True), nullable=False),
    Column("assignment_recorded_at", DateTime(timezone=True), nullable=False),
    Column("feedback", Text),
    Column("feedback_by", String(128)),
    Column("feedback_at", DateTime(timezone=True)),
    Column("feedback_recorded_at", DateTime(timezone=True)),
    Column("feedback_late", Boolean),
    Column("overdue_at", DateTime(timezone=True)),
    UniqueConstraint("instruction_id", "department", name="uq_instruction_assignments_department"),
    Index("ix_instruction_assignments_department", "department", "assigned_at", "id"),
    Index("ix_instruction_assignments_supervised_due", "due_on", postgresql_where=text("supervised")),
    # The sweeper claims overdue supervised assignments through this partial index.
    Index(
        "ix_instruction_assignments_open_deadline",
        "deadline",
        postgresql_where=text("supervised AND feedback_at IS NULL AND overdue_at IS NULL"),
    ),
)

instruction_explanations = Table(
    "instruction_explanations",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("assignment_id", String(40), ForeignKey("instruction_assignments.id"), nullable=False),
    Column("reason", Text, nullable=False),
    Column("filed_by", String(128), nullable=False),
    Column("filed_at", DateTime(timezone=True), nullable=False),
    Index("ix_instruction_explanations_assignment", "assignment_id", "filed_at"),
)

# Major matters (年度重大事项, C8): the year's list with its task, timetable and responsibility
# sheets, each change to a listed matter (who, when, why), the monthly progress reports and the
# duties to file them, on-site checks, close-off (销号) requests and decisions, year-end scores,
# and the quarterly public snapshots.
major_matters = Table(
    "major_matters",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("year", Integer, nullable=False),
    Column("number", Integer, nullable=False),
    Column("title", Text, nullable=False),
    Column("task", Text, nullable=False),
    Column("lead_department", String(32), nullable=False),
    Column("cooperating", JSONB, nullable=False),
    Column("leader", String(64), nullable=False),
    Column("responsible_person", String(64), nullable=False),
    Column("contact_phone", String(32)),
    Column("completion_due", Date, nullable=False),
    Column("quarter_targets", JSONB, nullable=False),
    Column("state", String(32), nullable=False),
    Column("listed_on", Date, nullable=False),
    Column("listed_by", String(128), nullable=False),
    Column("listed_at", DateTime(timezone=True), nullable=False),
    Column("closed_off_by", String(128)),
    Column("closed_off_at", DateTime(timezone=True)),
    UniqueConstraint("year", "number", name="uq_major_matters_number"),
    Index("ix_major_matters_lead", "lead_department", "year"),
    Index("ix_major_matters_leader", "leader", "year"),
)

major_matter_changes = Table(
    "major_matter_changes",
    metadata,
    Column("matter_id", String(40), ForeignKey("major_matters.id"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("action", String(32), nullable=False),
    Column("changes", JSONB, nullable=False),
    Column("reason", Text),
    Column("changed_by", String(128), nullable=False),
    Column("changed_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("matter_id", "seq", name="pk_major_matter_changes"),
)

major_milestones = Table(
    "major_milestones",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("matter_id", String(40), ForeignKey("major_matters.id"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("title", Text, nullable=False),
    Column("due_on", Date, nullable=False),
    # 24:00 Asia/Shanghai of due_on: not reported done by then, the matter is behind.
    Column("deadline", DateTime(timezone=True), nullable=False),
    Column("state", String(16), nullable=False),
    Column("done_on", Date),
    Column("done_reported_at", DateTime(timezone=True)),
    Column("done_by", String(128)),
    Column("done_evidence", JSONB),
    Column("behind_at", DateTime(timezone=True)),
    Index("ix_major_milestones_matter", "matter_id", "seq"),
    # The sweeper claims milestones not yet announced behind through this partial index.
    Index("ix_major_milestones_unannounced", "deadline", postgresql_where=text("behind_at IS NULL")),
)

major_report_duties = Table(
    "major_report_duties",
    metadata,
    Column("matter_id", String(40), ForeignKey("major_matters.id"), nullable=False),
    Column("month", String(7), nullable=False),
    Column("lead_department", String(32), nullable=False),
    Column("deadline", DateTime(timezone=True), nullable=False),
    Column("reported_at", DateTime(timezone=True)),
    Column("behind_at", DateTime(timezone=True)),
    Column("cancelled_at", DateTime(timezone=True)),
    PrimaryKeyConstraint("matter_id", "month", name="pk_major_report_duties"),
    Index(
        "ix_major_report_duties_unannounced",
        "deadline",
        postgresql_where=text("behind_at IS NULL AND cancelled_at IS NULL"),
    ),
)

major_progress_reports = Table(
    "major_progress_reports",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("matter_id", String(40), ForeignKey("major_matters.id"), nullable=False),
    Column("month", String(7), nullable=False),
    Column("department", String(32), nullable=False),
    Column("summary", Text, nullable=False),
    Column("public_summary", Text),
    Column("milestones", JSONB, nullable=False),
    Column("evidence", JSONB, nullable=False),
    Column("delay_reason", Text),
    Column("late", Boolean, nullable=False),
    Column("submitted_by", String(128), nullable=False),
    Column("submitted_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("matter_id", "month", name="uq_major_progress_reports_month"),
)

major_checks = Table(
    "major_checks",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("matter_id", String(40), ForeignKey("major_matters.id"), nullable=False),
    Column("checked_on", Date, nullable=False),
    Column("inspectors", Text, nullable=False),
    Column("findings", Text, nullable=False),
    Column("attachments", JSONB, nullable=False),
    Column("recorded_by", String(128), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Index("ix_major_checks_matter", "matter_id", "checked_on"),
)

major_close_offs = Table(
    "major_close_offs",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("matter_id", String(40), ForeignKey("major_matters.id"), nullable=False),
    Column("statement", Text, nullable=False),
    Column("evidence", JSONB, nullable=False),
    Column("requested_by", String(128), nullable=False),
    Column("requested_at", DateTime(timezone=True), nullable=False),
    Column("decision", String(16)),
    Column("reason", Text),
    Column("decided_by", String(128)),
    Column("decided_at", DateTime(timezone=True)),
    Index("ix_major_close_offs_matter", "matter_id", "requested_at"),
)

major_scores = Table(
    "major_scores",
    metadata,
    Column("matter_id", String(40), ForeignKey("major_matters.id"), primary_key=True),
    Column("year", Integer, nullable=False),
    Column("score", Numeric(5, 1), nullable=False),
    Column("comment", Text),
    Column("meeting", Text, nullable=False),
    Column("scored_on", Date, nullable=False),
    Column("recorded_by", String(128), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
)

major_publications = Table(
    "major_publications",
    metadata,
    Column("quarter", String(7), primary_key=True),
    Column("year", Integer, nullable=False),
    Column("content", JSONB, nullable=False),
    Column("published_by", String(128), nullable=False),
    Column("published_at", DateTime(timezone=True), nullable=False),
)
