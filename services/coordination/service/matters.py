"""Joint matters (会办事项交办单): opening the assignment sheet with its approved time limits,
reading it, and the sweep that closes its items at their deadline (C1, C2, C4)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import exists, func, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from services.coordination import domain
from services.coordination.schemas import ApprovalView, JointMatterCreate, JointMatterView, MatterSummary
from services.coordination.service import access
from services.coordination.service.announcements import task_assigned
from services.coordination.service.items import item_views
from services.coordination.service.listing import applying, equal
from services.coordination.service.sweeps import JOINT_ITEMS
from services.coordination.tables import escalations, joint_items, joint_matters, matter_approvals, new_id
from shared import reference
from shared.app import ServiceContext
from shared.auth import Principal
from shared.deadlines import local_date
from shared.links import public_path
from shared.pagination import Keyset, Page, PageParams
from shared.problems import Problem
from shared.reference import department_name, leader_title
from shared.rules import Missing
from shared.sweeps import run_sweep

SUPERVISION_OFFICE = "supervision"
"""市政府督查室's code in the reference data."""

STANDARD_REQUIREMENTS = (
    "会办单位须于{due}前将会办情况（意见）以书面及电子文档形式报主办单位，同时抄报市政府督查室。"
    "书面材料须由单位主要领导签字及单位盖章。"
)

KEYSET = Keyset(joint_matters.c.created_at, joint_matters.c.id)


# --- opening a matter (C1, C2) -----------------------------------------------------------------


async def open_matter(
    ctx: ServiceContext, cmd: JointMatterCreate, principal: Principal, now: datetime
) -> JointMatterView:
    lead = reference.known_department(cmd.lead_department, field="lead_department")
    if not (principal.has_any("office") or access.is_department(principal, lead.code)):
        raise Problem(403, "只有主办单位或市政府办公室可以交办会办事项", kind="forbidden")
    for index, item in enumerate(cmd.items):
        reference.known_department(item.department, field=f"items.{index}.department")
    domain.check_cooperating_departments(lead.code, [i.department for i in cmd.items])
    assigned_on = domain.assignment_date(
        cmd.assigned_on, local_date(now), registers_earlier_sheets=principal.has_any("office")
    )
    granted = domain.check_approvals(cmd.approvals, lead, assigned_on)
    limits = domain.item_limits(cmd.items, cmd.feedback_days, granted, ctx.profile.coordination)
    matter_id = new_id("matter")
    async with ctx.db.transaction() as session:
        # Counted in the transaction that stores them, so a calendar published meanwhile either
        # waits for this sheet (and then recomputes its items) or is already counted here.
        deadlines = domain.item_deadlines(
            assigned_on,
            limits,
            await ctx.calendar.current(session),
            roll_to_working_day=ctx.profile.calendar.civil_code_rollover,
        )
        if cmd.supersedes is not None:
            original = select(joint_matters.c.lead_department).where(joint_matters.c.id == cmd.supersedes)
            domain.check_supersedes(cmd.supersedes, (await session.execute(original)).scalar(), lead.code)
        await _store_sheet(session, matter_id, cmd, lead.code, assigned_on, principal, now)
        await _store_items(ctx, session, matter_id, cmd, lead.code, limits, deadlines, now)
        view = await load_matter(session, matter_id, now)
    assert view is not None
    return view


async def _store_sheet(
    session: AsyncSession,
    matter_id: str,
    cmd: JointMatterCreate,
    lead: str,
    assigned_on: date,
    principal: Principal,
    now: datetime,
) -> None:
    """The sheet of 附件2 and the approvals of its time limit, as recorded."""
    await session.execute(
        insert(joint_matters).values(
            id=matter_id,
            lead_department=lead,
            **cmd.model_dump(
                include={"basis", "main_matter", "contact_person", "contact_phone", "supersedes"}
            ),
            requirements=cmd.requirements or "",
            fax=cmd.fax or None,
            attachments=[a.model_dump() for a in cmd.attachments],
            copied_to=[o.code for o in _copied_offices()],
            assigned_on=assigned_on,
            created_by=principal.client_id,
            created_at=now,
        )
    )
    for approval in cmd.approvals:
        await session.execute(
            insert(matter_approvals).values(
                matter_id=matter_id,
                **approval.model_dump(),
                recorded_by=principal.client_id,
                recorded_at=now,
            )
        )


async def _store_items(
    ctx: ServiceContext,
    session: AsyncSession,
    matter_id: str,
    cmd: JointMatterCreate,
    lead: str,
    limits: Sequence[domain.FeedbackLimit],
    deadlines: Sequence[domain.CountedDeadline],
    now: datetime,
) -> None:
    """One item per cooperating department, each announced to it (task-assigned)."""
    for seq, (item, limit, due) in enumerate(zip(cmd.items, limits, deadlines, strict=True), start=1):
        item_id = new_id("item")
        await session.execute(
            insert(joint_items).values(
                id=item_id,
                matter_id=matter_id,
                seq=seq,
                department=item.department,
                content=item.content,
                tier=limit.tier,
                feedback_days=limit.days,
                day_unit=limit.period.unit,
                due_on=domain.last_day_of(due.instant),
                deadline=due.instant,
                deadline_provisional=due.provisional,
                state="assigned",
                created_at=now,
            )
        )
        await ctx.emit(session, task_assigned("joint-item", item_id, matter_id, lead, item.department, due))


