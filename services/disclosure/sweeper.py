"""D3: open versions past their deadline become overdue, once each, and deadline-passed is announced.

``mark_overdue`` takes the clock as an argument so tests choose ``now``; the registered sweeper
passes the business clock (``ctx.now()``). Claims go through the partial index on open versions
with ``FOR UPDATE SKIP LOCKED``, so several replicas may sweep at once, and the state change and
its outbox row commit together: a version leaves ``open`` exactly once, and so is announced exactly
once. A batch is closed with one set-based ``UPDATE`` and announced with one multi-row outbox
``INSERT``."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ARRAY, Integer, String, bindparam, func, select, update
from sqlalchemy.sql.elements import ColumnElement

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


def is_open() -> ColumnElement[bool]:
    """``status = 'open'`` with the status written into the SQL as a literal.

    As a bind parameter (``status = $1``) a generic plan, which PostgreSQL may pick for a prepared
    statement, cannot prove the predicate of the partial index ``ix_document_versions_open`` and
    scans every version instead. The calendar recompute selects open versions the same way.
    """
    return document_versions.c.status == bindparam(None, VersionStatus.OPEN.value, literal_execute=True)


async def _mark_batch(ctx: ServiceContext, now: datetime, batch: int) -> int:
    """One claimed batch: one set-based ``UPDATE`` and one multi-row outbox ``INSERT``."""
    v = document_versions
    async with ctx.db.transaction() as session:
        rows = (
            await session.execute(
                select(
                    v.c.document_id,
                    v.c.version,
                    v.c.deadline,
                    v.c.deadline_provisional,
                    documents.c.drafting_department,
                )
                .join(documents, documents.c.id == v.c.document_id)
                # deadline <= now: at 24:00 of the last day exactly, the version is already late.
                .where(is_open() & (v.c.deadline <= now))
                .order_by(v.c.deadline)
                .limit(batch)
                .with_for_update(of=v, skip_locked=True)
            )
        ).all()
        if not rows:
            return 0
        # The status guard keeps a version from being announced twice; announced in claim order.
        # The batch travels as two arrays: a statement of constant shape, compiled and planned once.
        claimed = (
            func.unnest(
                bindparam("document_ids", [row.document_id for row in rows], type_=ARRAY(String)),
                bindparam("versions", [row.version for row in rows], type_=ARRAY(Integer)),
            )
            .table_valued("document_id", "version")
            .render_derived()
            .alias("claimed")
        )
        marked = {
            (r.document_id, r.version)
            for r in await session.execute(
                update(v)
                .where(
                    v.c.document_id == claimed.c.document_id,
                    v.c.version == claimed.c.version,
                    is_open(),
                )
                .values(status=VersionStatus.OVERDUE, overdue_at=now)
                .returning(v.c.document_id, v.c.version)
            )
        }
        await outbox.record_many(
            session,
            [
                DeadlinePassed(
                    subject_kind="document-version",
                    subject_id=f"{row.document_id}@{row.version}",
                    department=row.drafting_department,
                    deadline=row.deadline.astimezone(SHANGHAI),
                    consequence="overdue",
                    deadline_provisional=row.deadline_provisional,
                )
                for row in rows
                if (row.document_id, row.version) in marked
            ],
            source=ctx.source,
            topic_prefix=ctx.common.topic_prefix,
        )
    return len(rows)


async def sweep_overdue(ctx: ServiceContext) -> int:
    """The registered sweeper: the business clock."""
    return await mark_overdue(ctx, ctx.now())
