"""Major matters under way (C8): the lead department's monthly progress reports, the supervision
office's on-site checks, close-off (销号) asked by the lead department and verified by the
office, and the sweep that finds matters behind (进展迟缓) and lists them for chasing.

A milestone not reported done by 24:00 of its date, or a monthly report not filed by its day of
the next month, is announced once as ``deadline-passed`` (``major-milestone`` or
``major-monthly-report``, with the matter as ``parent_id`` and the lead department).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Row, insert, literal_column, select, update

from services.coordination import domain
from services.coordination.major_schemas import (
    BehindItem,
    CheckCreate,
    CheckView,
    CloseOffDecisionCreate,
    CloseOffRequestCreate,
    CloseOffView,
    MilestoneDoneCreate,
    MilestoneView,
    ProgressReportCreate,
    ProgressReportView,
)
from services.coordination.service import access
from services.coordination.service.major_matters import load, locked, readable, record_change, visible
from services.coordination.tables import (
    major_checks,
    major_close_offs,
    major_matters,
    major_milestones,
    major_progress_reports,
    major_report_duties,
    new_id,
)
from shared.app import ServiceContext
from shared.auth import Principal
from shared.deadlines import local, local_date
from shared.events import DeadlinePassed, MatterClosedOff, ProgressReported
from shared.rules import Conflict, Missing, RuleViolation
from shared.sweeps import Sweep, run_sweep

# --- monthly progress reports ------------------------------------------------------------------


async def report(
    ctx: ServiceContext, matter_id: str, cmd: ProgressReportCreate, principal: Principal, now: datetime
) -> ProgressReportView:
    """C8: the lead department reports a month that has ended, with each milestone's status and
    evidence; a milestone reported done stops counting as behind from this report on."""
    async with ctx.db.transaction() as session:
        row = await locked(session, matter_id)
        if not access.is_department(principal, row.lead_department):
            raise domain.not_lead(row.lead_department)
        domain.check_not_closed(row.state, "报送进展")
        month = domain.parse_report_month(cmd.month, local_date(now))
        domain.check_report_in_year(month, domain.report_months(row.listed_on, row.completion_due, row.year))
        m = major_milestones
        milestones = (
            await session.execute(select(m).where(m.c.matter_id == matter_id, m.c.state != "withdrawn"))
        ).all()
        domain.check_reported_milestones(cmd.milestones, [x.id for x in milestones], month)
        r = major_progress_reports
        if (
            await session.execute(select(r.c.id).where(r.c.matter_id == matter_id, r.c.month == str(month)))
        ).first():
            raise Conflict(f"{month.label}的进展已报送（C8）", rule="C8", kind="report-exists", field="month")
        d = major_report_duties
        duty = (
            await session.execute(select(d).where(d.c.matter_id == matter_id, d.c.month == str(month)))
        ).first()
        late = duty is not None and now >= duty.deadline
        report_id = new_id("mr")
        await session.execute(
            insert(r).values(
                id=report_id,
                matter_id=matter_id,
                month=str(month),
                department=row.lead_department,
                summary=cmd.summary,
                public_summary=cmd.public_summary,
                milestones=[x.model_dump(mode="json") for x in cmd.milestones],
                evidence=[a.model_dump() for a in cmd.evidence],
                delay_reason=cmd.delay_reason,
                late=late,
                submitted_by=principal.client_id,
                submitted_at=now,
            )
        )
        for x in cmd.milestones:
            if x.status == "done":
                await session.execute(
                    update(m)
                    .where(m.c.id == x.milestone_id, m.c.done_reported_at.is_(None))
                    .values(
                        state="done", done_on=x.done_on, done_reported_at=now, done_by=principal.client_id
                    )
                )
        await session.execute(
            update(d).where(d.c.matter_id == matter_id, d.c.month == str(month)).values(reported_at=now)
        )
        view = await load(session, matter_id, now)
        assert view is not None
        open_milestones = [x for x in view.milestones if x.state != "withdrawn"]
        await ctx.emit(
            session,
            ProgressReported(
                **_ref(row),
                month=str(month),
                milestones_total=len(open_milestones),
                milestones_done=sum(1 for x in open_milestones if x.state == "done"),
                milestones_behind=sum(1 for x in open_milestones if x.state == "open" and x.deadline <= now),
                submitted_at=local(now),
                late=late,
            ),
        )
        stored = (await session.execute(select(r).where(r.c.id == report_id))).one()
    return ProgressReportView.model_validate(stored)


async def complete_milestone(
    ctx: ServiceContext,
    matter_id: str,
    milestone_id: str,
    cmd: MilestoneDoneCreate,
    principal: Principal,
    now: datetime,
) -> MilestoneView:
    """C8: the lead department reports a milestone done (with evidence) as soon as it is, not
    only in the month's report; reported by 24:00 of its date, the matter is not behind on it."""
    async with ctx.db.transaction() as session:
        row = await locked(session, matter_id)
        if not access.is_department(principal, row.lead_department):
            raise domain.not_lead(row.lead_department)
        domain.check_not_closed(row.state, "报告节点完成")
        m = major_milestones
        found = (
            await session.execute(select(m).where(m.c.id == milestone_id, m.c.matter_id == matter_id))
        ).first()
        if found is None:
            raise Missing(f"节点 {milestone_id} 不存在", kind="milestone-not-found")
        domain.check_milestone_done(found.state, cmd.done_on, local_date(now))
        done = (
            await session.execute(
                update(m)
                .where(m.c.id == milestone_id)
                .values(
                    state="done",
                    done_on=cmd.done_on,
                    done_reported_at=now,
                    done_by=principal.client_id,
                    done_evidence=[a.model_dump() for a in cmd.evidence],
                )
                .returning(*m.c)
            )
        ).one()
    return MilestoneView.model_validate(done)


