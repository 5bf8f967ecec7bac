"""The coordination sweepers, run every ``XN_SWEEP_INTERVAL_SECONDS``: items reach deemed consent
at their deadline (C4), supervised instructions become overdue (C7) and major matters fall behind
(C8: a milestone not reported done by its date, a monthly report not filed), each announced once.

The registered sweepers read the business clock (``ctx.now()``); the use cases they call take
``now`` so tests move time by choosing it.
"""

from __future__ import annotations

from services.coordination.service import instructions, major_progress, matters
from shared.app import ServiceContext


async def sweep_joint_item_deadlines(ctx: ServiceContext) -> int:
    return await matters.sweep_deadlines(ctx, ctx.now())


async def sweep_overdue_instructions(ctx: ServiceContext) -> int:
    return await instructions.sweep_overdue(ctx, ctx.now())


async def sweep_major_matters_behind(ctx: ServiceContext) -> int:
    return await major_progress.sweep_behind(ctx, ctx.now())


SWEEPERS = (sweep_joint_item_deadlines, sweep_overdue_instructions, sweep_major_matters_behind)
