"""Evaluation use cases: reading department facts."""

from __future__ import annotations

from sqlalchemy import select

from services.evaluation.schemas import DepartmentFacts, Fact
from services.evaluation.tables import department_facts
from shared import reference
from shared.app import ServiceContext
from shared.problems import Problem


async def department_facts_of(ctx: ServiceContext, code: str, limit: int) -> DepartmentFacts:
    try:
        reference.department(code)
    except reference.UnknownReference as exc:
        raise Problem(404, f"未知的部门代码 {code}", kind="unknown-department") from exc
    async with ctx.db.reader() as session:
        rows = (
            await session.execute(
                select(department_facts)
                .where(department_facts.c.department == code)
                .order_by(department_facts.c.occurred_at.desc())
            )
        ).all()
    counts: dict[str, int] = {}
    for r in rows:
        counts[r.kind] = counts.get(r.kind, 0) + 1
    return DepartmentFacts(
        department=code,
        counts=counts,
        facts=[
            Fact(
                event_id=r.event_id,
                kind=r.kind,
                subject_id=r.subject_id,
                occurred_at=r.occurred_at,
                detail=r.detail,
            )
            for r in rows[:limit]
        ],
    )
