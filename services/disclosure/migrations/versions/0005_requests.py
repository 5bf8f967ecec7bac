"""Disclosure on request (D7): requests with their answer clocks and the log of every clock
change, public policy inquiries (004), and failed access-code look-ups for the rate limit."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    op.create_table(
        "disclosure_requests",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("number", sa.String(32), nullable=False),
        sa.Column("access_code_hash", sa.String(64), nullable=False),
        sa.Column("department", sa.String(32), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("submitted_on", sa.Date),
        sa.Column("signed_for_on", sa.Date),
        sa.Column("confirmed_on", sa.Date),
        sa.Column("received_on", sa.Date, nullable=False),
        sa.Column("applicant_type", sa.String(32), nullable=False),
        sa.Column("applicant", JSONB, nullable=False),
        sa.Column("content", sa.Text, nullable=False),
        sa.Column("form", sa.String(16), nullable=False),
        sa.Column("delivery", sa.String(16), nullable=False),
        sa.Column("registered_by", sa.String(128), nullable=False),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("clock_start_on", sa.Date, nullable=False),
        sa.Column("extension_days", sa.Integer, nullable=False, server_default="0"),
        sa.Column("paused_days", sa.Integer, nullable=False, server_default="0"),
        sa.Column("consulting_since", sa.Date),
        sa.Column("deadline", sa.DateTime(timezone=True)),
        sa.Column("deadline_provisional", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("overdue_at", sa.DateTime(timezone=True)),
        sa.Column("completion_notified_on", sa.Date),
        sa.Column("completion_items", sa.Text),
        sa.Column("complete_by", sa.Date),
        sa.Column("completion_deadline", sa.DateTime(timezone=True)),
        sa.Column("completed_on", sa.Date),
        sa.Column("extension_reason", sa.Text),
        sa.Column("extension_consented_by", sa.String(64)),
        sa.Column("extension_notified_on", sa.Date),
        sa.Column("answer_kind", sa.String(24)),
        sa.Column("answer_ground", sa.String(40)),
        sa.Column("answer_reason", sa.Text),
        sa.Column("answer_documents", JSONB),
        sa.Column("responsible_organ", sa.Text),
        sa.Column("answered_at", sa.DateTime(timezone=True)),
        sa.Column("answered_by", sa.String(128)),
        sa.Column("answered_late", sa.Boolean),
        sa.Column("abandoned_at", sa.DateTime(timezone=True)),
        sa.Column("concluded_on", sa.Date),
        sa.UniqueConstraint("number", name="uq_disclosure_requests_number"),
    )
    op.create_index(
        "ix_disclosure_requests_department", "disclosure_requests", ["department", "registered_at", "id"]
    )
    op.create_index("ix_disclosure_requests_received", "disclosure_requests", ["department", "received_on"])
    op.create_index(
        "ix_disclosure_requests_running",
        "disclosure_requests",
        ["deadline"],
        postgresql_where=sa.text("status IN ('pending', 'consulting') AND overdue_at IS NULL"),
    )
    op.create_index(
        "ix_disclosure_requests_completion",
        "disclosure_requests",
        ["completion_deadline"],
        postgresql_where=sa.text("status = 'awaiting-completion'"),
    )
    op.create_table(
        "request_clock_changes",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("request_id", sa.String(40), sa.ForeignKey("disclosure_requests.id"), nullable=False),
        sa.Column("change", sa.String(32), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("changed_by", sa.String(128), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("old_deadline", sa.DateTime(timezone=True)),
        sa.Column("new_deadline", sa.DateTime(timezone=True)),
    )
    op.create_index("ix_request_clock_changes_request", "request_clock_changes", ["request_id", "id"])
    op.create_table(
        "policy_inquiries",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("number", sa.String(32), nullable=False),
        sa.Column("access_code_hash", sa.String(64), nullable=False),
        sa.Column("department", sa.String(32), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("mobile", sa.String(20), nullable=False),
        sa.Column("email", sa.String(254)),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("content", sa.Text, nullable=False),
        sa.Column("public", sa.Boolean, nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deadline", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deadline_provisional", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("overdue_at", sa.DateTime(timezone=True)),
        sa.Column("reply", sa.Text),
        sa.Column("replied_at", sa.DateTime(timezone=True)),
        sa.Column("replied_by", sa.String(128)),
        sa.Column("replied_late", sa.Boolean),
        sa.UniqueConstraint("number", name="uq_policy_inquiries_number"),
    )
    op.create_index("ix_policy_inquiries_department", "policy_inquiries", ["department", "received_at", "id"])
    op.create_index(
        "ix_policy_inquiries_public",
        "policy_inquiries",
        ["replied_at", "id"],
        postgresql_where=sa.text("public AND status = 'replied'"),
    )
    op.create_index(
        "ix_policy_inquiries_open",
        "policy_inquiries",
        ["deadline"],
        postgresql_where=sa.text("status = 'open' AND overdue_at IS NULL"),
    )
    op.create_table(
        "access_failures",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("caller", sa.String(64), nullable=False),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_access_failures_caller", "access_failures", ["caller", "failed_at"])


def downgrade() -> None:
    op.drop_table("access_failures")
    op.drop_table("policy_inquiries")
    op.drop_table("request_clock_changes")
    op.drop_table("disclosure_requests")
