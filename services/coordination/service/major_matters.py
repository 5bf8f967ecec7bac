"""Major matters (年度重大事项, C8): the year's list and its adjustments, reading it, and who
sees what.

The office registers a year's list at once (all or nothing: every bad row is named with its
field) or one matter at a time, and adjusts a listed matter with a reason; every change is kept
(``major_matter_changes``: who, when, what, why). Each matter carries its task sheet, its
timetable (milestones ending at 24:00 of their date), its responsibility sheet and its quarter
targets; listing it creates the monthly report duties from its month to its completion month.

Who sees what: the office and the supervision office everything; a department the matters it
leads or cooperates on; a leader the matters in their charge.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, func, insert, or_, select, update
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from services.coordination import domain
from services.coordination.major_schemas import (
    ChangeView,
    MajorListCreate,
    MajorListView,
    MajorMatterAdjust,
    MajorMatterIn,
    MajorMatterSummary,
    MajorMatterView,
    MilestoneIn,
    MilestoneView,
    PlannedMilestone,
    PlanRequest,
    QuarterTarget,
    ReportDutyView,
)
from services.coordination.service import access
from services.coordination.tables import (
    major_matter_changes,
    major_matters,
    major_milestones,
    major_report_duties,
    new_id,
)
from shared import reference
from shared.app import ServiceContext
from shared.auth import Principal
from shared.deadlines import local_date
from shared.events import MatterListed
from shared.links import public_path
from shared.pagination import Keyset, Page, PageParams
from shared.problems import Problem
from shared.reference import department_name, leader_title
from shared.rules import Missing, RuleViolation

KEYSET = Keyset(major_matters.c.year, major_matters.c.number, descending=False)

# --- checking a row ----------------------------------------------------------------------------


def check_matter(cmd: MajorMatterIn, year: int, *, prefix: str = "") -> None:
    """C8: a matter's responsibility sheet names known departments and leader; its timetable
    fits before its completion date."""
    reference.known_department(cmd.lead_department, field=f"{prefix}lead_department")
    for index, code in enumerate(cmd.cooperating_departments):
        reference.known_department(code, field=f"{prefix}cooperating_departments.{index}")
    reference.known_leader(cmd.leader, field=f"{prefix}leader")
    domain.check_responsibility(
        cmd.lead_department, cmd.cooperating_departments, field=f"{prefix}cooperating_departments"
    )
    domain.check_completion_due(cmd.completion_due, year, field=f"{prefix}completion_due")
    domain.check_milestones(
        [m.due_on for m in cmd.milestones], cmd.completion_due, year, field=f"{prefix}milestones"
    )
    domain.check_quarters([t.quarter for t in cmd.quarter_targets], field=f"{prefix}quarter_targets")


def _row_errors(cmd: MajorListCreate, year: int, taken: Sequence[int]) -> list[domain.RowError]:
    errors: list[domain.RowError] = []
    for index, matter in enumerate(cmd.matters):
        try:
            check_matter(matter, year, prefix=f"matters.{index}.")
        except RuleViolation as exc:
            errors.append(domain.RowError(index, exc))
    for index in domain.duplicate_numbers([m.number for m in cmd.matters], taken):
        number = cmd.matters[index].number
        errors.append(
            domain.RowError(index, domain.duplicate_number(year, number, field=f"matters.{index}.number"))
        )
    return sorted(errors, key=lambda e: e.index)


def _year(year: int) -> int:
    if not 2000 <= year <= 2999:
        raise RuleViolation(
            f"年度 {year} 超出范围（2000–2999）", rule="C8", kind="invalid-year", field="year"
        )
    return year


# The request fields stored under another column name.
_COLUMN_OF = {"cooperating_departments": "cooperating"}


def columns(cmd: MajorMatterIn) -> dict[str, Any]:
    """The ``major_matters`` columns of a matter's sheets (its milestones are rows of their own)."""
    values = cmd.model_dump(mode="json", exclude={"milestones"})
    values["completion_due"] = cmd.completion_due
    return {_COLUMN_OF.get(k, k): v for k, v in values.items()}


# --- registering -------------------------------------------------------------------------------


async def register_list(
    ctx: ServiceContext, year: int, cmd: MajorListCreate, principal: Principal, now: datetime
) -> MajorListView:
    """The whole list or nothing: every row is checked before any is stored."""
    _year(year)
    async with ctx.db.transaction() as session:
        taken = await _numbers(session, year)
        errors = _row_errors(cmd, year, taken)
        if errors:
            raise domain.list_refused(year, errors)
        ids = [await _store(ctx, session, year, m, principal, now) for m in cmd.matters]
        views = [await load(session, i, now) for i in ids]
    return MajorListView(year=year, matters=[v for v in views if v is not None])


