"""Leader instructions (领导批示, C7): register → propose (拟办) → assign (交办) on the day
received → supervise (督办) → feedback → archive; written explanations; the half-month tally;
and the sweeper that announces overdue supervised assignments."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ARRAY, Row, String, and_, any_, bindparam, exists, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from services.coordination import domain
from services.coordination.schemas import (
    AssignmentsCreate,
    AssignmentView,
    ExplanationCreate,
    ExplanationView,
    InstructionCreate,
    InstructionFeedbackCreate,
    InstructionPage,
    InstructionTally,
    InstructionView,
    ProposalCreate,
    TallyDepartment,
    TallyRowView,
)
from services.coordination.service import common
from services.coordination.service.matters import keyset, next_cursor
from services.coordination.tables import instruction_assignments, instruction_explanations, instructions
from shared.app import ServiceContext
from shared.auth import Principal
from shared.calendar import CalendarError
from shared.deadlines import is_provisional, local_date
from shared.events import DeadlinePassed, FeedbackSubmitted, TaskAssigned
from shared.pagination import PageParams
from shared.problems import Problem

_STATE_TITLES = {"registered": "已登记", "proposed": "已拟办", "assigned": "已交办", "archived": "已归档"}


async def register(
    ctx: ServiceContext, cmd: InstructionCreate, principal: Principal, now: datetime
) -> InstructionView:
    common.leader(cmd.leader, "leader")
    received_at = cmd.received_at or now
    if received_at > now:
        raise Problem(422, "收到时刻不能晚于现在", kind="received-in-future", field="received_at")
    instruction_id = common.new_id("ins")
    async with ctx.db.transaction() as session:
        try:
            due = domain.assignment_due(
                received_at,
                cmd.category,
                common.policy(ctx),
                await ctx.calendar.current(session),
                roll_to_working_day=common.rollover(ctx),
            )
        except CalendarError as exc:
            raise common.calendar_out_of_range(exc, rule="C7", field="received_at") from exc
        await session.execute(
            insert(instructions).values(
                id=instruction_id,
                leader=cmd.leader,
                category=cmd.category,
                title=cmd.title,
                content=cmd.content,
                source_document=cmd.source_document,
                received_at=received_at,
                assignment_due=due,
                state="registered",
                registered_by=principal.client_id,
                registered_at=now,
            )
        )
        return await _load(session, instruction_id, now)


async def _lock(session: AsyncSession, instruction_id: str) -> Row[Any]:
    row = (
        await session.execute(
            select(instructions).where(instructions.c.id == instruction_id).with_for_update()
        )
    ).first()
    if row is None:
        raise Problem(404, f"批示件 {instruction_id} 不存在", kind="instruction-not-found")
    return row


def _require_state(row: Row[Any], allowed: tuple[str, ...], action: str) -> None:
    if row.state in allowed:
        return
    if row.state == "archived":
        raise Problem(409, f"批示件已归档，不能{action}（C7）", kind="instruction-archived", rule="C7")
    raise Problem(
        409,
        f"批示件当前{_STATE_TITLES[row.state]}，不能{action}：办理流程为 登记→拟办→交办→督办→反馈→归档（C7）",
        kind="instruction-out-of-order",
        rule="C7",
    )


async def propose(
    ctx: ServiceContext, instruction_id: str, cmd: ProposalCreate, principal: Principal, now: datetime
) -> InstructionView:
    async with ctx.db.transaction() as session:
        row = await _lock(session, instruction_id)
        _require_state(row, ("registered",), "拟办")
        await session.execute(
            update(instructions)
            .where(instructions.c.id == instruction_id)
            .values(state="proposed", proposal=cmd.proposal, proposed_by=principal.client_id, proposed_at=now)
        )
        return await _load(session, instruction_id, now)


async def assign(
    ctx: ServiceContext, instruction_id: str, cmd: AssignmentsCreate, principal: Principal, now: datetime
) -> InstructionView:
    """交办: one assignment per department; supervised ones carry the sheet's limit (督办类须明确时限)."""
    today = local_date(now)
    policy = common.policy(ctx)
    seen: set[str] = set()
    try:
        async with ctx.db.transaction() as session:
            # The calendar lock before the instruction's row lock: the calendar consumer takes them
            # in that order when it recomputes deadlines.
            calendar = await ctx.calendar.current(session)
            row = await _lock(session, instruction_id)
            _require_state(row, ("proposed", "assigned"), "交办")
            supervised = row.category == "supervised"
            for index, a in enumerate(cmd.assignments):
                field = f"assignments.{index}"
                common.department(a.department, f"{field}.department")
                if a.department in seen:
                    raise Problem(
                        422,
                        f"承办部门 {a.department} 重复",
                        kind="duplicate-department",
                        field=f"{field}.department",
                    )
                seen.add(a.department)
                if a.due_on is not None:
                    if a.due_on < today:
                        raise Problem(
                            422,
                            "办理时限不能早于交办当天",
                            kind="due-in-past",
                            rule="C7",
                            field=f"{field}.due_on",
                        )
                    # A stated last day counts no days, so no holiday table can move it.
                    due, provisional = domain.end_of_day(a.due_on), False
                else:
                    try:
                        due = domain.default_handling_deadline(
                            row.category, now, policy, calendar, roll_to_working_day=common.rollover(ctx)
                        )
                        provisional = is_provisional(now, due, calendar)
                    except domain.RuleViolation as exc:
                        exc.field = f"{field}.due_on"
                        raise common.problem_of(exc) from exc
                    except CalendarError as exc:
                        raise common.calendar_out_of_range(exc, rule="C7", field=f"{field}.due_on") from exc
                assignment_id = common.new_id("ia")
                await session.execute(
                    insert(instruction_assignments).values(
                        id=assignment_id,
                        instruction_id=instruction_id,
                        department=a.department,
                        requirement=a.requirement,
                        supervised=supervised,
                        due_on=domain.last_day_of(due),
                        deadline=due,
                        deadline_provisional=provisional,
                        due_stated=a.due_on is not None,
                        assigned_by=principal.client_id,
                        assigned_at=now,
                    )
                )
                await common.emit(
                    ctx,
                    session,
                    TaskAssigned(
                        task_id=assignment_id,
                        kind="instruction",
                        parent_id=instruction_id,
                        lead_department=None,
                        department=a.department,
                        deadline=due,
                        deadline_provisional=provisional,
                    ),
                )
            if row.state == "proposed":
                await session.execute(
                    update(instructions)
                    .where(instructions.c.id == instruction_id)
                    .values(
                        state="assigned",
                        assigned_at=now,
                        held_overnight=domain.held_overnight(now, row.assignment_due),
                    )
                )
            return await _load(session, instruction_id, now)
    except IntegrityError as exc:
        raise Problem(409, "该批示件已交办给其中的部门", kind="duplicate-department") from exc


