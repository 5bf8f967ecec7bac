"""Joint matters (会办事项): opening the assignment sheet, reading it, and the item lifecycle —
acknowledgement, feedback, corrections and the deadline's consequence (C1–C4)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import ARRAY, Row, String, and_, bindparam, exists, func, insert, or_, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from services.coordination import domain
from services.coordination.schemas import (
    ApprovalView,
    AttachmentView,
    CorrectionCreate,
    FeedbackCreate,
    FeedbackView,
    ItemIn,
    ItemPage,
    ItemView,
    JointMatterCreate,
    JointMatterView,
    MatterPage,
    MatterSummary,
)
from services.coordination.service import common
from services.coordination.tables import (
    escalations,
    item_feedback,
    joint_items,
    joint_matters,
    matter_approvals,
)
from shared import reference
from shared.app import ServiceContext
from shared.auth import Principal
from shared.calendar import CalendarError
from shared.deadlines import is_provisional, local_date
from shared.events import DeadlinePassed, FeedbackSubmitted, TaskAssigned
from shared.pagination import PageParams, encode_cursor
from shared.policy import ApprovalLevel
from shared.problems import Problem

SUPERVISION_OFFICE = "supervision"
"""市政府督查室's code in the reference data."""

STANDARD_REQUIREMENTS = (
    "会办单位须于{due}前将会办情况（意见）以书面及电子文档形式报主办单位，同时抄报市政府督查室。"
    "书面材料须由单位主要领导签字及单位盖章。"
)


# --- opening a matter (C1, C2) -----------------------------------------------------------------


async def open_matter(
    ctx: ServiceContext, cmd: JointMatterCreate, principal: Principal, now: datetime
) -> JointMatterView:
    lead = common.department(cmd.lead_department, "lead_department")
    if not (principal.has_any("office") or common.is_department(principal, lead.code)):
        raise Problem(403, "只有主办单位或市政府办公室可以交办会办事项", kind="forbidden")
    for index, item in enumerate(cmd.items):
        common.department(item.department, f"items.{index}.department")
    try:
        domain.check_cooperating_departments(lead.code, [i.department for i in cmd.items])
    except domain.RuleViolation as exc:
        raise common.problem_of(exc) from exc

    today = local_date(now)
    assigned_on = cmd.assigned_on or today
    if assigned_on > today:
        raise Problem(422, "交办日期不能晚于今天", kind="assigned-on-in-future", field="assigned_on")
    if assigned_on < today and not principal.has_any("office"):
        raise Problem(
            403,
            "交办单以开具当天为交办日期；此前已印发的纸质交办单由市政府办公室登记",
            kind="forbidden",
            field="assigned_on",
        )
    granted = _check_approvals(cmd, lead, assigned_on)

    policy = common.policy(ctx)
    planned: list[tuple[int, ItemIn, domain.FeedbackLimit]] = []
    for index, item in enumerate(cmd.items, start=1):
        field = f"items.{index - 1}.feedback_days" if item.feedback_days is not None else "feedback_days"
        try:
            limit = domain.feedback_limit(item.feedback_days or cmd.feedback_days, policy)
            domain.require_approval(limit, granted, policy)
        except domain.RuleViolation as exc:
            exc.field = field
            raise common.problem_of(exc) from exc
        planned.append((index, item, limit))

    matter_id = common.new_id("matter")
    async with ctx.db.transaction() as session:
        # Counted in the transaction that stores them, so a calendar published meanwhile either
        # waits for this sheet (and then recomputes its items) or is already counted here.
        calendar = await ctx.calendar.current(session)
        deadlines: list[tuple[datetime, bool]] = []
        for _, _, limit in planned:
            try:
                due = domain.item_deadline(
                    assigned_on, limit, calendar, roll_to_working_day=common.rollover(ctx)
                )
                deadlines.append((due, is_provisional(assigned_on, due, calendar)))
            except CalendarError as exc:
                raise common.calendar_out_of_range(exc, rule="C2", field="assigned_on") from exc
        if cmd.supersedes is not None:
            original = (
                await session.execute(
                    select(joint_matters.c.lead_department).where(joint_matters.c.id == cmd.supersedes)
                )
            ).first()
            if original is None or original.lead_department != lead.code:
                raise Problem(
                    422,
                    f"被更正的交办单 {cmd.supersedes} 不存在或不是本主办单位的",
                    kind="unknown-matter",
                    field="supersedes",
                )
        await session.execute(
            insert(joint_matters).values(
                id=matter_id,
                lead_department=lead.code,
                basis=cmd.basis,
                main_matter=cmd.main_matter,
                requirements=cmd.requirements or "",
                contact_person=cmd.contact_person,
                contact_phone=cmd.contact_phone,
                fax=cmd.fax or None,
                attachments=[a.model_dump() for a in cmd.attachments],
                copied_to=[o.code for o in _copied_offices()],
                assigned_on=assigned_on,
                supersedes=cmd.supersedes,
                created_by=principal.client_id,
                created_at=now,
            )
        )
        for approval in cmd.approvals:
            await session.execute(
                insert(matter_approvals).values(
                    matter_id=matter_id,
                    level=approval.level,
                    leader=approval.leader,
                    approved_on=approval.approved_on,
                    reference=approval.reference,
                    recorded_by=principal.client_id,
                    recorded_at=now,
                )
            )
        for (seq, item, limit), (due, provisional) in zip(planned, deadlines, strict=True):
            item_id = common.new_id("item")
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
                    due_on=domain.last_day_of(due),
                    deadline=due,
                    deadline_provisional=provisional,
                    state="assigned",
                    created_at=now,
                )
            )
            await common.emit(
                ctx,
                session,
                TaskAssigned(
                    task_id=item_id,
                    kind="joint-item",
                    parent_id=matter_id,
                    lead_department=lead.code,
                    department=item.department,
                    deadline=due,
                    deadline_provisional=provisional,
                ),
            )
        view = await load_matter(session, matter_id, now)
    assert view is not None
    return view


