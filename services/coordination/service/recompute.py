"""Moving open deadlines when a year's official holiday table is published or corrected.

Runs in the calendar consumer's transaction (``shared.calendar_store.subscription``), which holds
the calendar lock exclusively: every deadline stored before it is seen here, every one stored
after it is counted on the new table. Each open deadline is counted again from what it was
counted from at assignment, with the same domain function and profile settings, and each one
that moves is announced once (deadline-changed). Closed items keep their deadline and outcome.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Literal

from sqlalchemy import (
    ARRAY,
    Boolean,
    Date,
    DateTime,
    Row,
    Select,
    String,
    Table,
    bindparam,
    func,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import TypeEngine

from services.coordination import domain
from services.coordination.service.sweeps import item_is_open
from services.coordination.tables import instruction_assignments, instructions, joint_items, joint_matters
from shared.app import ServiceContext
from shared.calendar_store import CalendarChange
from shared.deadlines import SHANGHAI, TimeLimit, is_provisional
from shared.events import DeadlineChanged

# Rows locked and recomputed per statement: one SELECT … FOR UPDATE and one UPDATE per batch.
BATCH = 1000


@dataclass(frozen=True)
class _Recomputed:
    id: str
    deadline: datetime
    provisional: bool


async def recompute_deadlines(
    ctx: ServiceContext, session: AsyncSession, change: CalendarChange
) -> list[DeadlineChanged]:
    """The open joint items (C2/C4) and the pending instruction assignments (C7) whose deadline
    the changed year can touch, counted again on ``change.after``; one announcement per moved one.

    Only deadlines still ahead are moved: an open item past its deadline is already deemed
    consent at that deadline (the sweeper or the next use case closes it there), and an overdue
    assignment stays overdue.
    """
    now = ctx.now()
    moved = await _joint_items(ctx, session, change, now)
    moved += await _assignments(ctx, session, change, now)
    await _assignment_due(ctx, session, change, now)
    return moved


def _first_instant_after(day: date) -> datetime:
    """00:00 Asia/Shanghai after ``day``: instants before it fall on ``day`` or earlier."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=SHANGHAI)


Counted = tuple[datetime, bool]  # the new deadline and whether it is provisional


async def _recount(
    session: AsyncSession,
    change: CalendarChange,
    table: Table,
    candidates: Select[Any],
    count: Callable[[Row[Any]], Counted | None],
    subject_kind: Literal["joint-item", "instruction"],
) -> list[DeadlineChanged]:
    """Batch by batch (the next ``candidates`` by id, locked): count each row again, store what
    changed in one UPDATE per batch, announce each moved instant once."""
    moved: list[DeadlineChanged] = []
    after = ""
    while True:
        batch = (
            candidates.where(table.c.id > after).order_by(table.c.id).limit(BATCH).with_for_update(of=table)
        )
        rows = (await session.execute(batch)).all()
        recomputed: list[_Recomputed] = []
        for r in rows:
            counted = count(r)
            if counted is None:
                continue
            new, provisional = counted
            if new == r.deadline and provisional == r.deadline_provisional:
                continue
            recomputed.append(_Recomputed(r.id, new, provisional))
            event = change.moved(
                subject_kind=subject_kind,
                subject_id=r.id,
                department=r.department,
                old=r.deadline,
                new=new,
                provisional=provisional,
            )
            if event is not None:
                moved.append(event)
        await _store(session, table, recomputed)
        if len(rows) < BATCH:
            return moved
        after = rows[-1].id


async def _joint_items(
    ctx: ServiceContext, session: AsyncSession, change: CalendarChange, now: datetime
) -> list[DeadlineChanged]:
    i, m = joint_items, joint_matters
    rollover = ctx.profile.calendar.civil_code_rollover
    candidates = (
        select(
            i.c.id,
            i.c.department,
            i.c.tier,
            i.c.feedback_days,
            i.c.day_unit,
            i.c.deadline,
            i.c.deadline_provisional,
            m.c.assigned_on,
        )
        .join(m, m.c.id == i.c.matter_id)
        .where(
            item_is_open(i.c.state),
            i.c.deadline >= change.earliest_deadline,
            i.c.deadline > now,
            m.c.assigned_on <= change.latest_start,
        )
    )

    def count(r: Row[Any]) -> Counted:
        # The period as stored with the item: the same limit domain.item_deadline counted.
        limit = domain.FeedbackLimit(r.feedback_days, r.tier, TimeLimit(r.feedback_days, r.day_unit), None)
        new = domain.item_deadline(r.assigned_on, limit, change.after, roll_to_working_day=rollover)
        return new, is_provisional(r.assigned_on, new, change.after)

    return await _recount(session, change, i, candidates, count, "joint-item")


