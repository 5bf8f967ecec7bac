"""The indicators sweeper: report duties whose due date passed become overdue (I4)."""

from __future__ import annotations

from services.indicators.service import duties
from shared.app import ServiceContext


async def overdue_report_duties(ctx: ServiceContext) -> int:
    """Registered with the service, on the business clock; tests call
    ``duties.sweep_overdue_report_duties`` with a chosen now."""
    return await duties.sweep_overdue_report_duties(ctx, ctx.now())
