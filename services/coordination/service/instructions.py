"""Leader instructions (领导批示, C7): register → propose (拟办) → assign (交办) on the day
received → supervise (督办) → feedback → archive; written explanations; and the sweep that
announces overdue supervised assignments.

A step handled on paper is entered later by the office with the instant it states (补录): the
stated instant is stored as the step's instant and every rule reads it; who entered it and when
are kept beside it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, exists, insert, or_, select, update
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
    InstructionView,
    ProposalCreate,
    StepRecord,
)
from services.coordination.service import access
from services.coordination.service.announcements import feedback_submitted, task_assigned
from services.coordination.service.listing import applying, equal, page_of
from services.coordination.service.sweeps import SUPERVISED_ASSIGNMENTS
from services.coordination.tables import (
    instruction_assignments,
    instruction_explanations,
    instructions,
    new_id,
)
from shared.app import ServiceContext
from shared.auth import Principal
from shared.pagination import Keyset, Page, PageParams
from shared.problems import Problem
from shared.reference import department_name, known_leader, leader_title
from shared.rules import Conflict, Missing
from shared.sweeps import run_sweep

KEYSET = Keyset(instructions.c.registered_at, instructions.c.id)


async def register(
    ctx: ServiceContext, cmd: InstructionCreate, principal: Principal, now: datetime
) -> InstructionView:
    known_leader(cmd.leader, field="leader")
    instruction_id = new_id("ins")
    async with ctx.db.transaction() as session:
        registered = domain.register_instruction(
            cmd.received_at,
            cmd.category,
            now,
            ctx.profile.coordination,
            await ctx.calendar.current(session),
            roll_to_working_day=ctx.profile.calendar.civil_code_rollover,
            may_state=access.enters_paper_records(principal),
        )
        await session.execute(
            insert(instructions).values(
                id=instruction_id,
                **cmd.model_dump(include={"leader", "category", "title", "content", "source_document"}),
                received_at=registered.received_at,
                assignment_due=registered.assignment_due,
                state="registered",
                registered_by=principal.client_id,
                registered_at=now,
            )
        )
        return await _load(session, instruction_id, now)


async def _lock(
    session: AsyncSession, instruction_id: str, *steps: domain.InstructionState, action: str
) -> Row[Any]:
    """The instruction, locked, if it is at one of ``steps`` of its flow."""
    query = select(instructions).where(instructions.c.id == instruction_id).with_for_update()
    row = (await session.execute(query)).first()
    if row is None:
        raise Missing(f"批示件 {instruction_id} 不存在", kind="instruction-not-found")
    domain.check_instruction_step(row.state, steps, action)
    return row


async def _move(session: AsyncSession, instruction_id: str, **values: Any) -> None:
    await session.execute(update(instructions).where(instructions.c.id == instruction_id).values(**values))


def _stated(
    stated: datetime | None,
    now: datetime,
    principal: Principal,
    step: domain.StepName,
    follows: tuple[domain.StepName, datetime],
) -> datetime:
    """The instant ``step`` happened: the one a paper record states (补录), which only the office
    may give, or ``now``; a refusal names the step's own field, ``<step>_at``."""
    return domain.stated_instant(
        stated,
        now,
        step=step,
        field=f"{step}_at",
        may_state=access.enters_paper_records(principal),
        follows=follows,
    )


async def propose(
    ctx: ServiceContext, instruction_id: str, cmd: ProposalCreate, principal: Principal, now: datetime
) -> InstructionView:
    async with ctx.db.transaction() as session:
        row = await _lock(session, instruction_id, "registered", action="拟办")
        proposed_at = _stated(cmd.proposed_at, now, principal, "proposed", ("received", row.received_at))
        await _move(
            session,
            instruction_id,
            state="proposed",
            proposal=cmd.proposal,
            proposed_by=principal.client_id,
            proposed_at=proposed_at,
            proposal_recorded_at=now,
        )
        return await _load(session, instruction_id, now)


