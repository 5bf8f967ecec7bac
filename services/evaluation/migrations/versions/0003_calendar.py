"""The service's copy of the official holiday tables (calendar-year-published)."""

from __future__ import annotations

from shared.migrations import create_calendar_tables

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    create_calendar_tables()