async def _lock_assignment(session: AsyncSession, assignment_id: str) -> Row[Any]:
    row = (
        await session.execute(
            select(instruction_assignments, instructions.c.state)
            .join(instructions, instructions.c.id == instruction_assignments.c.instruction_id)
            .where(instruction_assignments.c.id == assignment_id)
            .with_for_update(of=instruction_assignments)
        )
    ).first()
    if row is None:
        raise Problem(404, f"交办记录 {assignment_id} 不存在", kind="assignment-not-found")
    return row


def _require_assignee(principal: Principal, row: Row[Any], action: str) -> None:
    if not common.is_department(principal, row.department):
        raise Problem(
            403,
            f"只有承办部门 {row.department}（{common.department_name(row.department)}）可以{action}",
            kind="forbidden",
        )
    if row.state == "archived":
        raise Problem(409, "批示件已归档（C7）", kind="instruction-archived", rule="C7")
    if row.feedback_at is not None:
        raise Problem(409, "该交办事项已反馈，不能再次办理（C7）", kind="assignment-closed", rule="C7")


async def file_explanation(
    ctx: ServiceContext, assignment_id: str, cmd: ExplanationCreate, principal: Principal, now: datetime
) -> InstructionView:
    """000 §四: 有特殊情况不能按时办理反馈的，须向市政府办公室作出书面说明."""
    async with ctx.db.transaction() as session:
        row = await _lock_assignment(session, assignment_id)
        _require_assignee(principal, row, "作书面说明")
        await session.execute(
            insert(instruction_explanations).values(
                id=common.new_id("exp"),
                assignment_id=assignment_id,
                reason=cmd.reason,
                filed_by=principal.client_id,
                filed_at=now,
            )
        )
        return await _load(session, row.instruction_id, now)