def _copied_offices() -> list[reference.Department]:
    """注：此交办单同时抄报市政府督查室 — every sheet is copied to the supervision office."""
    return [o for o in reference.offices() if o.code == SUPERVISION_OFFICE]


# --- reading -----------------------------------------------------------------------------------


async def get_matter(
    ctx: ServiceContext, matter_id: str, principal: Principal, now: datetime
) -> JointMatterView:
    async with ctx.db.reader() as session:
        view = await load_matter(session, matter_id, now)
        if view is None:
            raise Missing(f"交办单 {matter_id} 不存在", kind="matter-not-found")
        if not await _may_view(session, principal, view):
            raise Problem(403, "只有主办单位、会办单位、抄报单位和相关领导可以查看该交办单", kind="forbidden")
    return view


def _escalated_to(code: str) -> ColumnElement[bool]:
    """The escalations whose chain names leader ``code``."""
    return escalations.c.chain.contains([{"leader": code}])


async def _may_view(session: AsyncSession, principal: Principal, view: JointMatterView) -> bool:
    if access.sees_everything(principal):
        return True
    involved = {view.lead_department, *view.copied_to, *(i.department for i in view.items)}
    if access.own_department(principal) in involved:
        return True
    code = access.leader_code(principal)
    if code is None:
        return False
    if any(a.leader == code for a in view.approvals):
        return True
    found = select(escalations.c.id).where(escalations.c.matter_id == view.id, _escalated_to(code))
    return (await session.execute(found)).first() is not None


def _visible_matters(principal: Principal) -> ColumnElement[bool] | None:
    """None: everything; otherwise the condition on joint_matters a principal may see."""
    if access.sees_everything(principal):
        return None
    m = joint_matters
    if (code := access.own_department(principal)) is not None:
        return or_(
            m.c.lead_department == code,
            m.c.copied_to.contains([code]),
            m.c.id.in_(select(joint_items.c.matter_id).where(joint_items.c.department == code)),
        )
    if leader := access.leader_code(principal):
        return or_(
            m.c.id.in_(select(matter_approvals.c.matter_id).where(matter_approvals.c.leader == leader)),
            m.c.id.in_(select(escalations.c.matter_id).where(_escalated_to(leader))),
        )
    return m.c.id.is_(None)


async def list_matters(
    ctx: ServiceContext,
    principal: Principal,
    page: PageParams,
    lead_department: str | None,
    department: str | None,
) -> Page[MatterSummary]:
    m, i = joint_matters, joint_items
    open_count = select(func.count()).where(i.c.matter_id == m.c.id, i.c.state.in_(domain.OPEN_STATES))
    all_count = select(func.count()).where(i.c.matter_id == m.c.id)
    query = select(
        m.c.id,
        m.c.lead_department,
        m.c.main_matter,
        m.c.assigned_on,
        m.c.created_at,
        all_count.scalar_subquery().label("items"),
        open_count.scalar_subquery().label("open_items"),
    )
    cooperating = exists().where(i.c.matter_id == m.c.id, i.c.department == department)
    conditions = applying(
        _visible_matters(principal),
        equal(m.c.lead_department, lead_department),
        cooperating if department else None,
    )
    async with ctx.db.reader() as session:
        rows = (await session.execute(KEYSET.apply(query.where(*conditions), page))).all()
    return KEYSET.page(rows, page, MatterSummary.model_validate)


async def load_matter(session: AsyncSession, matter_id: str, now: datetime) -> JointMatterView | None:
    m = (await session.execute(select(joint_matters).where(joint_matters.c.id == matter_id))).first()
    if m is None:
        return None
    ma, i = matter_approvals, joint_items
    approvals = await session.execute(select(ma).where(ma.c.matter_id == matter_id).order_by(ma.c.level))
    items = (await session.execute(select(i).where(i.c.matter_id == matter_id).order_by(i.c.seq))).all()
    later = select(joint_matters.c.id).where(joint_matters.c.supersedes == matter_id)
    return JointMatterView.of(
        m,
        lead_department_name=department_name(m.lead_department),
        requirements=requirements_text(m.requirements, [r.due_on for r in items]),
        approvals=[ApprovalView.of(a, leader_title=leader_title(a.leader)) for a in approvals],
        items=await item_views(session, items, now),
        superseded_by=list((await session.execute(later.order_by(joint_matters.c.created_at))).scalars()),
        sheet_url=public_path("coordination", f"/v1/joint-matters/{m.id}/sheet"),
    )


def requirements_text(extra: str, due_days: Sequence[date]) -> str:
    """附件2's 办理反馈时限及要求, with the sheet's date (or each item's, when they differ)."""
    distinct = sorted(set(due_days))
    due = domain.chinese_date(distinct[0]) if len(distinct) == 1 else "各会办事项所列日期"
    text = STANDARD_REQUIREMENTS.format(due=due)
    return f"{text}{extra}" if extra else text


# --- the deemed-consent sweep (C4) -------------------------------------------------------------

# Items claimed per sweep transaction. A batch costs one claim, one UPDATE per consequence and one
# outbox INSERT, so the per-transaction cost (round trips, commit) dominates small batches; a
# thousand row locks are held for a fraction of a second, which a use case meeting one of them
# merely waits out.
SWEEP_BATCH = 1000


async def sweep_deadlines(ctx: ServiceContext, now: datetime) -> int:
    """Close every open item whose deadline has come (at 24:00 of the last day, not before): each
    leaves its open state once, deemed consent or deemed agreed to handle, and is announced once."""
    return await run_sweep(ctx, JOINT_ITEMS, now, batch=SWEEP_BATCH)