def _copied_offices() -> list[reference.Department]:
    """注：此交办单同时抄报市政府督查室 — every sheet is copied to the supervision office."""
    return [o for o in reference.offices() if o.code == SUPERVISION_OFFICE]


def _check_approvals(
    cmd: JointMatterCreate, lead: reference.Department, assigned_on: date
) -> list[ApprovalLevel]:
    """C2: each recorded approval names a leader of the right role, given before the sheet."""
    levels: set[ApprovalLevel] = set()
    for index, approval in enumerate(cmd.approvals):
        field = f"approvals.{index}"
        if approval.level in levels:
            raise Problem(422, f"审批层级 {approval.level} 重复", kind="duplicate-approval", field=field)
        levels.add(approval.level)
        person = common.leader(approval.leader, f"{field}.leader")
        if person.role != approval.level:
            raise Problem(
                422,
                f"{approval.leader}（{person.title}）不能作为{domain.APPROVAL_TITLES[approval.level]}审批（C2）",
                kind="approval-leader-mismatch",
                rule="C2",
                field=f"{field}.leader",
            )
        if approval.level == "vice_mayor" and approval.leader != lead.vice_mayor:
            raise Problem(
                422,
                f"须经主办单位的分管市长 {lead.vice_mayor} 同意，而不是 {approval.leader}（C2）",
                kind="approval-leader-mismatch",
                rule="C2",
                field=f"{field}.leader",
            )
        if approval.approved_on > assigned_on:
            raise Problem(
                422,
                "时限须在交办前经同意：审批日期不能晚于交办日期（C2）",
                kind="approval-after-assignment",
                rule="C2",
                field=f"{field}.approved_on",
            )
    return list(levels)


# --- reading -----------------------------------------------------------------------------------


async def get_matter(
    ctx: ServiceContext, matter_id: str, principal: Principal, now: datetime
) -> JointMatterView:
    async with ctx.db.reader() as session:
        view = await load_matter(session, matter_id, now)
        if view is None:
            raise Problem(404, f"交办单 {matter_id} 不存在", kind="matter-not-found")
        if not await _may_view(session, principal, view):
            raise Problem(403, "只有主办单位、会办单位、抄报单位和相关领导可以查看该交办单", kind="forbidden")
    return view