async def submit_feedback(
    ctx: ServiceContext,
    assignment_id: str,
    cmd: InstructionFeedbackCreate,
    principal: Principal,
    now: datetime,
) -> InstructionView:
    async with ctx.db.transaction() as session:
        row = await _lock_assignment(session, assignment_id)
        _require_assignee(principal, row, "反馈")
        late = now >= row.deadline
        await session.execute(
            update(instruction_assignments)
            .where(instruction_assignments.c.id == assignment_id)
            .values(
                feedback=cmd.content, feedback_by=principal.client_id, feedback_at=now, feedback_late=late
            )
        )
        await common.emit(
            ctx,
            session,
            FeedbackSubmitted(
                task_id=assignment_id,
                kind="instruction",
                parent_id=row.instruction_id,
                department=row.department,
                submitted_at=common.local(now),
                deadline=common.local(row.deadline),
                deadline_provisional=row.deadline_provisional,
                late=late,
            ),
        )
        return await _load(session, row.instruction_id, now)


async def archive(
    ctx: ServiceContext, instruction_id: str, principal: Principal, now: datetime
) -> InstructionView:
    async with ctx.db.transaction() as session:
        row = await _lock(session, instruction_id)
        _require_state(row, ("assigned",), "归档")
        outstanding = (
            (
                await session.execute(
                    select(instruction_assignments.c.department).where(
                        instruction_assignments.c.instruction_id == instruction_id,
                        instruction_assignments.c.feedback_at.is_(None),
                    )
                )
            )
            .scalars()
            .all()
        )
        if outstanding:
            names = "、".join(common.department_name(d) for d in outstanding)
            raise Problem(
                409,
                f"尚有承办部门未反馈（{names}），不能归档（C7）",
                kind="feedback-outstanding",
                rule="C7",
            )
        await session.execute(
            update(instructions)
            .where(instructions.c.id == instruction_id)
            .values(state="archived", archived_by=principal.client_id, archived_at=now)
        )
        return await _load(session, instruction_id, now)


def _visible(principal: Principal) -> ColumnElement[bool] | None:
    if common.sees_everything(principal):
        return None
    conditions: list[ColumnElement[bool]] = []
    if (code := common.leader_code(principal)) is not None:
        conditions.append(instructions.c.leader == code)
    if "department" in principal.roles and principal.department:
        conditions.append(
            exists().where(
                instruction_assignments.c.instruction_id == instructions.c.id,
                instruction_assignments.c.department == principal.department,
            )
        )
    return or_(*conditions) if conditions else instructions.c.id.is_(None)


async def get_instruction(
    ctx: ServiceContext, instruction_id: str, principal: Principal, now: datetime
) -> InstructionView:
    async with ctx.db.reader() as session:
        query = select(instructions.c.id).where(instructions.c.id == instruction_id)
        if (await session.execute(query)).first() is None:
            raise Problem(404, f"批示件 {instruction_id} 不存在", kind="instruction-not-found")
        condition = _visible(principal)
        if condition is not None and (await session.execute(query.where(condition))).first() is None:
            raise Problem(
                403, "只有批示领导、承办部门和市政府办公室、督查室可以查看该批示件", kind="forbidden"
            )
        return await _load(session, instruction_id, now)