async def _assignments(
    ctx: ServiceContext, session: AsyncSession, change: CalendarChange, now: datetime
) -> list[DeadlineChanged]:
    """Assignments whose deadline was counted (the default 不过夜 limit from the day assigned);
    a limit the sheet stated is a date, which no holiday table moves."""
    a, ins = instruction_assignments, instructions
    policy, rollover = ctx.profile.coordination, ctx.profile.calendar.civil_code_rollover
    candidates = (
        select(
            a.c.id, a.c.department, a.c.assigned_at, a.c.deadline, a.c.deadline_provisional, ins.c.category
        )
        .join(ins, ins.c.id == a.c.instruction_id)
        .where(
            a.c.due_stated.is_(False),
            a.c.feedback_at.is_(None),
            a.c.overdue_at.is_(None),
            a.c.deadline >= change.earliest_deadline,
            a.c.deadline > now,
            a.c.assigned_at < _first_instant_after(change.latest_start),
        )
    )

    def count(r: Row[Any]) -> Counted | None:
        if r.category not in domain.NOT_OVERNIGHT_CATEGORIES:
            return None  # supervised assignments always state their limit
        new = domain.default_handling_deadline(
            r.category, r.assigned_at, policy, change.after, roll_to_working_day=rollover
        )
        return new, is_provisional(r.assigned_at, new, change.after)

    return await _recount(session, change, a, candidates, count, "instruction")


async def _assignment_due(
    ctx: ServiceContext, session: AsyncSession, change: CalendarChange, now: datetime
) -> None:
    """C7: by when a registered instruction must be assigned (当天拟办交办, 不过夜), counted again
    for the instructions not yet assigned. It is the office's own limit, shown on the instruction
    and judged when it is assigned (held_overnight); no department is told of it, so no event."""
    ins = instructions
    policy, rollover = ctx.profile.coordination, ctx.profile.calendar.civil_code_rollover
    rows = (
        await session.execute(
            select(ins.c.id, ins.c.received_at, ins.c.category, ins.c.assignment_due)
            .where(
                ins.c.state.in_(("registered", "proposed")),
                ins.c.assignment_due >= change.earliest_deadline,
                ins.c.assignment_due > now,
                ins.c.received_at < _first_instant_after(change.latest_start),
            )
            .with_for_update()
        )
    ).all()
    changed = {
        r.id: due
        for r in rows
        if (
            due := domain.assignment_due(
                r.received_at, r.category, policy, change.after, roll_to_working_day=rollover
            )
        )
        != r.assignment_due
    }
    if changed:
        new = _recomputed(id=(list(changed), String()), due=(list(changed.values()), DateTime(timezone=True)))
        await session.execute(update(ins).where(ins.c.id == new.c.id).values(assignment_due=new.c.due))


async def _store(session: AsyncSession, table: Table, recomputed: Sequence[_Recomputed]) -> None:
    """One set-based UPDATE of a batch: deadline, its last day (due_on) and the provisional flag."""
    if not recomputed:
        return
    new = _recomputed(
        id=([r.id for r in recomputed], String()),
        deadline=([r.deadline for r in recomputed], DateTime(timezone=True)),
        due_on=([domain.last_day_of(r.deadline) for r in recomputed], Date()),
        provisional=([r.provisional for r in recomputed], Boolean()),
    )
    await session.execute(
        update(table)
        .where(table.c.id == new.c.id)
        .values(deadline=new.c.deadline, due_on=new.c.due_on, deadline_provisional=new.c.provisional)
    )


def _recomputed(**columns: tuple[list[Any], TypeEngine[Any]]) -> Any:
    """A batch as the derived table ``recomputed`` of ``columns``, sent as one array per column:
    a statement of constant shape, compiled and planned once."""
    arrays = (
        bindparam(f"recomputed_{name}", values, type_=ARRAY(kind)) for name, (values, kind) in columns.items()
    )
    return func.unnest(*arrays).table_valued(*columns).render_derived().alias("recomputed")
