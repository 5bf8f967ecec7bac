"""D1 after a year's official holiday table is published or corrected: open versions move (and
D7's running answer clocks, ``requests.recompute_requests``).

Runs in the calendar consumer's transaction (``shared.calendar_store``), which holds the calendar
lock exclusively, so no registration or change computes a deadline meanwhile. Versions that are
no longer open (published, exempt, overdue, superseded) keep their deadline and outcome.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row, bindparam, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.disclosure import domain
from services.disclosure.service.requests import recompute_requests
from services.disclosure.sweeper import is_open, subject_id, version_clocks
from services.disclosure.tables import document_versions
from shared.app import ServiceContext
from shared.calendar_store import CalendarChange
from shared.events import DeadlineChanged


async def recompute_deadlines(
    ctx: ServiceContext, session: AsyncSession, change: CalendarChange
) -> list[DeadlineChanged]:
    """Count every open version the year can move again on ``change.after``, as when it was
    formed or changed (a change that keeps the clock reads the previous version's stored deadline);
    store the new deadline and flag, and announce each moved deadline once (deadline-changed)."""
    moved: list[DeadlineChanged] = []
    updates: list[dict[str, Any]] = []
    for row in await _movable(session, change):
        before = None
        if row.previous_deadline is not None:
            before = domain.Due(row.previous_deadline, row.previous_provisional)
        due = domain.version_due(ctx.profile, row.formed_on, change.after, before)
        if due.at != row.deadline or due.provisional != row.deadline_provisional:
            updates.append(
                {"doc": row.document_id, "ver": row.version, "due": due.at, "provisional": due.provisional}
            )
        announced = change.moved(
            subject_kind="document-version",
            subject_id=subject_id(row),
            department=row.drafting_department,
            old=row.deadline,
            new=due.at,
            provisional=due.provisional,
        )
        if announced is not None:
            moved.append(announced)
    if updates:
        v = document_versions
        # One executemany for every changed version.
        await session.execute(
            update(v)
            .where(v.c.document_id == bindparam("doc"), v.c.version == bindparam("ver"))
            .values(deadline=bindparam("due"), deadline_provisional=bindparam("provisional")),
            updates,
        )
    return moved + await recompute_requests(ctx, session, change)


async def _movable(session: AsyncSession, change: CalendarChange) -> list[Row[Any]]:
    """The open versions ``change`` can move, locked, with the clock of the version each replaced."""
    v = document_versions
    previous = document_versions.alias("previous")
    query = (
        version_clocks(
            v.c.formed_on,
            previous.c.deadline.label("previous_deadline"),
            previous.c.deadline_provisional.label("previous_provisional"),
        )
        .outerjoin(
            previous, (previous.c.document_id == v.c.document_id) & (previous.c.version == v.c.version - 1)
        )
        # The partial index on open versions serves deadline >= the year's first possible one.
        .where(is_open(), v.c.deadline >= change.earliest_deadline, v.c.formed_on <= change.latest_start)
        .order_by(v.c.deadline, v.c.document_id, v.c.version)
        .with_for_update(of=v)
    )
    return list((await session.execute(query)).all())
