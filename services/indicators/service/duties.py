"""Report duties (I4) and interviews (I5): reading them, filing reports, and the overdue sweep."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Row, Select, Table, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.indicators import domain
from services.indicators.schemas import Interview, ReportDuty, ReportFiling
from services.indicators.service import definitions
from services.indicators.tables import interviews, report_duties
from shared.app import ServiceContext
from shared.auth import Principal
from shared.calendar_store import CalendarChange
from shared.events import DeadlineChanged, DeadlinePassed
from shared.pagination import Keyset, Page, PageParams
from shared.problems import Problem
from shared.rules import Missing
from shared.schemas import RowModel
from shared.sweeps import Sweep, run_sweep


def _scope(principal: Principal, department: str | None) -> str | None:
    """Departments see their own duties only; office, supervisor and leaders see every one."""
    if principal.has_any("office", "supervisor", "leader"):
        return department
    if principal.department is None:
        raise Problem(403, "访问令牌没有部门声明", kind="forbidden")
    if department is not None and department != principal.department:
        raise Problem(403, "部门只能查看本部门的汇报义务与约谈", kind="forbidden")
    return principal.department


async def _listing(
    ctx: ServiceContext,
    table: Table,
    view: type[RowModel],
    principal: Principal,
    page: PageParams,
    filters: dict[str, str | None],
) -> Page[Any]:
    """Duties or interviews, newest first, within the caller's scope and the given filters."""
    filters = {**filters, "department": _scope(principal, filters.get("department"))}
    query = select(table).where(
        *(table.c[name] == value for name, value in filters.items() if value is not None)
    )
    keyset = Keyset(table.c.created_at, table.c.id)
    async with ctx.db.reader() as session:
        rows = (await session.execute(keyset.apply(query, page))).all()
    return keyset.page(rows, page, view.model_validate)


async def list_report_duties(
    ctx: ServiceContext, principal: Principal, page: PageParams, **filters: str | None
) -> Page[ReportDuty]:
    """Filtered by ``department``, ``status`` and ``indicator`` (None: any)."""
    return await _listing(ctx, report_duties, ReportDuty, principal, page, filters)


async def list_interviews(
    ctx: ServiceContext, principal: Principal, page: PageParams, **filters: str | None
) -> Page[Interview]:
    """Filtered by ``department``, ``status`` and ``indicator`` (None: any)."""
    return await _listing(ctx, interviews, Interview, principal, page, filters)


async def get_report_duty(ctx: ServiceContext, principal: Principal, duty_id: str) -> ReportDuty:
    async with ctx.db.reader() as session:
        row = await _duty(session, duty_id)
    _scope(principal, row.department)
    return ReportDuty.model_validate(row)


async def _duty(session: AsyncSession, duty_id: str, *, for_update: bool = False) -> Row[Any]:
    query = select(report_duties).where(report_duties.c.id == duty_id)
    if for_update:
        query = query.with_for_update()
    return await definitions.first_or(
        session, query, Missing(f"汇报义务 {duty_id} 不存在", kind="report-duty-not-found")
    )


async def file_report(
    ctx: ServiceContext, principal: Principal, duty_id: str, cmd: ReportFiling, now: datetime
) -> ReportDuty:
    """I4: the lead department files its head's report (causes, targets, measures); the duty closes.

    A report filed after the due date is still taken, marked late; if the sweeper has not yet
    announced the missed date, it is announced here, so every missed date is announced once.
    """
    async with ctx.db.transaction() as session:
        row = await _duty(session, duty_id, for_update=True)
        domain.check_filing(
            row.status, row.department, principal.department, admin="admin" in principal.roles
        )
        late = now >= row.due_at
        if row.status == "open" and late:
            await ctx.emit(session, _overdue(row))
        await session.execute(
            update(report_duties)
            .where(report_duties.c.id == duty_id)
            .values(
                status="filed",
                causes=cmd.causes,
                targets=cmd.targets,
                measures=cmd.measures,
                filed_at=now,
                filed_by=principal.client_id,
                late=late,
                overdue_at=row.overdue_at or (now if late else None),
            )
        )
        return ReportDuty.model_validate(await _duty(session, duty_id))


def _overdue(row: Row[Any], _outcome: str | None = None) -> DeadlinePassed:
    return DeadlinePassed(
        subject_kind="report-duty",
        subject_id=row.id,
        department=row.department,
        deadline=row.due_at,
        consequence="overdue",
        deadline_provisional=row.deadline_provisional,
    )


def _is_open() -> ColumnElement[bool]:
    # 'open' written into the SQL, not bound: a generic plan of a prepared statement could not
    # prove the predicate of the partial index ix_report_duties_open_due with ``status = $1``.
    return report_duties.c.status == bindparam(None, "open", literal_execute=True)


OVERDUE = Sweep(
    table=report_duties,
    key=(report_duties.c.id,),
    deadline=report_duties.c.due_at,
    still_open=_is_open,
    closing=lambda now: {"status": "overdue", "overdue_at": now},
    announce=_overdue,
)
"""I4: an open duty whose due date has passed becomes overdue, announced once (deadline-passed)."""


async def sweep_overdue_report_duties(ctx: ServiceContext, now: datetime) -> int:
    """I4: close and announce every open duty due at ``now``; returns how many were claimed."""
    return await run_sweep(ctx, OVERDUE, now)


async def recompute_deadlines(
    ctx: ServiceContext, session: AsyncSession, change: CalendarChange
) -> list[DeadlineChanged]:
    """I4 after a year's official holiday table is published or corrected: open duties whose due
    date the year can move are counted again from their bulletin's date, as at publication.

    Runs in the calendar consumer's transaction (exclusive calendar lock). Duties already filed,
    overdue or withdrawn keep their due date; each moved one is announced (deadline-changed).
    """
    rows = await _movable(session, change)
    dues = {row.id: domain.report_due(row.issued_on, ctx.profile, change.after) for row in rows}
    changed = [
        {"duty": row.id, "due_at": dues[row.id].at, "provisional": dues[row.id].provisional}
        for row in rows
        if (dues[row.id].at, dues[row.id].provisional) != (row.due_at, row.deadline_provisional)
    ]
    if changed:
        d = report_duties
        # One executemany for every changed duty.
        await session.execute(
            update(d)
            .where(d.c.id == bindparam("duty"))
            .values(due_at=bindparam("due_at"), deadline_provisional=bindparam("provisional")),
            changed,
        )
    announced = (
        change.moved(
            subject_kind="report-duty",
            subject_id=row.id,
            department=row.department,
            old=row.due_at,
            new=dues[row.id].at,
            provisional=dues[row.id].provisional,
        )
        for row in rows
    )
    return [a for a in announced if a is not None]


async def _movable(session: AsyncSession, change: CalendarChange) -> list[Row[Any]]:
    """The open duties whose due date ``change`` can move, locked."""
    d = report_duties
    query: Select[Any] = (
        select(d.c.id, d.c.department, d.c.issued_on, d.c.due_at, d.c.deadline_provisional)
        .where(_is_open(), d.c.due_at >= change.earliest_deadline, d.c.issued_on <= change.latest_start)
        .order_by(d.c.id)
        .with_for_update()
    )
    return list((await session.execute(query)).all())