async def list_instructions(
    ctx: ServiceContext,
    principal: Principal,
    page: PageParams,
    category: str | None,
    state: str | None,
    now: datetime,
) -> InstructionPage:
    i = instructions
    conditions = [
        c
        for c in (
            _visible(principal),
            keyset(page, i.c.registered_at, i.c.id),
            i.c.category == category if category else None,
            i.c.state == state if state else None,
        )
        if c is not None
    ]
    query = select(i.c.id, i.c.registered_at.label("created_at"))
    if conditions:
        query = query.where(and_(*conditions))
    async with ctx.db.reader() as session:
        rows = (
            await session.execute(
                query.order_by(i.c.registered_at.desc(), i.c.id.desc()).limit(page.limit + 1)
            )
        ).all()
        views = [await _load(session, r.id, now) for r in rows[: page.limit]]
    return InstructionPage(items=views, next_cursor=next_cursor(rows, page.limit))


async def _load(session: AsyncSession, instruction_id: str, now: datetime) -> InstructionView:
    row = (await session.execute(select(instructions).where(instructions.c.id == instruction_id))).one()
    assignments = (
        await session.execute(
            select(instruction_assignments)
            .where(instruction_assignments.c.instruction_id == instruction_id)
            .order_by(instruction_assignments.c.assigned_at, instruction_assignments.c.department)
        )
    ).all()
    explanations: dict[str, list[ExplanationView]] = {a.id: [] for a in assignments}
    if assignments:
        for e in (
            await session.execute(
                select(instruction_explanations)
                .where(instruction_explanations.c.assignment_id.in_(list(explanations)))
                .order_by(instruction_explanations.c.filed_at)
            )
        ).all():
            explanations[e.assignment_id].append(
                ExplanationView(id=e.id, reason=e.reason, filed_by=e.filed_by, filed_at=e.filed_at)
            )
    return InstructionView(
        id=row.id,
        leader=row.leader,
        leader_title=common.leader_title(row.leader),
        category=row.category,
        title=row.title,
        content=row.content,
        source_document=row.source_document,
        received_at=row.received_at,
        assignment_due=row.assignment_due,
        state=row.state,
        proposal=row.proposal,
        proposed_at=row.proposed_at,
        assigned_at=row.assigned_at,
        held_overnight=row.held_overnight,
        archived_at=row.archived_at,
        assignments=[
            AssignmentView(
                id=a.id,
                instruction_id=a.instruction_id,
                department=a.department,
                department_name=common.department_name(a.department),
                requirement=a.requirement,
                supervised=a.supervised,
                due_on=a.due_on,
                deadline=a.deadline,
                deadline_provisional=a.deadline_provisional,
                assigned_by=a.assigned_by,
                assigned_at=a.assigned_at,
                feedback=a.feedback,
                feedback_at=a.feedback_at,
                feedback_late=a.feedback_late,
                overdue=a.supervised and a.feedback_at is None and now >= a.deadline,
                explanations=explanations[a.id],
            )
            for a in assignments
        ],
    )


# --- the half-month tally ----------------------------------------------------------------------


