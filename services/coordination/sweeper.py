"""The coordination sweepers, run every ``XN_SWEEP_INTERVAL_SECONDS``: items reach deemed consent
at their deadline (C4) and supervised instructions become overdue (C7), each announced once.

The registered sweepers read the business clock (``ctx.now()``); the use cases they call take
``now`` so tests move time by choosing it.
"""

from __future__ import annotations

from services.coordination.service import instructions, matters
from shared.app import ServiceContext


async def sweep_joint_item_deadlines(ctx: ServiceContext) -> int:
    return await matters.sweep_deadlines(ctx, ctx.now())


async def sweep_overdue_instructions(ctx: ServiceContext) -> int:
    return await instructions.sweep_overdue(ctx, ctx.now())


SWEEPERS = (sweep_joint_item_deadlines, sweep_overdue_instructions)
