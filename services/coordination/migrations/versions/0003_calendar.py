"""The service's copy of the official holiday tables (calendar-year-published), and what the
deadlines of items and assignments need to be recomputed when a year's table is published.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from shared.migrations import add_deadline_provisional, create_calendar_tables

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    create_calendar_tables()
    add_deadline_provisional("joint_items", "instruction_assignments")
    op.add_column(
        "instruction_assignments",
        sa.Column("due_stated", sa.Boolean, nullable=False, server_default=sa.false()),
    )
    # Supervised assignments always state their limit; an earlier one was defaulted (不过夜) only if
    # it ends on the day it was assigned, and a limit stated as that same day ends at the same instant.
    op.execute(
        "UPDATE instruction_assignments SET due_stated = true "
        "WHERE supervised OR due_on <> (assigned_at AT TIME ZONE 'Asia/Shanghai')::date"
    )