async def tally(ctx: ServiceContext, period_text: str, now: datetime) -> InstructionTally:
    """C7 每半月统计汇总一次: supervised assignments due in the period, or due earlier and still
    unanswered when it began; slow (办理不积极), late (反馈不及时) and missing feedback."""
    try:
        period = domain.parse_tally_period(period_text, common.policy(ctx).instruction_tallies_per_month)
    except domain.RuleViolation as exc:
        raise common.problem_of(exc) from exc
    a = instruction_assignments
    async with ctx.db.reader() as session:
        rows = (
            await session.execute(
                select(
                    a.c.id,
                    a.c.instruction_id,
                    a.c.department,
                    a.c.deadline,
                    a.c.feedback_at,
                    instructions.c.title,
                )
                .join(instructions, instructions.c.id == a.c.instruction_id)
                .where(
                    a.c.supervised,
                    a.c.due_on <= period.end,
                    or_(
                        a.c.due_on >= period.start,
                        a.c.feedback_at.is_(None),
                        a.c.feedback_at >= period.start_instant,
                    ),
                )
            )
        ).all()
        first_explanations: dict[str, datetime] = {}
        if rows:
            for e in (
                await session.execute(
                    select(instruction_explanations.c.assignment_id, instruction_explanations.c.filed_at)
                    .where(instruction_explanations.c.assignment_id.in_([r.id for r in rows]))
                    .order_by(instruction_explanations.c.filed_at)
                )
            ).all():
                first_explanations.setdefault(e.assignment_id, e.filed_at)
    facts = [
        domain.AssignmentFacts(
            assignment_id=r.id,
            instruction_id=r.instruction_id,
            title=r.title,
            department=r.department,
            deadline=r.deadline,
            feedback_at=r.feedback_at,
            first_explanation_at=first_explanations.get(r.id),
        )
        for r in rows
    ]
    tallied = domain.tally(facts, period, now)
    views = [_tally_row(t) for t in tallied]
    counts = {s: sum(1 for t in tallied if t.status == s) for s in ("on-time", "late", "missing", "pending")}
    departments: dict[str, list[domain.TallyRow]] = {}
    for t in tallied:
        departments.setdefault(t.facts.department, []).append(t)
    return InstructionTally(
        period=period.label,
        start=period.start,
        end=period.end,
        as_of=min(now, period.end_instant),
        counts=counts,
        slow=[v for v in views if v.slow],
        late=[v for v in views if v.status == "late"],
        missing=[v for v in views if v.status == "missing"],
        rows=views,
        departments=[
            TallyDepartment(
                department=code,
                department_name=common.department_name(code),
                total=len(ts),
                on_time=sum(1 for t in ts if t.status == "on-time"),
                late=sum(1 for t in ts if t.status == "late"),
                missing=sum(1 for t in ts if t.status == "missing"),
                slow=sum(1 for t in ts if t.slow),
            )
            for code, ts in sorted(
                departments.items(), key=lambda kv: (-sum(1 for t in kv[1] if t.slow), kv[0])
            )
        ],
    )


def _tally_row(t: domain.TallyRow) -> TallyRowView:
    return TallyRowView(
        assignment_id=t.facts.assignment_id,
        instruction_id=t.facts.instruction_id,
        title=t.facts.title,
        department=t.facts.department,
        department_name=common.department_name(t.facts.department),
        due_on=domain.last_day_of(t.facts.deadline),
        feedback_at=t.facts.feedback_at,
        status=t.status,
        explained=t.explained,
        slow=t.slow,
    )


# --- the overdue sweeper -----------------------------------------------------------------------

SWEEP_BATCH = 100


async def sweep_overdue(ctx: ServiceContext, now: datetime) -> int:
    """Announce once each supervised assignment whose deadline passed without feedback."""
    a = instruction_assignments
    total = 0
    while True:
        async with ctx.db.transaction() as session:
            due = (
                await session.execute(
                    select(a.c.id, a.c.department, a.c.deadline, a.c.deadline_provisional)
                    .where(
                        a.c.supervised,
                        a.c.feedback_at.is_(None),
                        a.c.overdue_at.is_(None),
                        a.c.deadline <= now,
                    )
                    .order_by(a.c.deadline)
                    .limit(SWEEP_BATCH)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            # One set-based UPDATE and one multi-row outbox INSERT per batch; the guard keeps an
            # assignment from being announced twice.
            marked = (
                set(
                    (
                        await session.execute(
                            update(a)
                            .where(
                                a.c.id == any_(bindparam("ids", [r.id for r in due], type_=ARRAY(String))),
                                a.c.overdue_at.is_(None),
                            )
                            .values(overdue_at=now)
                            .returning(a.c.id)
                        )
                    ).scalars()
                )
                if due
                else set()
            )
            await common.emit_many(
                ctx,
                session,
                [
                    DeadlinePassed(
                        subject_kind="instruction",
                        subject_id=r.id,
                        department=r.department,
                        deadline=common.local(r.deadline),
                        consequence="overdue",
                        deadline_provisional=r.deadline_provisional,
                    )
                    for r in due
                    if r.id in marked
                ],
            )
        total += len(due)
        if len(due) < SWEEP_BATCH:
            return total
