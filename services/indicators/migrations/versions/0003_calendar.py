"""The service's copy of the official holiday tables (calendar-year-published), and whether a
report duty's due date was counted through a year without its official table yet.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from shared.migrations import create_calendar_tables

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_calendar_tables()
    op.add_column(
        "report_duties",
        sa.Column("deadline_provisional", sa.Boolean, nullable=False, server_default=sa.false()),
    )


def downgrade() -> None:
    op.drop_column("report_duties", "deadline_provisional")
    op.drop_table("calendar_years")
