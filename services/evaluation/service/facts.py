"""Reading department facts: the raw material of the reference pack (E2)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, tuple_

from services.evaluation.schemas import DepartmentFacts, Fact
from services.evaluation.tables import department_facts
from shared import reference
from shared.app import ServiceContext
from shared.pagination import PageParams, encode_cursor
from shared.problems import Problem


async def department_facts_of(ctx: ServiceContext, code: str, page: PageParams) -> DepartmentFacts:
    try:
        reference.department(code)
    except reference.UnknownReference as exc:
        raise Problem(404, f"未知的部门代码 {code}", kind="unknown-department") from exc
    t = department_facts
    query = select(t).where(t.c.department == code)
    if page.cursor is not None:
        try:
            at, event_id = datetime.fromisoformat(page.cursor[0]), str(page.cursor[1])
        except (IndexError, TypeError, ValueError) as exc:
            raise Problem(400, "游标无效，请使用上一页返回的 next_cursor", kind="invalid-cursor") from exc
        query = query.where(tuple_(t.c.occurred_at, t.c.event_id) < tuple_(at, event_id))
    async with ctx.db.reader() as session:
        counts: dict[str, int] = dict(
            (
                await session.execute(
                    select(t.c.kind, func.count()).where(t.c.department == code).group_by(t.c.kind)
                )
            ).all()
        )
        rows = (
            await session.execute(
                query.order_by(t.c.occurred_at.desc(), t.c.event_id.desc()).limit(page.limit + 1)
            )
        ).all()
    more = len(rows) > page.limit
    rows = rows[: page.limit]
    return DepartmentFacts(
        department=code,
        counts=counts,
        facts=[
            Fact(
                event_id=r.event_id,
                kind=r.kind,
                subject_id=r.subject_id,
                occurred_at=r.occurred_at,
                effective_on=r.effective_on,
                detail=r.detail,
            )
            for r in rows
        ],
        next_cursor=encode_cursor([rows[-1].occurred_at.isoformat(), rows[-1].event_id]) if more else None,
    )
