"""Rounds, panels, the secret ballot, reference packs, results and designations (E1–E5).

Also gives department facts their business date (``effective_on``), which decides the quarter
whose reference pack shows them.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.add_column("department_facts", sa.Column("effective_on", sa.Date))
    # Facts recorded before this revision keep the date their event travelled on.
    op.execute(
        "UPDATE department_facts SET effective_on = (occurred_at AT TIME ZONE 'Asia/Shanghai')::date "
        "WHERE effective_on IS NULL"
    )
    op.create_index("ix_department_facts_effective", "department_facts", ["effective_on", "department"])

    op.create_table(
        "rounds",
        sa.Column("id", sa.String(16), primary_key=True),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("vote_on", sa.Date, nullable=False),
        sa.Column("reference_pack_due", sa.Date, nullable=False),
        sa.Column("tally_due", sa.Date, nullable=False),
        sa.Column("candidates", JSONB, nullable=False),
        sa.Column("turnout", sa.Integer, nullable=False, server_default="0"),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("reference_published_at", sa.DateTime(timezone=True)),
        sa.Column("voting_opened_at", sa.DateTime(timezone=True)),
        sa.Column("voting_closed_at", sa.DateTime(timezone=True)),
        sa.Column("tallied_at", sa.DateTime(timezone=True)),
        sa.Column("results_published_at", sa.DateTime(timezone=True)),
    )

    op.create_table(
        "panel_entries",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("round_id", sa.String(16), sa.ForeignKey("rounds.id"), nullable=False),
        sa.Column("person_id", sa.String(128), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("category", sa.String(64), nullable=False),
        sa.Column("district", sa.String(64)),
        sa.Column("organization", sa.String(256)),
        sa.Column("account", sa.String(128), nullable=False),
        sa.Column("named_on", sa.Date),
        sa.Column("added_by", sa.String(128), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.UniqueConstraint("round_id", "person_id", name="uq_panel_entries_person"),
        sa.UniqueConstraint("round_id", "account", name="uq_panel_entries_account"),
    )
    op.create_index("ix_panel_entries_round", "panel_entries", ["round_id", "category", "id"])

    # E5: no serial, no timestamp, nothing that orders or joins participation against ballots.
    op.create_table(
        "participations",
        sa.Column("round_id", sa.String(16), nullable=False),
        sa.Column("entry_id", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("round_id", "entry_id", name="pk_participations"),
    )
    op.create_table(
        "ballots",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("round_id", sa.String(16), nullable=False),
        sa.Column("receipt", sa.String(32), nullable=False),
        sa.Column("choices", JSONB, nullable=False),
        sa.UniqueConstraint("round_id", "receipt", name="uq_ballots_receipt"),
    )

    op.create_table(
        "reference_packs",
        sa.Column("round_id", sa.String(16), sa.ForeignKey("rounds.id"), primary_key=True),
        sa.Column("content", JSONB, nullable=False),
        sa.Column("published_by", sa.String(128), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )

    op.create_table(
        "round_results",
        sa.Column("round_id", sa.String(16), sa.ForeignKey("rounds.id"), nullable=False),
        sa.Column("department", sa.String(32), nullable=False),
        sa.Column("votes", sa.Integer, nullable=False),
        sa.Column("rank", sa.Integer, nullable=False),
        sa.Column("selected", sa.Boolean, nullable=False),
        sa.Column("consecutive_quarters", sa.Integer, nullable=False),
        sa.Column("consequences", JSONB, nullable=False),
        sa.PrimaryKeyConstraint("round_id", "department", name="pk_round_results"),
    )
    op.create_index("ix_round_results_department", "round_results", ["department", "round_id"])

    op.create_table(
        "designations",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("round_id", sa.String(16), sa.ForeignKey("rounds.id"), nullable=False),
        sa.Column("department", sa.String(32), nullable=False),
        sa.Column("consecutive_quarters", sa.Integer, nullable=False),
        sa.Column("quarters", JSONB, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("addressed_to", JSONB, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("issuer", sa.Text, nullable=False),
        sa.Column("issued_on", sa.Date, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.UniqueConstraint("round_id", "department", name="uq_designations_round_department"),
    )
    op.create_index("ix_designations_department", "designations", ["department", "round_id"])


def downgrade() -> None:
    for table in ("designations", "round_results", "reference_packs", "ballots", "participations"):
        op.drop_table(table)
    op.drop_table("panel_entries")
    op.drop_table("rounds")
    op.drop_index("ix_department_facts_effective", table_name="department_facts")
    op.drop_column("department_facts", "effective_on")