def _ref(row: Row[Any]) -> dict[str, Any]:
    return {
        "matter_id": row.id,
        "year": row.year,
        "number": row.number,
        "title": row.title,
        "lead_department": row.lead_department,
    }


async def reports(ctx: ServiceContext, matter_id: str, principal: Principal) -> list[ProgressReportView]:
    r = major_progress_reports
    async with ctx.db.reader() as session:
        await readable(session, matter_id, principal)
        rows = (await session.execute(select(r).where(r.c.matter_id == matter_id).order_by(r.c.month))).all()
    return [ProgressReportView.model_validate(x) for x in rows]


# --- on-site checks ----------------------------------------------------------------------------


async def record_check(
    ctx: ServiceContext, matter_id: str, cmd: CheckCreate, principal: Principal, now: datetime
) -> CheckView:
    """现场实地督查: the supervision office records what it found on site (never a future date)."""
    if cmd.checked_on > local_date(now):
        raise RuleViolation(
            "督查日期不能晚于今天（C8）", rule="C8", kind="date-in-future", field="checked_on"
        )
    check_id = new_id("chk")
    async with ctx.db.transaction() as session:
        await locked(session, matter_id)
        await session.execute(
            insert(major_checks).values(
                id=check_id,
                matter_id=matter_id,
                checked_on=cmd.checked_on,
                inspectors=cmd.inspectors,
                findings=cmd.findings,
                attachments=[a.model_dump() for a in cmd.attachments],
                recorded_by=principal.client_id,
                recorded_at=now,
            )
        )
        row = (await session.execute(select(major_checks).where(major_checks.c.id == check_id))).one()
    return CheckView.model_validate(row)


async def checks(ctx: ServiceContext, matter_id: str, principal: Principal) -> list[CheckView]:
    c = major_checks
    async with ctx.db.reader() as session:
        await readable(session, matter_id, principal)
        rows = (
            await session.execute(
                select(c).where(c.c.matter_id == matter_id).order_by(c.c.checked_on, c.c.id)
            )
        ).all()
    return [CheckView.model_validate(x) for x in rows]


# --- close-off (销号) ---------------------------------------------------------------------------