async def register_one(
    ctx: ServiceContext, year: int, cmd: MajorMatterIn, principal: Principal, now: datetime
) -> MajorMatterView:
    _year(year)
    check_matter(cmd, year)
    async with ctx.db.transaction() as session:
        if cmd.number in await _numbers(session, year):
            raise domain.duplicate_number(year, cmd.number, field="number")
        matter_id = await _store(ctx, session, year, cmd, principal, now)
        view = await load(session, matter_id, now)
    assert view is not None
    return view


async def _numbers(session: AsyncSession, year: int) -> list[int]:
    # Locks the year's rows so that two registrations of one year cannot both take a number.
    query = select(major_matters.c.number).where(major_matters.c.year == year).with_for_update()
    return list((await session.execute(query)).scalars())


async def _store(
    ctx: ServiceContext,
    session: AsyncSession,
    year: int,
    cmd: MajorMatterIn,
    principal: Principal,
    now: datetime,
) -> str:
    matter_id = new_id("mm")
    listed_on = local_date(now)
    try:
        await session.execute(
            insert(major_matters).values(
                id=matter_id,
                year=year,
                **columns(cmd),
                state="listed",
                listed_on=listed_on,
                listed_by=principal.client_id,
                listed_at=now,
            )
        )
    except IntegrityError as exc:  # a concurrent registration took the number first
        raise domain.duplicate_number(year, cmd.number, field="number") from exc
    await _add_milestones(session, matter_id, cmd.milestones, start=1)
    await _sync_duties(ctx, session, matter_id, cmd.lead_department, listed_on, cmd.completion_due, year, now)
    await record_change(session, matter_id, "listed", cmd.model_dump(mode="json"), None, principal, now)
    await ctx.emit(
        session,
        MatterListed(
            matter_id=matter_id,
            year=year,
            number=cmd.number,
            title=cmd.title,
            lead_department=cmd.lead_department,
            cooperating_departments=list(cmd.cooperating_departments),
            leader=cmd.leader,
            completion_due=cmd.completion_due,
            milestones=len(cmd.milestones),
        ),
    )
    return matter_id


async def _add_milestones(
    session: AsyncSession, matter_id: str, milestones: Sequence[MilestoneIn], start: int
) -> None:
    for seq, m in enumerate(milestones, start=start):
        await session.execute(
            insert(major_milestones).values(
                id=new_id("ms"),
                matter_id=matter_id,
                seq=seq,
                title=m.title,
                due_on=m.due_on,
                deadline=domain.end_of_day(m.due_on),
                state="open",
            )
        )


async def _sync_duties(
    ctx: ServiceContext,
    session: AsyncSession,
    matter_id: str,
    lead: str,
    listed_on: date,
    completion_due: date,
    year: int,
    now: datetime,
) -> None:
    """The monthly report duties of the matter's months: missing ones are added; open ones of
    months no longer reported on are dropped (a duty reported or announced behind stays)."""
    by_day = ctx.profile.coordination.major_matters.monthly_report_by_day
    months = {str(m): m for m in domain.report_months(listed_on, completion_due, year)}
    d = major_report_duties
    existing = set((await session.execute(select(d.c.month).where(d.c.matter_id == matter_id))).scalars())
    await session.execute(
        delete(d).where(
            d.c.matter_id == matter_id,
            d.c.month.not_in(list(months)),
            d.c.reported_at.is_(None),
            d.c.behind_at.is_(None),
        )
    )
    for text, month in months.items():
        if text not in existing:
            await session.execute(
                insert(d).values(
                    matter_id=matter_id,
                    month=text,
                    lead_department=lead,
                    deadline=domain.report_deadline(month, by_day),
                )
            )


async def record_change(
    session: AsyncSession,
    matter_id: str,
    action: str,
    changes: dict[str, Any],
    reason: str | None,
    principal: Principal,
    now: datetime,
) -> None:
    """One entry of the matter's audit trail (who, when, what, why)."""
    c = major_matter_changes
    seq = (
        await session.execute(
            select(func.coalesce(func.max(c.c.seq), 0) + 1).where(c.c.matter_id == matter_id)
        )
    ).scalar_one()
    await session.execute(
        insert(c).values(
            matter_id=matter_id,
            seq=seq,
            action=action,
            changes=changes,
            reason=reason,
            changed_by=principal.client_id,
            changed_at=now,
        )
    )


# --- adjusting ---------------------------------------------------------------------------------


