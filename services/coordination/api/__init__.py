"""Coordination HTTP routes (/v1/...): joint matters and items, escalations, overdue tables and
rankings, leader instructions."""

from __future__ import annotations

from fastapi import APIRouter

from services.coordination.api import escalations, instructions, matters, reports

router = APIRouter()
for module in (matters, escalations, reports, instructions):
    router.include_router(module.router)