async def _may_view(session: AsyncSession, principal: Principal, view: JointMatterView) -> bool:
    if common.sees_everything(principal):
        return True
    involved = {view.lead_department, *view.copied_to, *(i.department for i in view.items)}
    if "department" in principal.roles and principal.department in involved:
        return True
    code = common.leader_code(principal)
    if code is None:
        return False
    if any(a.leader == code for a in view.approvals):
        return True
    found = await session.execute(
        select(escalations.c.id).where(
            escalations.c.matter_id == view.id, escalations.c.chain.contains([{"leader": code}])
        )
    )
    return found.first() is not None


def _visible_matters(principal: Principal) -> ColumnElement[bool] | None:
    """None: everything; otherwise the condition on joint_matters a principal may see."""
    if common.sees_everything(principal):
        return None
    if "department" in principal.roles and principal.department:
        code = principal.department
        return or_(
            joint_matters.c.lead_department == code,
            joint_matters.c.copied_to.contains([code]),
            joint_matters.c.id.in_(select(joint_items.c.matter_id).where(joint_items.c.department == code)),
        )
    code_of_leader = common.leader_code(principal)
    if code_of_leader:
        return or_(
            joint_matters.c.id.in_(
                select(matter_approvals.c.matter_id).where(matter_approvals.c.leader == code_of_leader)
            ),
            joint_matters.c.id.in_(
                select(escalations.c.matter_id).where(
                    escalations.c.chain.contains([{"leader": code_of_leader}])
                )
            ),
        )
    return joint_matters.c.id.is_(None)


def keyset(page: PageParams, created: Any, ident: Any) -> ColumnElement[bool] | None:
    if page.cursor is None:
        return None
    try:
        at, key = datetime.fromisoformat(str(page.cursor[0])), str(page.cursor[1])
    except (IndexError, TypeError, ValueError) as exc:
        raise Problem(400, "游标无效，请使用上一页返回的 next_cursor", kind="invalid-cursor") from exc
    return tuple_(created, ident) < tuple_(at, key)


def next_cursor(rows: Sequence[Any], limit: int) -> str | None:
    if len(rows) <= limit:
        return None
    last = rows[limit - 1]
    return encode_cursor([last.created_at.isoformat(), last.id])


async def list_matters(
    ctx: ServiceContext,
    principal: Principal,
    page: PageParams,
    lead_department: str | None,
    department: str | None,
) -> MatterPage:
    m = joint_matters
    open_count = (
        select(func.count())
        .where(joint_items.c.matter_id == m.c.id, joint_items.c.state.in_(domain.OPEN_STATES))
        .scalar_subquery()
    )
    all_count = select(func.count()).where(joint_items.c.matter_id == m.c.id).scalar_subquery()
    query = select(
        m.c.id,
        m.c.lead_department,
        m.c.main_matter,
        m.c.assigned_on,
        m.c.created_at,
        all_count.label("items"),
        open_count.label("open_items"),
    )
    conditions = [
        c for c in (_visible_matters(principal), keyset(page, m.c.created_at, m.c.id)) if c is not None
    ]
    if lead_department:
        conditions.append(m.c.lead_department == lead_department)
    if department:
        conditions.append(
            exists().where(joint_items.c.matter_id == m.c.id, joint_items.c.department == department)
        )
    if conditions:
        query = query.where(and_(*conditions))
    async with ctx.db.reader() as session:
        rows = (
            await session.execute(query.order_by(m.c.created_at.desc(), m.c.id.desc()).limit(page.limit + 1))
        ).all()
    return MatterPage(
        items=[
            MatterSummary(
                id=r.id,
                lead_department=r.lead_department,
                main_matter=r.main_matter,
                assigned_on=r.assigned_on,
                items=r.items,
                open_items=r.open_items,
                created_at=r.created_at,
            )
            for r in rows[: page.limit]
        ],
        next_cursor=next_cursor(rows, page.limit),
    )