async def assign(
    ctx: ServiceContext, instruction_id: str, cmd: AssignmentsCreate, principal: Principal, now: datetime
) -> InstructionView:
    """交办: one assignment per department; supervised ones carry the sheet's limit (督办类须明确时限)."""
    try:
        async with ctx.db.transaction() as session:
            # The calendar lock before the instruction's row lock: the calendar consumer takes them
            # in that order when it recomputes deadlines.
            calendar = await ctx.calendar.current(session)
            row = await _lock(session, instruction_id, "proposed", "assigned", action="交办")
            assigned_at = _stated(cmd.assigned_at, now, principal, "assigned", ("proposed", row.proposed_at))
            planned = domain.plan_assignments(
                cmd.assignments,
                row.category,
                assigned_at,
                ctx.profile.coordination,
                calendar,
                roll_to_working_day=ctx.profile.calendar.civil_code_rollover,
            )
            await _store_assignments(ctx, session, row, cmd, planned, principal, assigned_at, now)
            # The same-day rule judges the first assignment, which a paper sheet entered later may be.
            if row.state == "proposed" or assigned_at < row.assigned_at:
                await _move(
                    session,
                    instruction_id,
                    state="assigned",
                    assigned_at=assigned_at,
                    assigned_by=principal.client_id,
                    assignment_recorded_at=now,
                    held_overnight=domain.held_overnight(assigned_at, row.assignment_due),
                )
            return await _load(session, instruction_id, now)
    except IntegrityError as exc:
        raise Conflict("该批示件已交办给其中的部门", kind="duplicate-department") from exc


async def _store_assignments(
    ctx: ServiceContext,
    session: AsyncSession,
    instruction: Row[Any],
    cmd: AssignmentsCreate,
    planned: Sequence[domain.PlannedAssignment],
    principal: Principal,
    assigned_at: datetime,
    now: datetime,
) -> None:
    """The assignments made at ``assigned_at`` and entered ``now``, each announced to its
    department (task-assigned)."""
    for request, plan in zip(cmd.assignments, planned, strict=True):
        assignment_id = new_id("ia")
        await session.execute(
            insert(instruction_assignments).values(
                id=assignment_id,
                instruction_id=instruction.id,
                department=plan.department,
                requirement=request.requirement,
                supervised=instruction.category == "supervised",
                due_on=domain.last_day_of(plan.deadline.instant),
                deadline=plan.deadline.instant,
                deadline_provisional=plan.deadline.provisional,
                due_stated=plan.stated,
                assigned_by=principal.client_id,
                assigned_at=assigned_at,
                assignment_recorded_at=now,
            )
        )
        announced = task_assigned(
            "instruction", assignment_id, instruction.id, None, plan.department, plan.deadline
        )
        await ctx.emit(session, announced)


async def _lock_assignment(
    session: AsyncSession, assignment_id: str, principal: Principal, action: str, *, on_paper: bool = False
) -> Row[Any]:
    """The assignment, locked, if it still takes ``action`` and the principal is its department
    (or, for what may come ``on_paper``, the office entering it)."""
    a = instruction_assignments
    query = (
        select(a, instructions.c.state)
        .join(instructions, instructions.c.id == a.c.instruction_id)
        .where(a.c.id == assignment_id)
        .with_for_update(of=a)
    )
    row = (await session.execute(query)).first()
    if row is None:
        raise Missing(f"交办记录 {assignment_id} 不存在", kind="assignment-not-found")
    if not (on_paper and access.enters_paper_records(principal)):
        access.require_department(principal, row.department, who="承办部门", action=action)
    domain.check_assignment_open(row.state, row.feedback_at)
    return row