async def adjust(
    ctx: ServiceContext, matter_id: str, cmd: MajorMatterAdjust, principal: Principal, now: datetime
) -> MajorMatterView:
    """C8: the office adjusts a listed matter; the change and its reason join the audit trail."""
    async with ctx.db.transaction() as session:
        row = await locked(session, matter_id)
        domain.check_not_closed(row.state, "调整")
        changes = cmd.model_dump(mode="json", exclude_unset=True, exclude={"reason"})
        m = major_milestones
        current = (
            await session.execute(
                select(m.c.id, m.c.title, m.c.due_on)
                .where(m.c.matter_id == matter_id, m.c.state != "withdrawn")
                .order_by(m.c.seq)
            )
        ).all()
        merged = MajorMatterIn.model_validate(
            {
                **_as_input(row),
                **{k: v for k, v in changes.items() if k != "milestones"},
                "milestones": cmd.milestones
                if cmd.milestones is not None
                else [MilestoneIn(id=r.id, title=r.title, due_on=r.due_on) for r in current],
            }
        )
        check_matter(merged, row.year)
        if cmd.milestones is not None:
            await _replace_milestones(session, matter_id, cmd.milestones)
        stored = columns(merged)
        values = {_COLUMN_OF.get(k, k): stored[_COLUMN_OF.get(k, k)] for k in changes if k != "milestones"}
        if values:
            await session.execute(
                update(major_matters).where(major_matters.c.id == matter_id).values(**values)
            )
        await _sync_duties(
            ctx, session, matter_id, row.lead_department, row.listed_on, merged.completion_due, row.year, now
        )
        await record_change(session, matter_id, "adjusted", changes, cmd.reason, principal, now)
        view = await load(session, matter_id, now)
    assert view is not None
    return view


def _as_input(row: Row[Any]) -> dict[str, Any]:
    return {
        "number": row.number,
        "title": row.title,
        "task": row.task,
        "lead_department": row.lead_department,
        "cooperating_departments": list(row.cooperating),
        "leader": row.leader,
        "responsible_person": row.responsible_person,
        "contact_phone": row.contact_phone,
        "completion_due": row.completion_due,
        "quarter_targets": list(row.quarter_targets),
    }


async def _replace_milestones(session: AsyncSession, matter_id: str, wanted: Sequence[MilestoneIn]) -> None:
    """The adjusted timetable: kept milestones (by id) may change title and date, new ones are
    added, missing ones are withdrawn; a milestone done or announced behind keeps its date and
    stays."""
    m = major_milestones
    current = {
        r.id: r
        for r in (
            await session.execute(select(m).where(m.c.matter_id == matter_id, m.c.state != "withdrawn"))
        ).all()
    }
    kept_ids = {w.id for w in wanted if w.id is not None}
    for index, w in enumerate(wanted):
        if w.id is None:
            continue
        if w.id not in current:
            raise RuleViolation(
                f"节点 {w.id} 不是该事项的节点（C8）",
                rule="C8",
                kind="unknown-milestone",
                field=f"milestones.{index}.id",
            )
        old = current[w.id]
        if old.due_on != w.due_on:
            domain.check_milestone_change(
                old.state == "done", old.behind_at is not None, field=f"milestones.{index}.due_on"
            )
        await session.execute(
            update(m)
            .where(m.c.id == w.id)
            .values(title=w.title, due_on=w.due_on, deadline=domain.end_of_day(w.due_on))
        )
    for old_id, old in current.items():
        if old_id not in kept_ids:
            domain.check_milestone_change(old.state == "done", old.behind_at is not None, field="milestones")
            await session.execute(update(m).where(m.c.id == old_id).values(state="withdrawn"))
    last = (
        await session.execute(select(func.coalesce(func.max(m.c.seq), 0)).where(m.c.matter_id == matter_id))
    ).scalar_one()
    await _add_milestones(session, matter_id, [w for w in wanted if w.id is None], start=last + 1)


def plan(cmd: PlanRequest) -> list[PlannedMilestone]:
    """倒排工期: the milestone dates of ``cmd.steps`` planned back from the completion date."""
    dates = domain.plan_backwards(cmd.completion_due, cmd.steps)
    return [PlannedMilestone(title=s.title, due_on=d) for s, d in zip(cmd.steps, dates, strict=True)]


# --- reading -----------------------------------------------------------------------------------


def may_view(principal: Principal, row: Row[Any]) -> bool:
    if access.sees_everything(principal):
        return True
    code = access.own_department(principal)
    if code is not None and (code == row.lead_department or code in row.cooperating):
        return True
    return access.leader_code(principal) == row.leader


