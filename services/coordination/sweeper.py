"""The coordination sweepers, run every ``XN_SWEEP_INTERVAL_SECONDS``: items reach deemed consent
at their deadline (C4) and supervised instructions become overdue (C7), each announced once.

The registered sweepers read the wall clock; the use cases they call take ``now`` so tests move
time by choosing it.
"""

from __future__ import annotations

from datetime import UTC, datetime

from services.coordination.service import instructions, matters
from shared.app import ServiceContext


async def sweep_joint_item_deadlines(ctx: ServiceContext) -> int:
    return await matters.sweep_deadlines(ctx, datetime.now(UTC))


async def sweep_overdue_instructions(ctx: ServiceContext) -> int:
    return await instructions.sweep_overdue(ctx, datetime.now(UTC))


SWEEPERS = (sweep_joint_item_deadlines, sweep_overdue_instructions)