async def list_items(
    ctx: ServiceContext,
    principal: Principal,
    page: PageParams,
    department: str | None,
    state: str | None,
    now: datetime,
) -> ItemPage:
    i = joint_items
    query = select(i).join(joint_matters, joint_matters.c.id == i.c.matter_id)
    conditions: list[ColumnElement[bool]] = []
    if not common.sees_everything(principal):
        own = principal.department or ""
        conditions.append(or_(i.c.department == own, joint_matters.c.lead_department == own))
    if department:
        conditions.append(i.c.department == department)
    if state:
        conditions.append(i.c.state == state)
    if (key := keyset(page, i.c.created_at, i.c.id)) is not None:
        conditions.append(key)
    if conditions:
        query = query.where(and_(*conditions))
    async with ctx.db.reader() as session:
        rows = (
            await session.execute(query.order_by(i.c.created_at.desc(), i.c.id.desc()).limit(page.limit + 1))
        ).all()
        views = await _item_views(session, rows[: page.limit], now)
    return ItemPage(items=views, next_cursor=next_cursor(rows, page.limit))


async def get_item(ctx: ServiceContext, item_id: str, principal: Principal, now: datetime) -> ItemView:
    async with ctx.db.reader() as session:
        row = (
            await session.execute(
                select(joint_items, joint_matters.c.lead_department)
                .join(joint_matters, joint_matters.c.id == joint_items.c.matter_id)
                .where(joint_items.c.id == item_id)
            )
        ).first()
        if row is None:
            raise Problem(404, f"会办事项 {item_id} 不存在", kind="item-not-found")
        if not (
            common.sees_everything(principal)
            or (
                "department" in principal.roles
                and principal.department in (row.department, row.lead_department)
            )
        ):
            raise Problem(
                403, "只有主办单位、会办单位和市政府办公室、督查室可以查看该会办事项", kind="forbidden"
            )
        (view,) = await _item_views(session, [row], now)
    return view


async def load_matter(session: AsyncSession, matter_id: str, now: datetime) -> JointMatterView | None:
    m = (await session.execute(select(joint_matters).where(joint_matters.c.id == matter_id))).first()
    if m is None:
        return None
    approvals = (
        await session.execute(
            select(matter_approvals)
            .where(matter_approvals.c.matter_id == matter_id)
            .order_by(matter_approvals.c.level)
        )
    ).all()
    items = (
        await session.execute(
            select(joint_items).where(joint_items.c.matter_id == matter_id).order_by(joint_items.c.seq)
        )
    ).all()
    later = (
        await session.execute(
            select(joint_matters.c.id)
            .where(joint_matters.c.supersedes == matter_id)
            .order_by(joint_matters.c.created_at)
        )
    ).scalars()
    return JointMatterView(
        id=m.id,
        lead_department=m.lead_department,
        lead_department_name=common.department_name(m.lead_department),
        basis=m.basis,
        main_matter=m.main_matter,
        requirements=requirements_text(m.requirements, [i.due_on for i in items]),
        contact_person=m.contact_person,
        contact_phone=m.contact_phone,
        fax=m.fax,
        attachments=[AttachmentView(**a) for a in m.attachments],
        copied_to=list(m.copied_to),
        assigned_on=m.assigned_on,
        approvals=[
            ApprovalView(
                level=a.level,
                leader=a.leader,
                leader_title=common.leader_title(a.leader),
                approved_on=a.approved_on,
                reference=a.reference,
                recorded_by=a.recorded_by,
                recorded_at=a.recorded_at,
            )
            for a in approvals
        ],
        items=await _item_views(session, items, now),
        supersedes=m.supersedes,
        superseded_by=list(later),
        created_by=m.created_by,
        created_at=m.created_at,
        sheet_url=f"/v1/joint-matters/{m.id}/sheet",
    )


def requirements_text(extra: str, due_days: Sequence[date]) -> str:
    """附件2's 办理反馈时限及要求, with the sheet's date (or each item's, when they differ)."""
    distinct = sorted(set(due_days))
    due = domain.chinese_date(distinct[0]) if len(distinct) == 1 else "各会办事项所列日期"
    text = STANDARD_REQUIREMENTS.format(due=due)
    return f"{text}{extra}" if extra else text