async def request_close_off(
    ctx: ServiceContext, matter_id: str, cmd: CloseOffRequestCreate, principal: Principal, now: datetime
) -> CloseOffView:
    """C8 销号: the lead department asks, with evidence, once every milestone is reported done."""
    async with ctx.db.transaction() as session:
        row = await locked(session, matter_id)
        if not access.is_department(principal, row.lead_department):
            raise domain.not_lead(row.lead_department)
        m = major_milestones
        unfinished = (
            await session.execute(
                select(m.c.title).where(m.c.matter_id == matter_id, m.c.state == "open").order_by(m.c.seq)
            )
        ).scalars()
        domain.check_close_off_request(row.state, list(unfinished))
        request_id = new_id("co")
        await session.execute(
            insert(major_close_offs).values(
                id=request_id,
                matter_id=matter_id,
                statement=cmd.statement,
                evidence=[a.model_dump() for a in cmd.evidence],
                requested_by=principal.client_id,
                requested_at=now,
            )
        )
        await _set_state(session, matter_id, "close-off-requested")
        await record_change(session, matter_id, "close-off-requested", {}, cmd.statement, principal, now)
        stored = (
            await session.execute(select(major_close_offs).where(major_close_offs.c.id == request_id))
        ).one()
    return CloseOffView.model_validate(stored)


async def decide_close_off(
    ctx: ServiceContext, matter_id: str, cmd: CloseOffDecisionCreate, principal: Principal, now: datetime
) -> CloseOffView:
    """C8 销号: the office verifies the evidence and closes the matter off, or refuses with a reason
    (the matter goes back to listed). A closed-off matter stays in the year's record; its monthly
    reports not yet due are no longer asked for."""
    async with ctx.db.transaction() as session:
        row = await locked(session, matter_id)
        domain.check_close_off_decision(row.state, cmd.decision, cmd.reason)
        c = major_close_offs
        pending = (
            await session.execute(
                select(c.c.id)
                .where(c.c.matter_id == matter_id, c.c.decision.is_(None))
                .order_by(c.c.requested_at.desc())
            )
        ).scalar_one()
        await session.execute(
            update(c)
            .where(c.c.id == pending)
            .values(decision=cmd.decision, reason=cmd.reason, decided_by=principal.client_id, decided_at=now)
        )
        if cmd.decision == "refused":
            await _set_state(session, matter_id, "listed")
        else:
            await session.execute(
                update(major_matters)
                .where(major_matters.c.id == matter_id)
                .values(state="closed-off", closed_off_by=principal.client_id, closed_off_at=now)
            )
            d = major_report_duties
            await session.execute(
                update(d)
                .where(d.c.matter_id == matter_id, d.c.deadline > now, d.c.reported_at.is_(None))
                .values(cancelled_at=now)
            )
            await ctx.emit(
                session,
                MatterClosedOff(**_ref(row), closed_off_at=local(now), completion_due=row.completion_due),
            )
        await record_change(session, matter_id, cmd.decision, {}, cmd.reason, principal, now)
        stored = (await session.execute(select(c).where(c.c.id == pending))).one()
    return CloseOffView.model_validate(stored)


async def close_offs(ctx: ServiceContext, matter_id: str, principal: Principal) -> list[CloseOffView]:
    c = major_close_offs
    async with ctx.db.reader() as session:
        await readable(session, matter_id, principal)
        rows = (
            await session.execute(select(c).where(c.c.matter_id == matter_id).order_by(c.c.requested_at))
        ).all()
    return [CloseOffView.model_validate(x) for x in rows]


async def _set_state(session: Any, matter_id: str, state: domain.MatterState) -> None:
    await session.execute(update(major_matters).where(major_matters.c.id == matter_id).values(state=state))


# --- behind (进展迟缓): the sweep and the chasing list -------------------------------------------

_m, _d = major_milestones, major_report_duties


def _milestone_behind(row: Row[Any], _: str | None) -> DeadlinePassed:
    return DeadlinePassed(
        subject_kind="major-milestone",
        subject_id=row.id,
        department=row.lead_department,
        deadline=local(row.deadline),
        consequence="overdue",
        parent_id=row.matter_id,
    )


def _report_missing(row: Row[Any], _: str | None) -> DeadlinePassed:
    return DeadlinePassed(
        subject_kind="major-monthly-report",
        subject_id=f"{row.matter_id}@{row.month}",
        department=row.lead_department,
        deadline=local(row.deadline),
        consequence="overdue",
        parent_id=row.matter_id,
    )


