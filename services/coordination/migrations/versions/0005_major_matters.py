"""Major matters (年度重大事项, C8): the year's list, its changes, milestones, monthly report duties
and reports, on-site checks, close-off requests, year-end scores and quarterly public snapshots."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0005"
down_revision = "0004"


def _at(name: str, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _matter(primary_key: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(
        "matter_id", sa.String(40), sa.ForeignKey("major_matters.id"), nullable=False, primary_key=primary_key
    )


def upgrade() -> None:
    op.create_table(
        "major_matters",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("task", sa.Text, nullable=False),
        sa.Column("lead_department", sa.String(32), nullable=False),
        sa.Column("cooperating", JSONB, nullable=False),
        sa.Column("leader", sa.String(64), nullable=False),
        sa.Column("responsible_person", sa.String(64), nullable=False),
        sa.Column("contact_phone", sa.String(32)),
        sa.Column("completion_due", sa.Date, nullable=False),
        sa.Column("quarter_targets", JSONB, nullable=False),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("listed_on", sa.Date, nullable=False),
        sa.Column("listed_by", sa.String(128), nullable=False),
        _at("listed_at"),
        sa.Column("closed_off_by", sa.String(128)),
        _at("closed_off_at", nullable=True),
        sa.UniqueConstraint("year", "number", name="uq_major_matters_number"),
    )
    op.create_index("ix_major_matters_lead", "major_matters", ["lead_department", "year"])
    op.create_index("ix_major_matters_leader", "major_matters", ["leader", "year"])

    op.create_table(
        "major_matter_changes",
        _matter(),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("changes", JSONB, nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("changed_by", sa.String(128), nullable=False),
        _at("changed_at"),
        sa.PrimaryKeyConstraint("matter_id", "seq", name="pk_major_matter_changes"),
    )

    op.create_table(
        "major_milestones",
        sa.Column("id", sa.String(40), primary_key=True),
        _matter(),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("due_on", sa.Date, nullable=False),
        _at("deadline"),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("done_on", sa.Date),
        _at("done_reported_at", nullable=True),
        sa.Column("done_by", sa.String(128)),
        sa.Column("done_evidence", JSONB),
        _at("behind_at", nullable=True),
    )
    op.create_index("ix_major_milestones_matter", "major_milestones", ["matter_id", "seq"])
    op.create_index(
        "ix_major_milestones_unannounced",
        "major_milestones",
        ["deadline"],
        postgresql_where=sa.text("behind_at IS NULL"),
    )

    op.create_table(
        "major_report_duties",
        _matter(),
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("lead_department", sa.String(32), nullable=False),
        _at("deadline"),
        _at("reported_at", nullable=True),
        _at("behind_at", nullable=True),
        _at("cancelled_at", nullable=True),
        sa.PrimaryKeyConstraint("matter_id", "month", name="pk_major_report_duties"),
    )
    op.create_index(
        "ix_major_report_duties_unannounced",
        "major_report_duties",
        ["deadline"],
        postgresql_where=sa.text("behind_at IS NULL AND cancelled_at IS NULL"),
    )

    op.create_table(
        "major_progress_reports",
        sa.Column("id", sa.String(40), primary_key=True),
        _matter(),
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("department", sa.String(32), nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("public_summary", sa.Text),
        sa.Column("milestones", JSONB, nullable=False),
        sa.Column("evidence", JSONB, nullable=False),
        sa.Column("delay_reason", sa.Text),
        sa.Column("late", sa.Boolean, nullable=False),
        sa.Column("submitted_by", sa.String(128), nullable=False),
        _at("submitted_at"),
        sa.UniqueConstraint("matter_id", "month", name="uq_major_progress_reports_month"),
    )

    op.create_table(
        "major_checks",
        sa.Column("id", sa.String(40), primary_key=True),
        _matter(),
        sa.Column("checked_on", sa.Date, nullable=False),
        sa.Column("inspectors", sa.Text, nullable=False),
        sa.Column("findings", sa.Text, nullable=False),
        sa.Column("attachments", JSONB, nullable=False),
        sa.Column("recorded_by", sa.String(128), nullable=False),
        _at("recorded_at"),
    )
    op.create_index("ix_major_checks_matter", "major_checks", ["matter_id", "checked_on"])

    op.create_table(
        "major_close_offs",
        sa.Column("id", sa.String(40), primary_key=True),
        _matter(),
        sa.Column("statement", sa.Text, nullable=False),
        sa.Column("evidence", JSONB, nullable=False),
        sa.Column("requested_by", sa.String(128), nullable=False),
        _at("requested_at"),
        sa.Column("decision", sa.String(16)),
        sa.Column("reason", sa.Text),
        sa.Column("decided_by", sa.String(128)),
        _at("decided_at", nullable=True),
    )
    op.create_index("ix_major_close_offs_matter", "major_close_offs", ["matter_id", "requested_at"])

    op.create_table(
        "major_scores",
        _matter(primary_key=True),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("score", sa.Numeric(5, 1), nullable=False),
        sa.Column("comment", sa.Text),
        sa.Column("meeting", sa.Text, nullable=False),
        sa.Column("scored_on", sa.Date, nullable=False),
        sa.Column("recorded_by", sa.String(128), nullable=False),
        _at("recorded_at"),
    )

    op.create_table(
        "major_publications",
        sa.Column("quarter", sa.String(7), primary_key=True),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("content", JSONB, nullable=False),
        sa.Column("published_by", sa.String(128), nullable=False),
        _at("published_at"),
    )


def downgrade() -> None:
    for table in (
        "major_publications",
        "major_scores",
        "major_close_offs",
        "major_checks",
        "major_progress_reports",
        "major_report_duties",
        "major_milestones",
        "major_matter_changes",
        "major_matters",
    ):
        op.drop_table(table)
