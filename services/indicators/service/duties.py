"""Report duties (I4) and interviews (I5): reading them, filing reports, and the overdue sweep."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Row, Select, bindparam, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.indicators.schemas import Interview, ReportDuty, ReportFiling
from services.indicators.service import common
from services.indicators.tables import interviews, report_duties
from shared.app import ServiceContext
from shared.auth import Principal
from shared.calendar_store import CalendarChange
from shared.deadlines import SHANGHAI
from shared.events import DeadlineChanged, DeadlinePassed
from shared.messaging import outbox
from shared.pagination import Page, PageParams, encode_cursor
from shared.problems import Problem

SWEEP_BATCH = 200
"""Duties claimed per sweep transaction (the sweeper loops until none are due)."""


def _sees_everything(principal: Principal) -> bool:
    return principal.has_any("office", "supervisor", "leader")


def _scope(principal: Principal, department: str | None) -> str | None:
    """Departments see their own duties only; office, supervisor and leaders see every one."""
    if _sees_everything(principal):
        return department
    if principal.department is None:
        raise Problem(403, "访问令牌没有部门声明", kind="forbidden")
    if department is not None and department != principal.department:
        raise Problem(403, "部门只能查看本部门的汇报义务与约谈", kind="forbidden")
    return principal.department


def duty_view(row: Row[Any]) -> ReportDuty:
    return ReportDuty(
        id=row.id,
        indicator=row.indicator,
        period=row.period,
        department=row.department,
        rank=row.rank,
        grade=row.grade,
        cities=row.cities,
        reason=row.reason,
        bulletin_id=row.bulletin_id,
        status=row.status,
        issued_on=row.issued_on,
        due_at=row.due_at.astimezone(SHANGHAI),
        deadline_provisional=row.deadline_provisional,
        created_at=row.created_at,
        causes=row.causes,
        targets=row.targets,
        measures=row.measures,
        filed_at=row.filed_at,
        late=row.late,
        withdrawn_reason=row.withdrawn_reason,
    )


def interview_view(row: Row[Any]) -> Interview:
    return Interview(
        id=row.id,
        indicator=row.indicator,
        period=row.period,
        department=row.department,
        kind=row.kind,
        reason=row.reason,
        interviewers=list(row.interviewers),
        run=list(row.run),
        bulletin_id=row.bulletin_id,
        status=row.status,
        created_at=row.created_at,
    )


def _keyset(query: Select[Any], table: Any, page: PageParams) -> Select[Any]:
    if page.cursor is not None:
        try:
            at, last_id = datetime.fromisoformat(str(page.cursor[0])), str(page.cursor[1])
        except (IndexError, TypeError, ValueError) as exc:
            raise Problem(400, "游标无效，请使用上一页返回的 next_cursor", kind="invalid-cursor") from exc
        query = query.where(tuple_(table.c.created_at, table.c.id) < tuple_(at, last_id))
    return query.order_by(table.c.created_at.desc(), table.c.id.desc()).limit(page.limit + 1)


def _next(rows: list[Row[Any]], page: PageParams) -> tuple[list[Row[Any]], str | None]:
    if len(rows) <= page.limit:
        return rows, None
    rows = rows[: page.limit]
    return rows, encode_cursor([rows[-1].created_at.isoformat(), rows[-1].id])


async def list_report_duties(
    ctx: ServiceContext,
    principal: Principal,
    page: PageParams,
    *,
    department: str | None,
    status: str | None,
    indicator: str | None,
) -> Page[ReportDuty]:
    d = report_duties
    query = select(d)
    if (scope := _scope(principal, department)) is not None:
        query = query.where(d.c.department == scope)
    if status is not None:
        query = query.where(d.c.status == status)
    if indicator is not None:
        query = query.where(d.c.indicator == indicator)
    async with ctx.db.reader() as session:
        rows = list((await session.execute(_keyset(query, d, page))).all())
    rows, cursor = _next(rows, page)
    return Page[ReportDuty](items=[duty_view(r) for r in rows], next_cursor=cursor)


async def get_report_duty(ctx: ServiceContext, principal: Principal, duty_id: str) -> ReportDuty:
    async with ctx.db.reader() as session:
        row = await _duty(session, duty_id)
    _scope(principal, row.department)
    return duty_view(row)


async def _duty(session: AsyncSession, duty_id: str, *, for_update: bool = False) -> Row[Any]:
    query = select(report_duties).where(report_duties.c.id == duty_id)
    if for_update:
        query = query.with_for_update()
    row = (await session.execute(query)).first()
    if row is None:
        raise Problem(404, f"汇报义务 {duty_id} 不存在", kind="report-duty-not-found")
    return row


async def file_report(
    ctx: ServiceContext, principal: Principal, duty_id: str, cmd: ReportFiling, now: datetime
) -> ReportDuty:
    """I4: the lead department files its head's report (causes, targets, measures); the duty closes.

    A report filed after the due date is still taken, marked late; if the sweeper has not yet
    announced the missed date, it is announced here, so every missed date is announced once.
    """
    async with ctx.db.transaction() as session:
        row = await _duty(session, duty_id, for_update=True)
        if "admin" not in principal.roles and principal.department != row.department:
            raise Problem(
                403, f"只有牵头部门 {row.department} 可以报送该汇报说明", kind="forbidden", rule="I4"
            )
        if row.status == "withdrawn":
            raise Problem(409, "该汇报义务已因更正撤销，无需汇报", kind="report-duty-withdrawn", rule="I4")
        if row.status == "filed":
            raise Problem(409, "该汇报说明已报送", kind="report-already-filed", rule="I4")
        late = now >= row.due_at
        if row.status == "open" and late:
            await _announce_overdue(ctx, session, row)
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
        return duty_view(await _duty(session, duty_id))


def _overdue(row: Row[Any]) -> DeadlinePassed:
    return DeadlinePassed(
        subject_kind="report-duty",
        subject_id=row.id,
        department=row.department,
        deadline=row.due_at,
        consequence="overdue",
        deadline_provisional=row.deadline_provisional,
    )


async def _announce_overdue(ctx: ServiceContext, session: AsyncSession, row: Row[Any]) -> None:
    await outbox.record(session, _overdue(row), source=ctx.source, topic_prefix=ctx.common.topic_prefix)


def _is_open() -> ColumnElement[bool]:
    # 'open' written into the SQL, not bound: a generic plan of a prepared statement could not
    # prove the predicate of the partial index ix_report_duties_open_due with ``status = $1``.
    return report_duties.c.status == bindparam(None, "open", literal_execute=True)


async def sweep_overdue_report_duties(ctx: ServiceContext, now: datetime) -> int:
    """I4: open duties whose due date has passed become overdue and are announced (deadline-passed).

    Claims due rows with ``FOR UPDATE SKIP LOCKED`` through the partial index on open duties, so
    several replicas can sweep at once; each duty leaves ``open`` once, so it is announced once.
    """
    changed = 0
    while True:
        async with ctx.db.transaction() as session:
            d = report_duties
            rows = (
                await session.execute(
                    select(d)
                    .where(_is_open(), d.c.due_at <= now)
                    .order_by(d.c.due_at)
                    .limit(SWEEP_BATCH)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            if rows:
                await session.execute(
                    update(d).where(d.c.id.in_([r.id for r in rows])).values(status="overdue", overdue_at=now)
                )
                # One INSERT for the batch's announcements, in due order (outbox.record_many).
                await outbox.record_many(
                    session,
                    [_overdue(row) for row in rows],
                    source=ctx.source,
                    topic_prefix=ctx.common.topic_prefix,
                )
        changed += len(rows)
        if len(rows) < SWEEP_BATCH:
            return changed


async def recompute_deadlines(
    ctx: ServiceContext, session: AsyncSession, change: CalendarChange
) -> list[DeadlineChanged]:
    """I4 after a year's official holiday table is published or corrected: open duties whose due
    date the year can move are counted again from their bulletin's date, as at publication.

    Runs in the calendar consumer's transaction (exclusive calendar lock). Duties already filed,
    overdue or withdrawn keep their due date; each moved one is announced (deadline-changed).
    """
    profile = common.profile(ctx)
    d = report_duties
    rows = (
        await session.execute(
            select(d.c.id, d.c.department, d.c.issued_on, d.c.due_at, d.c.deadline_provisional)
            .where(_is_open(), d.c.due_at >= change.earliest_deadline, d.c.issued_on <= change.latest_start)
            .order_by(d.c.id)
            .with_for_update()
        )
    ).all()
    moved: list[DeadlineChanged] = []
    changed: list[dict[str, Any]] = []
    for row in rows:
        due = common.due_of(row.issued_on, profile, change.after)
        if due.at != row.due_at or due.provisional != row.deadline_provisional:
            changed.append({"duty": row.id, "due_at": due.at, "provisional": due.provisional})
        announced = change.moved(
            subject_kind="report-duty",
            subject_id=row.id,
            department=row.department,
            old=row.due_at,
            new=due.at,
            provisional=due.provisional,
        )
        if announced is not None:
            moved.append(announced)
    if changed:
        # One executemany for every changed duty.
        await session.execute(
            update(d)
            .where(d.c.id == bindparam("duty"))
            .values(due_at=bindparam("due_at"), deadline_provisional=bindparam("provisional")),
            changed,
        )
    return moved


async def list_interviews(
    ctx: ServiceContext,
    principal: Principal,
    page: PageParams,
    *,
    department: str | None,
    status: str | None,
    indicator: str | None,
) -> Page[Interview]:
    i = interviews
    query = select(i)
    if (scope := _scope(principal, department)) is not None:
        query = query.where(i.c.department == scope)
    if status is not None:
        query = query.where(i.c.status == status)
    if indicator is not None:
        query = query.where(i.c.indicator == indicator)
    async with ctx.db.reader() as session:
        rows = list((await session.execute(_keyset(query, i, page))).all())
    rows, cursor = _next(rows, page)
    return Page[Interview](items=[interview_view(r) for r in rows], next_cursor=cursor)