def visible(principal: Principal) -> ColumnElement[bool] | None:
    """None: everything; otherwise the matters a principal may see."""
    if access.sees_everything(principal):
        return None
    mm = major_matters
    if (code := access.own_department(principal)) is not None:
        return or_(mm.c.lead_department == code, mm.c.cooperating.contains([code]))
    if (leader := access.leader_code(principal)) is not None:
        return mm.c.leader == leader
    return mm.c.id.is_(None)


async def locked(session: AsyncSession, matter_id: str) -> Row[Any]:
    row = (
        await session.execute(select(major_matters).where(major_matters.c.id == matter_id).with_for_update())
    ).first()
    if row is None:
        raise Missing(f"重大事项 {matter_id} 不存在", kind="major-matter-not-found")
    return row


async def readable(session: AsyncSession, matter_id: str, principal: Principal) -> Row[Any]:
    row = (await session.execute(select(major_matters).where(major_matters.c.id == matter_id))).first()
    if row is None:
        raise Missing(f"重大事项 {matter_id} 不存在", kind="major-matter-not-found")
    if not may_view(principal, row):
        raise Problem(
            403,
            "只有牵头单位、配合单位、分管市领导、市政府办公室和督查室可以查看该重大事项",
            kind="forbidden",
        )
    return row


async def get(ctx: ServiceContext, matter_id: str, principal: Principal, now: datetime) -> MajorMatterView:
    async with ctx.db.reader() as session:
        await readable(session, matter_id, principal)
        view = await load(session, matter_id, now)
    assert view is not None
    return view


async def history(ctx: ServiceContext, matter_id: str, principal: Principal) -> list[ChangeView]:
    c = major_matter_changes
    async with ctx.db.reader() as session:
        await readable(session, matter_id, principal)
        rows = (await session.execute(select(c).where(c.c.matter_id == matter_id).order_by(c.c.seq))).all()
    return [ChangeView.model_validate(r) for r in rows]


async def list_year(
    ctx: ServiceContext,
    year: int,
    principal: Principal,
    page: PageParams,
    lead_department: str | None,
    state: str | None,
) -> Page[MajorMatterSummary]:
    mm = major_matters
    conditions = [
        c
        for c in (
            mm.c.year == year,
            visible(principal),
            None if lead_department is None else mm.c.lead_department == lead_department,
            None if state is None else mm.c.state == state,
        )
        if c is not None
    ]
    async with ctx.db.reader() as session:
        rows = (await session.execute(KEYSET.apply(select(mm).where(*conditions), page))).all()
    return KEYSET.page(rows, page, MajorMatterSummary.model_validate)


async def milestone_facts(
    session: AsyncSession, matter_ids: Sequence[str]
) -> dict[str, list[domain.MilestoneFacts]]:
    m = major_milestones
    rows = (
        await session.execute(
            select(m).where(m.c.matter_id.in_(list(matter_ids))).order_by(m.c.matter_id, m.c.seq)
        )
    ).all()
    facts: dict[str, list[domain.MilestoneFacts]] = {i: [] for i in matter_ids}
    for r in rows:
        facts[r.matter_id].append(
            domain.MilestoneFacts(r.id, r.title, r.due_on, r.deadline, r.state, r.done_on, r.done_reported_at)
        )
    return facts


def duty_missing(duty: Row[Any], as_of: datetime) -> bool:
    """A monthly report not filed by its deadline (nor cancelled by a close-off before it) at ``as_of``."""
    if duty.deadline > as_of or (duty.cancelled_at is not None and duty.cancelled_at <= as_of):
        return False
    return duty.reported_at is None or duty.reported_at > as_of


async def load(session: AsyncSession, matter_id: str, now: datetime) -> MajorMatterView | None:
    row = (await session.execute(select(major_matters).where(major_matters.c.id == matter_id))).first()
    if row is None:
        return None
    m, d = major_milestones, major_report_duties
    milestones = (await session.execute(select(m).where(m.c.matter_id == matter_id).order_by(m.c.seq))).all()
    duties = (await session.execute(select(d).where(d.c.matter_id == matter_id).order_by(d.c.month))).all()
    facts = (await milestone_facts(session, [matter_id]))[matter_id]
    behind = any(domain.milestone_behind(f, now) for f in facts) or any(duty_missing(x, now) for x in duties)
    return MajorMatterView.of(
        row,
        lead_department_name=department_name(row.lead_department),
        cooperating_departments=list(row.cooperating),
        leader_title=leader_title(row.leader),
        quarter_targets=[QuarterTarget.model_validate(t) for t in row.quarter_targets],
        behind=behind and row.state != "closed-off",
        milestones=[MilestoneView.model_validate(x) for x in milestones],
        report_duties=[ReportDutyView.model_validate(x) for x in duties],
        history_url=public_path("coordination", f"/v1/major-matters/{matter_id}/history"),
    )
