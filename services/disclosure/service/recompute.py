"""D1 after a year's official holiday table is published or corrected: open versions move.

Runs in the calendar consumer's transaction (``shared.calendar_store``), which holds the calendar
lock exclusively, so no registration or change computes a deadline meanwhile. Versions that are
no longer open (published, exempt, overdue, superseded) keep their deadline and outcome.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.disclosure.service import common
from services.disclosure.sweeper import is_open
from services.disclosure.tables import document_versions, documents
from shared.app import ServiceContext
from shared.calendar_store import CalendarChange
from shared.events import DeadlineChanged


async def recompute_deadlines(
    ctx: ServiceContext, session: AsyncSession, change: CalendarChange
) -> list[DeadlineChanged]:
    """Count every open version the year can move again on ``change.after``, as when it was
    formed or changed (a change that keeps the clock reads the previous version's stored deadline);
    store the new deadline and flag, and announce each moved deadline once (deadline-changed)."""
    rules = common.profile(ctx)
    v = document_versions
    previous = document_versions.alias("previous")
    rows = (
        await session.execute(
            select(
                v.c.document_id,
                v.c.version,
                v.c.formed_on,
                v.c.deadline,
                v.c.deadline_provisional,
                documents.c.drafting_department,
                previous.c.deadline.label("previous_deadline"),
                previous.c.deadline_provisional.label("previous_provisional"),
            )
            .join(documents, documents.c.id == v.c.document_id)
            .outerjoin(
                previous,
                (previous.c.document_id == v.c.document_id) & (previous.c.version == v.c.version - 1),
            )
            # The partial index on open versions serves deadline >= the year's first possible one.
            .where(is_open(), v.c.deadline >= change.earliest_deadline, v.c.formed_on <= change.latest_start)
            .order_by(v.c.deadline, v.c.document_id, v.c.version)
            .with_for_update(of=v)
        )
    ).all()
    moved: list[DeadlineChanged] = []
    updates: list[dict[str, Any]] = []
    for row in rows:
        before = (
            None
            if row.previous_deadline is None
            else common.Previous(row.previous_deadline, row.previous_provisional)
        )
        due = common.version_due(rules, row.formed_on, change.after, before)
        if due.at != row.deadline or due.provisional != row.deadline_provisional:
            updates.append(
                {"doc": row.document_id, "ver": row.version, "due": due.at, "provisional": due.provisional}
            )
        announced = change.moved(
            subject_kind="document-version",
            subject_id=f"{row.document_id}@{row.version}",
            department=row.drafting_department,
            old=row.deadline,
            new=due.at,
            provisional=due.provisional,
        )
        if announced is not None:
            moved.append(announced)
    if updates:
        # One executemany for every changed version.
        await session.execute(
            update(v)
            .where(v.c.document_id == bindparam("doc"), v.c.version == bindparam("ver"))
            .values(deadline=bindparam("due"), deadline_provisional=bindparam("provisional")),
            updates,
        )
    return moved
