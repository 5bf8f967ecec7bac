"""Coordination HTTP routes (/v1/...): joint matters and items, escalations, overdue tables and
rankings, leader instructions."""

from __future__ import annotations

from services.coordination.api import escalations, instructions, matters, reports

ROUTERS = (matters.router, escalations.router, reports.router, instructions.router)
