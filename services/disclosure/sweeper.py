"""D3: open versions past their deadline become overdue, once each, and deadline-passed is announced.

``mark_overdue`` takes the clock as an argument so tests choose ``now``; the registered sweeper
passes the real time. Claims go through the partial index on open versions with ``FOR UPDATE
SKIP LOCKED``, so several replicas may sweep at once, and the state change and its outbox row
commit together: a version leaves ``open`` exactly once, and so is announced exactly once.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select, update

from services.disclosure.domain import VersionStatus
from services.disclosure.tables import document_versions, documents
from shared.app import ServiceContext
from shared.deadlines import SHANGHAI
from shared.events import DeadlinePassed
from shared.messaging import outbox

BATCH = 200


async def mark_overdue(ctx: ServiceContext, now: datetime, *, batch: int = BATCH) -> int:
    """Mark every open version whose deadline has run out at ``now``; returns how many."""
    marked = 0
    while True:
        changed = await _mark_batch(ctx, now, batch)
        marked += changed
        if changed < batch:
            return marked


async def _mark_batch(ctx: ServiceContext, now: datetime, batch: int) -> int:
    v = document_versions
    async with ctx.db.transaction() as session:
        rows = (
            await session.execute(
                select(v.c.document_id, v.c.version, v.c.deadline, documents.c.drafting_department)
                .join(documents, documents.c.id == v.c.document_id)
                # deadline <= now: at 24:00 of the last day exactly, the version is already late.
                .where((v.c.status == VersionStatus.OPEN) & (v.c.deadline <= now))
                .order_by(v.c.deadline)
                .limit(batch)
                .with_for_update(of=v, skip_locked=True)
            )
        ).all()
        for row in rows:
            await session.execute(
                update(v)
                .where((v.c.document_id == row.document_id) & (v.c.version == row.version))
                .values(status=VersionStatus.OVERDUE, overdue_at=now)
            )
            await outbox.record(
                session,
                DeadlinePassed(
                    subject_kind="document-version",
                    subject_id=f"{row.document_id}@{row.version}",
                    department=row.drafting_department,
                    deadline=row.deadline.astimezone(SHANGHAI),
                    consequence="overdue",
                ),
                source=ctx.source,
                topic_prefix=ctx.common.topic_prefix,
            )
    return len(rows)


async def sweep_overdue(ctx: ServiceContext) -> int:
    """The registered sweeper: the real clock."""
    return await mark_overdue(ctx, datetime.now(UTC))
