"""The service's copy of the official holiday tables (calendar-year-published), and whether a
version's publication deadline was counted through a year without its official table yet.
"""

from __future__ import annotations

from alembic import op

from shared.migrations import add_deadline_provisional, create_calendar_tables, drop_deadline_provisional

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    create_calendar_tables()
    add_deadline_provisional("document_versions")


def downgrade() -> None:
    drop_deadline_provisional("document_versions")
    op.drop_table("calendar_years")