async def _item_views(session: AsyncSession, rows: Sequence[Row[Any]], now: datetime) -> list[ItemView]:
    ids = [r.id for r in rows]
    feedback: dict[str, list[FeedbackView]] = {i: [] for i in ids}
    escalated: dict[str, str] = {}
    if ids:
        for f in (
            await session.execute(
                select(item_feedback).where(item_feedback.c.item_id.in_(ids)).order_by(item_feedback.c.seq)
            )
        ).all():
            feedback[f.item_id].append(_feedback_view(f))
        escalated = dict(
            (
                await session.execute(
                    select(escalations.c.item_id, escalations.c.id).where(escalations.c.item_id.in_(ids))
                )
            ).all()
        )
    return [
        ItemView(
            id=r.id,
            matter_id=r.matter_id,
            seq=r.seq,
            department=r.department,
            department_name=common.department_name(r.department),
            content=r.content,
            tier=r.tier,
            feedback_days=r.feedback_days,
            day_unit=r.day_unit,
            due_on=r.due_on,
            deadline=r.deadline,
            deadline_provisional=r.deadline_provisional,
            state=r.state,
            past_deadline=now >= r.deadline,
            acknowledged_at=r.acknowledged_at,
            closed_at=r.closed_at,
            feedback=feedback[r.id],
            escalation_id=escalated.get(r.id),
        )
        for r in rows
    ]


def _feedback_view(f: Row[Any]) -> FeedbackView:
    return FeedbackView(
        id=f.id,
        item_id=f.item_id,
        kind=f.kind,
        content=f.content,
        signed_by=f.signed_by,
        stamped=f.stamped,
        attachments=[AttachmentView(**a) for a in f.attachments],
        delay_reason=f.delay_reason,
        late=f.late,
        corrects=f.corrects,
        submitted_by=f.submitted_by,
        submitted_at=f.submitted_at,
    )


# --- the item lifecycle (C3, C4) ---------------------------------------------------------------


async def lock_item(session: AsyncSession, item_id: str) -> Row[Any]:
    row = (
        await session.execute(
            select(joint_items, joint_matters.c.lead_department)
            .join(joint_matters, joint_matters.c.id == joint_items.c.matter_id)
            .where(joint_items.c.id == item_id)
            .with_for_update(of=joint_items)
        )
    ).first()
    if row is None:
        raise Problem(404, f"会办事项 {item_id} 不存在", kind="item-not-found")
    return row


async def close_at_deadline(
    ctx: ServiceContext,
    session: AsyncSession,
    *,
    item_id: str,
    state: domain.ItemState,
    department: str,
    deadline: datetime,
    deadline_provisional: bool,
    now: datetime,
) -> domain.Consequence:
    """C4: the open item reaches its final state at its deadline, announced once.

    The caller holds the item's row lock; the state guard makes a second call a no-op, so the
    sweeper and a use case that meets an unswept item never both announce it.
    """
    consequence = domain.consequence_at_deadline(state)
    changed = await session.execute(
        update(joint_items)
        .where(joint_items.c.id == item_id, common.item_is_open(joint_items.c.state))
        .values(state=consequence, closed_at=deadline, swept_at=now)
    )
    if changed.rowcount == 1:  # type: ignore[attr-defined]
        await common.emit(
            ctx,
            session,
            DeadlinePassed(
                subject_kind="joint-item",
                subject_id=item_id,
                department=department,
                deadline=common.local(deadline),
                consequence=consequence,
                deadline_provisional=deadline_provisional,
            ),
        )
    return consequence


async def settle(
    ctx: ServiceContext, session: AsyncSession, row: Row[Any], now: datetime
) -> domain.ItemState:
    """The item's state at ``now``: an open item past its deadline is closed first (sweeper lag)."""
    if domain.is_open(row.state) and now >= row.deadline:
        return await close_at_deadline(
            ctx,
            session,
            item_id=row.id,
            state=row.state,
            department=row.department,
            deadline=row.deadline,
            deadline_provisional=row.deadline_provisional,
            now=now,
        )
    state: domain.ItemState = row.state
    return state


