"""The service's copy of the official holiday tables (calendar-year-published).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from __future__ import annotations

from shared.migrations import create_calendar_tables

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_calendar_tables()
