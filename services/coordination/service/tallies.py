"""The half-month tally of supervised instructions (C7 每半月统计汇总一次): which departments
answered late (反馈不及时), not at all (逾期未反馈), or were slow (办理不积极). It judges the
instants the steps happened, which for a paper record entered later (补录) are the ones it
states; each row shows who entered its assignment and feedback and when."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import Row, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.coordination import domain
from services.coordination.schemas import InstructionTally, StepRecord, TallyDepartment, TallyRowView
from services.coordination.tables import instruction_assignments, instruction_explanations, instructions
from shared.app import ServiceContext
from shared.reference import department_name

STATUSES: tuple[domain.TallyStatus, ...] = ("on-time", "late", "missing", "pending")


async def tally(ctx: ServiceContext, period_text: str, now: datetime) -> InstructionTally:
    """Supervised assignments due in the period, or due earlier and still unanswered when it
    began; slow (办理不积极), late (反馈不及时) and missing feedback."""
    period = domain.parse_tally_period(period_text, ctx.profile.coordination.instruction_tallies_per_month)
    async with ctx.db.reader() as session:
        rows = await _candidates(session, period)
        first_explanations = await _first_explanations(session, rows)
    facts = [_facts(r, first_explanations.get(r.assignment_id)) for r in rows]
    tallied = domain.tally(facts, period, now)
    by_id = {r.assignment_id: r for r in rows}
    views = [_row_view(t, by_id[t.facts.assignment_id]) for t in tallied]
    return InstructionTally(
        period=period.label,
        start=period.start,
        end=period.end,
        as_of=min(now, period.end_instant),
        counts={s: sum(1 for t in tallied if t.status == s) for s in STATUSES},
        slow=[v for v in views if v.slow],
        late=[v for v in views if v.status == "late"],
        missing=[v for v in views if v.status == "missing"],
        rows=views,
        departments=_by_department(tallied),
    )


async def _candidates(session: AsyncSession, period: domain.TallyPeriod) -> list[Row[Any]]:
    """The supervised assignments the period's tally may list, with their stated instants and
    who entered them when."""
    a = instruction_assignments
    candidates = (
        select(
            a.c.id.label("assignment_id"),
            a.c.instruction_id,
            instructions.c.title,
            a.c.department,
            a.c.deadline,
            a.c.assigned_at,
            a.c.assigned_by,
            a.c.assignment_recorded_at,
            a.c.feedback_at,
            a.c.feedback_by,
            a.c.feedback_recorded_at,
        )
        .join(instructions, instructions.c.id == a.c.instruction_id)
        .where(
            a.c.supervised,
            a.c.due_on <= period.end,
            or_(
                a.c.due_on >= period.start, a.c.feedback_at.is_(None), a.c.feedback_at >= period.start_instant
            ),
        )
    )
    # Wider than Row[Any] as typed (ten columns); the rows are read by name.
    return cast(list[Row[Any]], list((await session.execute(candidates)).all()))


async def _first_explanations(session: AsyncSession, rows: list[Row[Any]]) -> dict[str, datetime]:
    """When each assignment's first written explanation was filed."""
    e = instruction_explanations
    first: dict[str, datetime] = {}
    if rows:
        filed = select(e.c.assignment_id, e.c.filed_at).where(
            e.c.assignment_id.in_([r.assignment_id for r in rows])
        )
        for x in (await session.execute(filed.order_by(e.c.filed_at))).all():
            first.setdefault(x.assignment_id, x.filed_at)
    return first


# What a candidate row holds of its ``domain.AssignmentFacts``, by the same names.
_FACT_COLUMNS = ("assignment_id", "instruction_id", "title", "department", "deadline", "feedback_at")


def _facts(r: Row[Any], first_explanation_at: datetime | None) -> domain.AssignmentFacts:
    return domain.AssignmentFacts(
        **{name: r._mapping[name] for name in _FACT_COLUMNS}, first_explanation_at=first_explanation_at
    )


def _row_view(t: domain.TallyRow, row: Row[Any]) -> TallyRowView:
    return TallyRowView.of(
        t.facts,
        department_name=department_name(t.facts.department),
        due_on=domain.last_day_of(t.facts.deadline),
        assigned_at=row.assigned_at,
        assigned_record=StepRecord.of_step(row.assigned_at, row.assigned_by, row.assignment_recorded_at),
        feedback_record=StepRecord.of_step(row.feedback_at, row.feedback_by, row.feedback_recorded_at),
        status=t.status,
        explained=t.explained,
        slow=t.slow,
    )


def _by_department(tallied: list[domain.TallyRow]) -> list[TallyDepartment]:
    """Per department, the slowest first."""
    departments: dict[str, list[domain.TallyRow]] = {}
    for t in tallied:
        departments.setdefault(t.facts.department, []).append(t)
    ordered = sorted(departments.items(), key=lambda kv: (-sum(1 for t in kv[1] if t.slow), kv[0]))
    return [
        TallyDepartment(
            department=code,
            department_name=department_name(code),
            total=len(ts),
            on_time=sum(1 for t in ts if t.status == "on-time"),
            late=sum(1 for t in ts if t.status == "late"),
            missing=sum(1 for t in ts if t.status == "missing"),
            slow=sum(1 for t in ts if t.slow),
        )
        for code, ts in ordered
    ]
