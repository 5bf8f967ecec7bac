"""Leader instructions handled on paper, entered later (补录, C7): beside the instant a step
states, when the record was entered (``*_recorded_at``) and, for the instruction's first
assignment, by whom (``instructions.assigned_by``). Rows entered before this revision were
entered as they happened: both instants are the same.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"


def _at(name: str) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.DateTime(timezone=True), nullable=True)


def upgrade() -> None:
    op.add_column("instructions", _at("proposal_recorded_at"))
    op.add_column("instructions", sa.Column("assigned_by", sa.String(128), nullable=True))
    op.add_column("instructions", _at("assignment_recorded_at"))
    op.add_column("instruction_assignments", _at("assignment_recorded_at"))
    op.add_column("instruction_assignments", _at("feedback_recorded_at"))
    op.execute(
        "UPDATE instruction_assignments SET assignment_recorded_at = assigned_at,"
        " feedback_recorded_at = feedback_at"
    )
    op.alter_column("instruction_assignments", "assignment_recorded_at", nullable=False)
    op.execute(
        "UPDATE instructions i SET proposal_recorded_at = i.proposed_at,"
        " assignment_recorded_at = i.assigned_at,"
        " assigned_by = (SELECT a.assigned_by FROM instruction_assignments a"
        " WHERE a.instruction_id = i.id ORDER BY a.assigned_at, a.id LIMIT 1)"
        " WHERE i.assigned_at IS NOT NULL OR i.proposed_at IS NOT NULL"
    )


def downgrade() -> None:
    op.drop_column("instruction_assignments", "feedback_recorded_at")
    op.drop_column("instruction_assignments", "assignment_recorded_at")
    op.drop_column("instructions", "assignment_recorded_at")
    op.drop_column("instructions", "assigned_by")
    op.drop_column("instructions", "proposal_recorded_at")
