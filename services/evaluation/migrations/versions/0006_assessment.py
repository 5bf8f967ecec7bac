"""Assessment schemes (E6): the year's scheme versions, scores and deductions with their sources,
closed items, decisions on deductions proposed from platform facts, published results."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0006"
down_revision = "0005"


def _by(name: str) -> sa.Column[str]:
    return sa.Column(name, sa.String(128), nullable=False)


def _at(name: str) -> sa.Column[datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False)


def upgrade() -> None:
    op.create_table(
        "assessment_schemes",
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("scheme_id", sa.String(64), nullable=False),
        sa.Column("based_on", sa.String(64)),
        sa.Column("document", JSONB, nullable=False),
        _by("created_by"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("year", "version", name="pk_assessment_schemes"),
    )
    op.create_table(
        "assessment_entries",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("scheme_version", sa.Integer, nullable=False),
        sa.Column("unit", sa.String(64), nullable=False),
        sa.Column("item", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("amount", sa.Numeric(), nullable=False),
        sa.Column("requested", sa.Numeric()),
        sa.Column("capped", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("reason", sa.String(64)),
        sa.Column("matter", sa.String(128)),
        sa.Column("node", sa.String(64)),
        sa.Column("member", sa.String(128)),
        sa.Column("note", sa.Text),
        sa.Column("source_kind", sa.String(16), nullable=False),
        sa.Column("source", sa.Text),
        sa.Column("source_detail", JSONB),
        sa.Column("assessor", sa.String(64), nullable=False),
        _by("entered_by"),
        _at("entered_at"),
        sa.Column("confirmed_by", sa.String(128)),
        sa.Column("confirmed_at", sa.DateTime(timezone=True)),
        sa.Column("withdrawn_by", sa.String(128)),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True)),
        sa.Column("withdrawn_reason", sa.Text),
    )
    op.create_index(
        "ix_assessment_entries_unit", "assessment_entries", ["year", "unit", "item", "entered_at", "id"]
    )
    op.create_index("ix_assessment_entries_item", "assessment_entries", ["year", "item"])
    op.create_table(
        "assessment_closures",
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("item", sa.String(64), nullable=False),
        sa.Column("scheme_version", sa.Integer, nullable=False),
        sa.Column("scores", JSONB, nullable=False),
        sa.Column("assessor", sa.String(64), nullable=False),
        _by("closed_by"),
        _at("closed_at"),
        sa.PrimaryKeyConstraint("year", "item", name="pk_assessment_closures"),
    )
    op.create_table(
        "assessment_decisions",
        sa.Column("proposal_id", sa.Text, primary_key=True),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("unit", sa.String(64), nullable=False),
        sa.Column("item", sa.String(64), nullable=False),
        sa.Column("decision", sa.String(16), nullable=False),
        sa.Column("note", sa.Text),
        sa.Column("entry_id", sa.String(32)),
        sa.Column("assessor", sa.String(64), nullable=False),
        _by("decided_by"),
        _at("decided_at"),
    )
    op.create_index("ix_assessment_decisions_year", "assessment_decisions", ["year", "item"])
    op.create_table(
        "assessment_publications",
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("scheme_version", sa.Integer, nullable=False),
        sa.Column("results", JSONB, nullable=False),
        _by("published_by"),
        _at("published_at"),
        sa.PrimaryKeyConstraint("year", "number", name="pk_assessment_publications"),
    )