# A milestone (a monthly report) is behind if it was not reported done (filed) before its
# deadline: one reported late, before the sweep came by, is announced all the same. The guards
# match the partial indexes' predicates, so the claims go through them.
MILESTONES = Sweep(
    table=_m,
    key=(_m.c.id,),
    deadline=_m.c.deadline,
    still_open=lambda: (
        _m.c.behind_at.is_(None)
        & (_m.c.state != literal_column("'withdrawn'"))
        & (_m.c.done_reported_at.is_(None) | (_m.c.done_reported_at >= _m.c.deadline))
    ),
    claim=lambda: select(_m.c.id, _m.c.matter_id, _m.c.deadline, major_matters.c.lead_department).join(
        major_matters, major_matters.c.id == _m.c.matter_id
    ),
    closing=lambda now: {"behind_at": now},
    announce=_milestone_behind,
)

REPORT_DUTIES = Sweep(
    table=_d,
    key=(_d.c.matter_id, _d.c.month),
    deadline=_d.c.deadline,
    still_open=lambda: (
        _d.c.behind_at.is_(None)
        & _d.c.cancelled_at.is_(None)
        & (_d.c.reported_at.is_(None) | (_d.c.reported_at >= _d.c.deadline))
    ),
    claim=lambda: select(_d.c.matter_id, _d.c.month, _d.c.lead_department, _d.c.deadline),
    closing=lambda now: {"behind_at": now},
    announce=_report_missing,
)


async def sweep_behind(ctx: ServiceContext, now: datetime) -> int:
    """C8 进展迟缓: milestones not reported done by 24:00 of their date and monthly reports not
    filed by their day, each announced once."""
    return await run_sweep(ctx, MILESTONES, now) + await run_sweep(ctx, REPORT_DUTIES, now)


async def behind_list(ctx: ServiceContext, principal: Principal, year: int | None) -> list[BehindItem]:
    """What is behind now and still not caught up, for chasing (跟踪督查): milestones announced
    behind and not reported done since, monthly reports announced missing and not filed since."""
    mm = major_matters
    where = [c for c in (visible(principal), None if year is None else mm.c.year == year) if c is not None]
    head = (mm.c.number, mm.c.title, mm.c.lead_department, mm.c.leader, mm.c.year)
    milestones = (
        select(
            _m.c.id,
            _m.c.matter_id,
            _m.c.title.label("milestone"),
            _m.c.due_on,
            _m.c.deadline,
            _m.c.behind_at,
            *head,
        )
        .join(mm, mm.c.id == _m.c.matter_id)
        .where(_m.c.behind_at.is_not(None), _m.c.done_reported_at.is_(None), _m.c.state == "open", *where)
    )
    duties = (
        select(_d.c.matter_id, _d.c.month, _d.c.deadline, _d.c.behind_at, *head)
        .join(mm, mm.c.id == _d.c.matter_id)
        .where(_d.c.behind_at.is_not(None), _d.c.reported_at.is_(None), mm.c.state != "closed-off", *where)
    )
    async with ctx.db.reader() as session:
        items = [
            BehindItem(
                kind="major-milestone",
                subject_id=r.id,
                matter_id=r.matter_id,
                number=r.number,
                title=r.title,
                lead_department=r.lead_department,
                leader=r.leader,
                what=f"节点“{r.milestone}”（{r.due_on}）未按期完成",
                deadline=r.deadline,
                behind_at=r.behind_at,
            )
            for r in (await session.execute(milestones)).all()
        ] + [
            BehindItem(
                kind="major-monthly-report",
                subject_id=f"{r.matter_id}@{r.month}",
                matter_id=r.matter_id,
                number=r.number,
                title=r.title,
                lead_department=r.lead_department,
                leader=r.leader,
                what=f"{r.month} 月报未按期报送",
                deadline=r.deadline,
                behind_at=r.behind_at,
            )
            for r in (await session.execute(duties)).all()
        ]
    return sorted(items, key=lambda i: (i.deadline, i.number, i.subject_id))
