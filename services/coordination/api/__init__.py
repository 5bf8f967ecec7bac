"""Coordination HTTP routes (/v1/...): joint matters and items, escalations, overdue tables and
rankings, leader instructions, major matters."""

from __future__ import annotations

from services.coordination.api import (
    escalations,
    instructions,
    major_matters,
    major_reports,
    matters,
    reports,
)

ROUTERS = (
    matters.router,
    escalations.router,
    reports.router,
    instructions.router,
    major_matters.router,
    major_reports.router,
)
