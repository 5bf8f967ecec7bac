"""Reading department facts: the raw material of the reference pack (E2)."""

from __future__ import annotations

from sqlalchemy import func, select

from services.evaluation.schemas import DepartmentFacts, Fact
from services.evaluation.tables import department_facts
from shared.app import ServiceContext
from shared.pagination import Keyset, PageParams
from shared.reference import known_department

# The most recent facts first.
FACT_ORDER = Keyset(department_facts.c.occurred_at, department_facts.c.event_id)


async def department_facts_of(ctx: ServiceContext, code: str, page: PageParams) -> DepartmentFacts:
    known_department(code, field="code", status=404)
    t = department_facts
    counts_by_kind = select(t.c.kind, func.count()).where(t.c.department == code).group_by(t.c.kind)
    async with ctx.db.reader() as session:
        counts: dict[str, int] = dict((await session.execute(counts_by_kind)).all())
        rows = (await session.execute(FACT_ORDER.apply(select(t).where(t.c.department == code), page))).all()
    shown, cursor = FACT_ORDER.cut(rows, page)
    return DepartmentFacts(
        department=code, counts=counts, facts=[Fact.model_validate(r) for r in shown], next_cursor=cursor
    )