def _require_cooperating(principal: Principal, row: Row[Any], action: str) -> None:
    if not common.is_department(principal, row.department):
        raise Problem(
            403,
            f"只有会办单位 {row.department}（{common.department_name(row.department)}）"
            f"可以{action}该会办事项",
            kind="forbidden",
        )


async def acknowledge(ctx: ServiceContext, item_id: str, principal: Principal, now: datetime) -> ItemView:
    closed: domain.ItemState | None = None
    async with ctx.db.transaction() as session:
        row = await lock_item(session, item_id)
        _require_cooperating(principal, row, "领办")
        state = await settle(ctx, session, row, now)
        if state == "assigned":
            await session.execute(
                update(joint_items)
                .where(joint_items.c.id == item_id)
                .values(state="acknowledged", acknowledged_at=now, acknowledged_by=principal.client_id)
            )
        elif not domain.is_open(state):
            closed = state
    if closed is not None:
        raise Problem(409, f"该会办事项已办结（{closed}），不能再领办（C4）", kind="item-closed", rule="C4")
    return await get_item(ctx, item_id, principal, now)


async def submit_feedback(
    ctx: ServiceContext, item_id: str, cmd: FeedbackCreate, principal: Principal, now: datetime
) -> ItemView:
    """C3 written, signed and stamped feedback. Before the deadline it answers the item (final);
    after it, the item keeps its deemed state and the feedback is recorded once as late."""
    async with ctx.db.transaction() as session:
        row = await lock_item(session, item_id)
        _require_cooperating(principal, row, "反馈")
        try:
            domain.check_feedback_signed(cmd.signed_by, cmd.stamped)
        except domain.RuleViolation as exc:
            raise common.problem_of(exc) from exc
        state = await settle(ctx, session, row, now)
        has_late = (
            await session.execute(
                select(item_feedback.c.id).where(
                    item_feedback.c.item_id == item_id, item_feedback.c.kind == "late"
                )
            )
        ).first() is not None
        try:
            kind = domain.feedback_kind_for(state, has_late)
        except domain.RuleViolation as exc:
            raise common.problem_of(exc, 409) from exc
        late = domain.answered_late(row.deadline, now)
        await session.execute(
            insert(item_feedback).values(
                id=common.new_id("fb"),
                item_id=item_id,
                kind=kind,
                content=cmd.content,
                signed_by=cmd.signed_by,
                stamped=cmd.stamped,
                attachments=[a.model_dump() for a in cmd.attachments],
                delay_reason=cmd.delay_reason,
                late=late,
                corrects=None,
                submitted_by=principal.client_id,
                submitted_at=now,
            )
        )
        if kind == "answer":
            await session.execute(
                update(joint_items).where(joint_items.c.id == item_id).values(state="answered", closed_at=now)
            )
        await common.emit(
            ctx,
            session,
            FeedbackSubmitted(
                task_id=item_id,
                kind="joint-item",
                parent_id=row.matter_id,
                department=row.department,
                submitted_at=common.local(now),
                deadline=common.local(row.deadline),
                deadline_provisional=row.deadline_provisional,
                late=late,
            ),
        )
    return await get_item(ctx, item_id, principal, now)