async def file_explanation(
    ctx: ServiceContext, assignment_id: str, cmd: ExplanationCreate, principal: Principal, now: datetime
) -> InstructionView:
    """000 §四: 有特殊情况不能按时办理反馈的，须向市政府办公室作出书面说明."""
    async with ctx.db.transaction() as session:
        row = await _lock_assignment(session, assignment_id, principal, "作书面说明")
        await session.execute(
            insert(instruction_explanations).values(
                id=new_id("exp"),
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
    """The department's feedback, or one it gave on paper that the office enters (补录)."""
    async with ctx.db.transaction() as session:
        row = await _lock_assignment(session, assignment_id, principal, "反馈", on_paper=True)
        feedback_at = _stated(cmd.feedback_at, now, principal, "feedback", ("assigned", row.assigned_at))
        late = domain.answered_late(row.deadline, feedback_at)
        await session.execute(
            update(instruction_assignments)
            .where(instruction_assignments.c.id == assignment_id)
            .values(
                feedback=cmd.content,
                feedback_by=principal.client_id,
                feedback_at=feedback_at,
                feedback_recorded_at=now,
                feedback_late=late,
            )
        )
        announced = feedback_submitted("instruction", row, row.instruction_id, feedback_at, late=late)
        await ctx.emit(session, announced)
        return await _load(session, row.instruction_id, now)


async def archive(
    ctx: ServiceContext, instruction_id: str, principal: Principal, now: datetime
) -> InstructionView:
    a = instruction_assignments
    async with ctx.db.transaction() as session:
        await _lock(session, instruction_id, "assigned", action="归档")
        waiting = select(a.c.department).where(
            a.c.instruction_id == instruction_id, a.c.feedback_at.is_(None)
        )
        domain.check_archivable((await session.execute(waiting)).scalars().all())
        await _move(
            session, instruction_id, state="archived", archived_by=principal.client_id, archived_at=now
        )
        return await _load(session, instruction_id, now)


# --- reading -----------------------------------------------------------------------------------


def _visible(principal: Principal) -> ColumnElement[bool] | None:
    if access.sees_everything(principal):
        return None
    conditions: list[ColumnElement[bool]] = []
    if (code := access.leader_code(principal)) is not None:
        conditions.append(instructions.c.leader == code)
    if (department := access.own_department(principal)) is not None:
        a = instruction_assignments
        conditions.append(
            exists().where(a.c.instruction_id == instructions.c.id, a.c.department == department)
        )
    return or_(*conditions) if conditions else instructions.c.id.is_(None)


async def get_instruction(
    ctx: ServiceContext, instruction_id: str, principal: Principal, now: datetime
) -> InstructionView:
    async with ctx.db.reader() as session:
        query = select(instructions.c.id).where(instructions.c.id == instruction_id)
        if (await session.execute(query)).first() is None:
            raise Missing(f"批示件 {instruction_id} 不存在", kind="instruction-not-found")
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
) -> Page[InstructionView]:
    i = instructions
    conditions = applying(_visible(principal), equal(i.c.category, category), equal(i.c.state, state))
    query = select(i.c.id, i.c.registered_at).where(*conditions)
    return await page_of(ctx, KEYSET, query, page, lambda session, row: _load(session, row.id, now))


async def _load(session: AsyncSession, instruction_id: str, now: datetime) -> InstructionView:
    a, e = instruction_assignments, instruction_explanations
    row = (await session.execute(select(instructions).where(instructions.c.id == instruction_id))).one()
    assigned = select(a).where(a.c.instruction_id == instruction_id).order_by(a.c.assigned_at, a.c.department)
    assignments = (await session.execute(assigned)).all()
    explanations: dict[str, list[ExplanationView]] = {r.id: [] for r in assignments}
    if assignments:
        filed = select(e).where(e.c.assignment_id.in_(list(explanations))).order_by(e.c.filed_at)
        for x in (await session.execute(filed)).all():
            explanations[x.assignment_id].append(ExplanationView.model_validate(x))
    return InstructionView.of(
        row,
        leader_title=leader_title(row.leader),
        received_record=StepRecord.of_step(row.received_at, row.registered_by, row.registered_at),
        proposed_record=StepRecord.of_step(row.proposed_at, row.proposed_by, row.proposal_recorded_at),
        assigned_record=StepRecord.of_step(row.assigned_at, row.assigned_by, row.assignment_recorded_at),
        assignments=[_assignment_view(r, explanations[r.id], now) for r in assignments],
    )


def _assignment_view(r: Row[Any], explanations: list[ExplanationView], now: datetime) -> AssignmentView:
    return AssignmentView.of(
        r,
        department_name=department_name(r.department),
        overdue=r.supervised and r.feedback_at is None and now >= r.deadline,
        explanations=explanations,
        assigned_record=StepRecord.of_step(r.assigned_at, r.assigned_by, r.assignment_recorded_at),
        feedback_record=StepRecord.of_step(r.feedback_at, r.feedback_by, r.feedback_recorded_at),
    )


# --- the overdue sweep (C7) --------------------------------------------------------------------


async def sweep_overdue(ctx: ServiceContext, now: datetime) -> int:
    """Announce once each supervised assignment whose deadline passed without feedback."""
    return await run_sweep(ctx, SUPERVISED_ASSIGNMENTS, now)
