"""Tables of the indicators service: the catalogue, releases, bulletins and the duties they cause.

Kept identical to the migrations (tests/service/test_migrations.py checks the names).
"""

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
    Numeric,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

metadata = MetaData()

# I1: one row per catalogue item; what it means over time lives in its definitions.
indicators = Table(
    "indicators",
    metadata,
    Column("code", String(64), primary_key=True),
    Column("frequency", String(16), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("created_by", String(128), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("ix_indicators_listing", "frequency", "seq", "code"),
)

indicator_definitions = Table(
    "indicator_definitions",
    metadata,
    Column("indicator", String(64), ForeignKey("indicators.code"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("name", Text, nullable=False),
    Column("attribute", String(32)),
    Column("unit", String(32), nullable=False),
    Column("precision", Integer, nullable=False),
    Column("departments", ARRAY(String(32)), nullable=False),
    Column("grades", ARRAY(Text), nullable=False),
    Column("low_grades", ARRAY(Text), nullable=False),
    Column("effective_from", Date, nullable=False),
    Column("effective_to", Date),
    Column("note", Text),
    Column("recorded_by", String(128), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("indicator", "version", name="pk_indicator_definitions"),
    Index("ix_indicator_definitions_effective", "indicator", "effective_from"),
)

# I3: one row per indicator and period; its revisions keep the history of corrections.
releases = Table(
    "releases",
    metadata,
    Column("indicator", String(64), ForeignKey("indicators.code"), nullable=False),
    Column("period", String(8), nullable=False),
    Column("period_key", Integer, nullable=False),
    Column("current_revision", Integer, nullable=False),
    Column("published_revision", Integer),
    Column("published_edition", Integer),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("indicator", "period", name="pk_releases"),
    Index("ix_releases_period", "period", "indicator"),
    Index("ix_releases_indicator_key", "indicator", "period_key"),
)

release_revisions = Table(
    "release_revisions",
    metadata,
    Column("indicator", String(64), nullable=False),
    Column("period", String(8), nullable=False),
    Column("revision", Integer, nullable=False),
    Column("definition_version", Integer, nullable=False),
    Column("input", JSONB, nullable=False),
    Column("given", Boolean, nullable=False),
    Column("cities", Integer, nullable=False),
    Column("rank", Integer),
    Column("grade", Text),
    Column("low_grade", Boolean, nullable=False),
    Column("value", Numeric),
    Column("ranking", JSONB, nullable=False),
    Column("source", Text),
    Column("reason", Text),
    Column("recorded_by", String(128), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("indicator", "period", "revision", name="pk_release_revisions"),
    ForeignKeyConstraint(
        ["indicator", "period"],
        ["releases.indicator", "releases.period"],
        name="fk_release_revisions_release",
    ),
)

# I3: each publication of a period is an edition; its content is the bulletin exactly as published.
bulletins = Table(
    "bulletins",
    metadata,
    Column("id", String(48), primary_key=True),
    Column("period", String(8), nullable=False),
    Column("frequency", String(16), nullable=False),
    Column("edition", Integer, nullable=False),
    Column("issued_on", Date, nullable=False),
    Column("published_at", DateTime(timezone=True), nullable=False),
    Column("published_by", String(128), nullable=False),
    Column("content", JSONB, nullable=False),
    UniqueConstraint("period", "edition", name="uq_bulletins_period_edition"),
    Index("ix_bulletins_listing", "published_at", "id"),
    Index("ix_bulletins_frequency", "frequency", "published_at", "id"),
)

# I4: the lead department's head reports on a release worse than the threshold.
report_duties = Table(
    "report_duties",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("indicator", String(64), nullable=False),
    Column("period", String(8), nullable=False),
    Column("department", String(32), nullable=False),
    Column("revision", Integer, nullable=False),
    Column("rank", Integer),
    Column("grade", Text),
    Column("cities", Integer, nullable=False),
    Column("reason", Text, nullable=False),
    Column("bulletin_id", String(48), nullable=False),
    Column("status", String(16), nullable=False),
    Column("issued_on", Date, nullable=False),
    Column("due_at", DateTime(timezone=True), nullable=False),
    # The due date was counted through a year without its official holiday table: it moves when
    # that table is published (recompute_deadlines).
    Column("deadline_provisional", Boolean, nullable=False, server_default=false()),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("causes", Text),
    Column("targets", Text),
    Column("measures", Text),
    Column("filed_at", DateTime(timezone=True)),
    Column("filed_by", String(128)),
    Column("late", Boolean),
    Column("overdue_at", DateTime(timezone=True)),
    Column("withdrawn_at", DateTime(timezone=True)),
    Column("withdrawn_reason", Text),
    # The sweeper claims open duties by due date.
    Index("ix_report_duties_open_due", "due_at", postgresql_where=text("status = 'open'")),
    # One live duty per release; a withdrawn one may be followed by a new one.
    Index(
        "uq_report_duties_live",
        "indicator",
        "period",
        unique=True,
        postgresql_where=text("status <> 'withdrawn'"),
    ),
    Index("ix_report_duties_listing", "created_at", "id"),
    Index("ix_report_duties_department", "department", "created_at", "id"),
)

# I5: the vice-mayor and deputy secretary-general in charge interview the lead department's head.
interviews = Table(
    "interviews",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("indicator", String(64), nullable=False),
    Column("period", String(8), nullable=False),
    Column("department", String(32), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("reason", Text, nullable=False),
    Column("interviewers", ARRAY(String(32)), nullable=False),
    Column("run", ARRAY(String(8)), nullable=False),
    Column("bulletin_id", String(48), nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("withdrawn_at", DateTime(timezone=True)),
    Index(
        "uq_interviews_live",
        "indicator",
        "period",
        unique=True,
        postgresql_where=text("status = 'required'"),
    ),
    Index("ix_interviews_listing", "created_at", "id"),
    Index("ix_interviews_department", "department", "created_at", "id"),
)
