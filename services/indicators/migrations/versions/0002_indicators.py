"""Catalogue, releases and revisions, bulletins, report duties and interviews.

The catalogue is seeded from the reference data when the service starts (idempotently), not
here, so a migration never changes with the reference files.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

revision = "0002"
down_revision = "0001"


def _now() -> sa.sql.elements.TextClause:
    return sa.text("now()")


def upgrade() -> None:
    op.create_table(
        "indicators",
        sa.Column("code", sa.String(64), primary_key=True),
        sa.Column("frequency", sa.String(16), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=_now()),
    )
    op.create_index("ix_indicators_listing", "indicators", ["frequency", "seq", "code"])

    op.create_table(
        "indicator_definitions",
        sa.Column("indicator", sa.String(64), sa.ForeignKey("indicators.code"), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("attribute", sa.String(32)),
        sa.Column("unit", sa.String(32), nullable=False),
        sa.Column("precision", sa.Integer, nullable=False),
        sa.Column("departments", ARRAY(sa.String(32)), nullable=False),
        sa.Column("grades", ARRAY(sa.Text), nullable=False),
        sa.Column("low_grades", ARRAY(sa.Text), nullable=False),
        sa.Column("effective_from", sa.Date, nullable=False),
        sa.Column("effective_to", sa.Date),
        sa.Column("note", sa.Text),
        sa.Column("recorded_by", sa.String(128), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False, server_default=_now()),
        sa.PrimaryKeyConstraint("indicator", "version", name="pk_indicator_definitions"),
    )
    op.create_index(
        "ix_indicator_definitions_effective", "indicator_definitions", ["indicator", "effective_from"]
    )

    op.create_table(
        "releases",
        sa.Column("indicator", sa.String(64), sa.ForeignKey("indicators.code"), nullable=False),
        sa.Column("period", sa.String(8), nullable=False),
        sa.Column("period_key", sa.Integer, nullable=False),
        sa.Column("current_revision", sa.Integer, nullable=False),
        sa.Column("published_revision", sa.Integer),
        sa.Column("published_edition", sa.Integer),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=_now()),
        sa.PrimaryKeyConstraint("indicator", "period", name="pk_releases"),
    )
    op.create_index("ix_releases_period", "releases", ["period", "indicator"])
    op.create_index("ix_releases_indicator_key", "releases", ["indicator", "period_key"])

    op.create_table(
        "release_revisions",
        sa.Column("indicator", sa.String(64), nullable=False),
        sa.Column("period", sa.String(8), nullable=False),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("definition_version", sa.Integer, nullable=False),
        sa.Column("input", JSONB, nullable=False),
        sa.Column("given", sa.Boolean, nullable=False),
        sa.Column("cities", sa.Integer, nullable=False),
        sa.Column("rank", sa.Integer),
        sa.Column("grade", sa.Text),
        sa.Column("low_grade", sa.Boolean, nullable=False),
        sa.Column("value", sa.Numeric),
        sa.Column("ranking", JSONB, nullable=False),
        sa.Column("source", sa.Text),
        sa.Column("reason", sa.Text),
        sa.Column("recorded_by", sa.String(128), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False, server_default=_now()),
        sa.PrimaryKeyConstraint("indicator", "period", "revision", name="pk_release_revisions"),
        sa.ForeignKeyConstraint(
            ["indicator", "period"],
            ["releases.indicator", "releases.period"],
            name="fk_release_revisions_release",
        ),
    )

    op.create_table(
        "bulletins",
        sa.Column("id", sa.String(48), primary_key=True),
        sa.Column("period", sa.String(8), nullable=False),
        sa.Column("frequency", sa.String(16), nullable=False),
        sa.Column("edition", sa.Integer, nullable=False),
        sa.Column("issued_on", sa.Date, nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_by", sa.String(128), nullable=False),
        sa.Column("content", JSONB, nullable=False),
        sa.UniqueConstraint("period", "edition", name="uq_bulletins_period_edition"),
    )
    op.create_index("ix_bulletins_listing", "bulletins", ["published_at", "id"])
    op.create_index("ix_bulletins_frequency", "bulletins", ["frequency", "published_at", "id"])

    op.create_table(
        "report_duties",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("indicator", sa.String(64), nullable=False),
        sa.Column("period", sa.String(8), nullable=False),
        sa.Column("department", sa.String(32), nullable=False),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("rank", sa.Integer),
        sa.Column("grade", sa.Text),
        sa.Column("cities", sa.Integer, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("bulletin_id", sa.String(48), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("issued_on", sa.Date, nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("causes", sa.Text),
        sa.Column("targets", sa.Text),
        sa.Column("measures", sa.Text),
        sa.Column("filed_at", sa.DateTime(timezone=True)),
        sa.Column("filed_by", sa.String(128)),
        sa.Column("late", sa.Boolean),
        sa.Column("overdue_at", sa.DateTime(timezone=True)),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True)),
        sa.Column("withdrawn_reason", sa.Text),
    )
    op.create_index(
        "ix_report_duties_open_due", "report_duties", ["due_at"], postgresql_where=sa.text("status = 'open'")
    )
    op.create_index(
        "uq_report_duties_live",
        "report_duties",
        ["indicator", "period"],
        unique=True,
        postgresql_where=sa.text("status <> 'withdrawn'"),
    )
    op.create_index("ix_report_duties_listing", "report_duties", ["created_at", "id"])
    op.create_index("ix_report_duties_department", "report_duties", ["department", "created_at", "id"])

    op.create_table(
        "interviews",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("indicator", sa.String(64), nullable=False),
        sa.Column("period", sa.String(8), nullable=False),
        sa.Column("department", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("interviewers", ARRAY(sa.String(32)), nullable=False),
        sa.Column("run", ARRAY(sa.String(8)), nullable=False),
        sa.Column("bulletin_id", sa.String(48), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True)),
    )
    op.create_index(
        "uq_interviews_live",
        "interviews",
        ["indicator", "period"],
        unique=True,
        postgresql_where=sa.text("status = 'required'"),
    )
    op.create_index("ix_interviews_listing", "interviews", ["created_at", "id"])
    op.create_index("ix_interviews_department", "interviews", ["department", "created_at", "id"])


def downgrade() -> None:
    op.drop_table("interviews")
    op.drop_table("report_duties")
    op.drop_table("bulletins")
    op.drop_table("release_revisions")
    op.drop_table("releases")
    op.drop_table("indicator_definitions")
    op.drop_table("indicators")