async def correct_feedback(
    ctx: ServiceContext, item_id: str, cmd: CorrectionCreate, principal: Principal, now: datetime
) -> ItemView:
    """A correction is a new record linked to the feedback it corrects; nothing is overwritten
    and the item's final state stays. It is not new feedback, so no event is published."""
    async with ctx.db.transaction() as session:
        row = await lock_item(session, item_id)
        _require_cooperating(principal, row, "更正")
        try:
            domain.check_feedback_signed(cmd.signed_by, cmd.stamped)
        except domain.RuleViolation as exc:
            raise common.problem_of(exc) from exc
        query = select(item_feedback.c.id, item_feedback.c.late).where(item_feedback.c.item_id == item_id)
        if cmd.corrects is not None:
            query = query.where(item_feedback.c.id == cmd.corrects)
        target = (await session.execute(query.order_by(item_feedback.c.seq.desc()))).first()
        if target is None:
            raise Problem(
                409 if cmd.corrects is None else 422,
                "该会办事项没有可更正的反馈"
                if cmd.corrects is None
                else f"反馈 {cmd.corrects} 不属于该会办事项",
                kind="nothing-to-correct",
                field="corrects",
            )
        await session.execute(
            insert(item_feedback).values(
                id=common.new_id("fb"),
                item_id=item_id,
                kind="correction",
                content=cmd.content,
                signed_by=cmd.signed_by,
                stamped=cmd.stamped,
                attachments=[a.model_dump() for a in cmd.attachments],
                delay_reason=cmd.delay_reason,
                late=target.late,
                corrects=target.id,
                submitted_by=principal.client_id,
                submitted_at=now,
            )
        )
    return await get_item(ctx, item_id, principal, now)


# --- the deemed-consent sweeper (C4) -----------------------------------------------------------

# Items claimed per sweep transaction. A batch costs one claim, one UPDATE and one outbox INSERT,
# so the per-transaction cost (round trips, commit) dominates small batches; a thousand row locks
# are held for a fraction of a second, which a use case meeting one of them merely waits out.
SWEEP_BATCH = 1000


async def sweep_deadlines(ctx: ServiceContext, now: datetime) -> int:
    """Close every open item whose deadline has come (at 24:00 of the last day, not before).

    Each round claims a batch through the partial index on open items (``FOR UPDATE SKIP LOCKED``,
    so replicas share the work), closes the batch with one set-based ``UPDATE`` and records its
    deadline-passed events with one multi-row outbox ``INSERT``, all in one transaction: an item
    leaves its open state once, and is announced once.
    """
    total = 0
    while True:
        async with ctx.db.transaction() as session:
            due = (
                await session.execute(
                    select(
                        joint_items.c.id,
                        joint_items.c.state,
                        joint_items.c.department,
                        joint_items.c.deadline,
                        joint_items.c.deadline_provisional,
                    )
                    .where(common.item_is_open(joint_items.c.state), joint_items.c.deadline <= now)
                    .order_by(joint_items.c.deadline)
                    .limit(SWEEP_BATCH)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            await _close_batch_at_deadline(ctx, session, due, now)
        total += len(due)
        if len(due) < SWEEP_BATCH:
            return total


async def _close_batch_at_deadline(
    ctx: ServiceContext, session: AsyncSession, due: Sequence[Any], now: datetime
) -> None:
    """``close_at_deadline`` for a claimed batch: one ``UPDATE`` and one outbox ``INSERT``.

    Each item's final state still comes from ``domain.consequence_at_deadline``; the state guard
    stays, so only the items this statement really closed are announced, in claim order.
    """
    if not due:
        return
    consequence = {r.id: domain.consequence_at_deadline(r.state) for r in due}
    # The batch travels as two arrays: a statement of constant shape, compiled and planned once.
    closing = (
        func.unnest(
            bindparam("ids", list(consequence), type_=ARRAY(String)),
            bindparam("consequences", list(consequence.values()), type_=ARRAY(String)),
        )
        .table_valued("id", "consequence")
        .render_derived()
        .alias("closing")
    )
    closed = set(
        (
            await session.execute(
                update(joint_items)
                .where(joint_items.c.id == closing.c.id, common.item_is_open(joint_items.c.state))
                .values(state=closing.c.consequence, closed_at=joint_items.c.deadline, swept_at=now)
                .returning(joint_items.c.id)
            )
        ).scalars()
    )
    await common.emit_many(
        ctx,
        session,
        [
            DeadlinePassed(
                subject_kind="joint-item",
                subject_id=r.id,
                department=r.department,
                deadline=common.local(r.deadline),
                consequence=consequence[r.id],
                deadline_provisional=r.deadline_provisional,
            )
            for r in due
            if r.id in closed
        ],
    )
