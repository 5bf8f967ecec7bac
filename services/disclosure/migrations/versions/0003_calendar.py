"""The service's copy of the official holiday tables (calendar-year-published), and whether a
version's publication deadline was counted through a year without its official table yet.

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
    # Versions formed before this revision were counted on official tables only.
    op.add_column(
        "document_versions",
        sa.Column("deadline_provisional", sa.Boolean, nullable=False, server_default=sa.false()),
    )


def downgrade() -> None:
    op.drop_column("document_versions", "deadline_provisional")
    op.drop_table("calendar_years")
