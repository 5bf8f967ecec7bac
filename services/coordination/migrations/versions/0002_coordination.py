"""Joint matters, items, feedback, escalations, overdue-table reviews, leader instructions."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0002"
down_revision = "0001"


def _at(name: str, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "joint_matters",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("lead_department", sa.String(32), nullable=False),
        sa.Column("basis", sa.Text, nullable=False),
        sa.Column("main_matter", sa.Text, nullable=False),
        sa.Column("requirements", sa.Text, nullable=False),
        sa.Column("contact_person", sa.String(64), nullable=False),
        sa.Column("contact_phone", sa.String(32), nullable=False),
        sa.Column("fax", sa.String(32)),
        sa.Column("attachments", JSONB, nullable=False),
        sa.Column("copied_to", JSONB, nullable=False),
        sa.Column("assigned_on", sa.Date, nullable=False),
        sa.Column("supersedes", sa.String(40), sa.ForeignKey("joint_matters.id")),
        sa.Column("created_by", sa.String(128), nullable=False),
        _at("created_at"),
    )
    op.create_index("ix_joint_matters_created", "joint_matters", ["created_at", "id"])
    op.create_index("ix_joint_matters_lead", "joint_matters", ["lead_department", "created_at", "id"])

    op.create_table(
        "matter_approvals",
        sa.Column("matter_id", sa.String(40), sa.ForeignKey("joint_matters.id"), nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("leader", sa.String(64), nullable=False),
        sa.Column("approved_on", sa.Date, nullable=False),
        sa.Column("reference", sa.Text),
        sa.Column("recorded_by", sa.String(128), nullable=False),
        _at("recorded_at"),
        sa.PrimaryKeyConstraint("matter_id", "level", name="pk_matter_approvals"),
    )
    op.create_index("ix_matter_approvals_leader", "matter_approvals", ["leader", "matter_id"])

    op.create_table(
        "joint_items",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("matter_id", sa.String(40), sa.ForeignKey("joint_matters.id"), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("department", sa.String(32), nullable=False),
        sa.Column("content", sa.Text, nullable=False),
        sa.Column("tier", sa.String(16), nullable=False),
        sa.Column("feedback_days", sa.Integer, nullable=False),
        sa.Column("day_unit", sa.String(16), nullable=False),
        sa.Column("due_on", sa.Date, nullable=False),
        _at("deadline"),
        sa.Column("state", sa.String(32), nullable=False),
        _at("acknowledged_at", nullable=True),
        sa.Column("acknowledged_by", sa.String(128)),
        _at("closed_at", nullable=True),
        _at("swept_at", nullable=True),
        _at("created_at"),
        sa.UniqueConstraint("matter_id", "seq", name="uq_joint_items_seq"),
        sa.UniqueConstraint("matter_id", "department", name="uq_joint_items_department"),
    )
    op.create_index("ix_joint_items_department", "joint_items", ["department", "created_at", "id"])
    op.create_index("ix_joint_items_due_on", "joint_items", ["due_on"])
    op.create_index(
        "ix_joint_items_open_deadline",
        "joint_items",
        ["deadline"],
        postgresql_where=sa.text("state IN ('assigned', 'acknowledged')"),
    )

    op.create_table(
        "item_feedback",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("seq", sa.BigInteger, sa.Identity(always=True), nullable=False, unique=True),
        sa.Column("item_id", sa.String(40), sa.ForeignKey("joint_items.id"), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("content", sa.Text, nullable=False),
        sa.Column("signed_by", sa.String(64), nullable=False),
        sa.Column("stamped", sa.Boolean, nullable=False),
        sa.Column("attachments", JSONB, nullable=False),
        sa.Column("delay_reason", sa.Text),
        sa.Column("late", sa.Boolean, nullable=False),
        sa.Column("corrects", sa.String(40), sa.ForeignKey("item_feedback.id")),
        sa.Column("submitted_by", sa.String(128), nullable=False),
        _at("submitted_at"),
    )
    op.create_index("ix_item_feedback_item", "item_feedback", ["item_id", "seq"])

    op.create_table(
        "escalations",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("item_id", sa.String(40), sa.ForeignKey("joint_items.id"), nullable=False, unique=True),
        sa.Column("matter_id", sa.String(40), sa.ForeignKey("joint_matters.id"), nullable=False),
        sa.Column("lead_department", sa.String(32), nullable=False),
        sa.Column("department", sa.String(32), nullable=False),
        sa.Column("chain", JSONB, nullable=False),
        sa.Column("level", sa.Integer, nullable=False),
        sa.Column("holder", sa.String(64), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        _at("raised_at"),
    )
    op.create_index("ix_escalations_holder", "escalations", ["holder", "raised_at", "id"])
    op.create_index("ix_escalations_raised", "escalations", ["raised_at", "id"])

    op.create_table(
        "escalation_steps",
        sa.Column("escalation_id", sa.String(40), sa.ForeignKey("escalations.id"), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("step", sa.String(16), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("actor_client", sa.String(128), nullable=False),
        sa.Column("recipient", sa.String(64)),
        sa.Column("note", sa.Text),
        _at("at"),
        sa.PrimaryKeyConstraint("escalation_id", "seq", name="pk_escalation_steps"),
    )

    op.create_table(
        "overdue_reviews",
        sa.Column("lead_department", sa.String(32), nullable=False),
        sa.Column("period", sa.String(16), nullable=False),
        sa.Column("reviewer", sa.String(64), nullable=False),
        sa.Column("reviewed_by", sa.String(128), nullable=False),
        _at("reviewed_at"),
        sa.Column("rows", sa.Integer, nullable=False),
        sa.Column("note", sa.Text),
        sa.PrimaryKeyConstraint("lead_department", "period", name="pk_overdue_reviews"),
    )

    op.create_table(
        "instructions",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("leader", sa.String(64), nullable=False),
        sa.Column("category", sa.String(32), nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("content", sa.Text, nullable=False),
        sa.Column("source_document", sa.Text),
        _at("received_at"),
        _at("assignment_due"),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("registered_by", sa.String(128), nullable=False),
        _at("registered_at"),
        sa.Column("proposal", sa.Text),
        sa.Column("proposed_by", sa.String(128)),
        _at("proposed_at", nullable=True),
        _at("assigned_at", nullable=True),
        sa.Column("held_overnight", sa.Boolean),
        sa.Column("archived_by", sa.String(128)),
        _at("archived_at", nullable=True),
    )
    op.create_index("ix_instructions_registered", "instructions", ["registered_at", "id"])
    op.create_index("ix_instructions_leader", "instructions", ["leader", "registered_at", "id"])

    op.create_table(
        "instruction_assignments",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("instruction_id", sa.String(40), sa.ForeignKey("instructions.id"), nullable=False),
        sa.Column("department", sa.String(32), nullable=False),
        sa.Column("requirement", sa.Text),
        sa.Column("supervised", sa.Boolean, nullable=False),
        sa.Column("due_on", sa.Date, nullable=False),
        _at("deadline"),
        sa.Column("assigned_by", sa.String(128), nullable=False),
        _at("assigned_at"),
        sa.Column("feedback", sa.Text),
        sa.Column("feedback_by", sa.String(128)),
        _at("feedback_at", nullable=True),
        sa.Column("feedback_late", sa.Boolean),
        _at("overdue_at", nullable=True),
        sa.UniqueConstraint("instruction_id", "department", name="uq_instruction_assignments_department"),
    )
    op.create_index(
        "ix_instruction_assignments_department",
        "instruction_assignments",
        ["department", "assigned_at", "id"],
    )
    op.create_index(
        "ix_instruction_assignments_supervised_due",
        "instruction_assignments",
        ["due_on"],
        postgresql_where=sa.text("supervised"),
    )
    op.create_index(
        "ix_instruction_assignments_open_deadline",
        "instruction_assignments",
        ["deadline"],
        postgresql_where=sa.text("supervised AND feedback_at IS NULL AND overdue_at IS NULL"),
    )

    op.create_table(
        "instruction_explanations",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column(
            "assignment_id", sa.String(40), sa.ForeignKey("instruction_assignments.id"), nullable=False
        ),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("filed_by", sa.String(128), nullable=False),
        _at("filed_at"),
    )
    op.create_index(
        "ix_instruction_explanations_assignment", "instruction_explanations", ["assignment_id", "filed_at"]
    )


def downgrade() -> None:
    for table in (
        "instruction_explanations",
        "instruction_assignments",
        "instructions",
        "overdue_reviews",
        "escalation_steps",
        "escalations",
        "item_feedback",
        "joint_items",
        "matter_approvals",
        "joint_matters",
    ):
        op.drop_table(table)
