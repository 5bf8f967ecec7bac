"""Reports of late items (C6): the overdue table of 附件3 per lead department and period, its
review by the deputy secretary-general in charge, and the ranking of late departments."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Row, Select, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.coordination import domain
from services.coordination.schemas import (
    LateRanking,
    LateRankingEntry,
    OverdueItem,
    OverdueTable,
    ReviewCreate,
    Reviewer,
    ReviewView,
)
from services.coordination.service import access
from services.coordination.tables import item_feedback, joint_items, joint_matters, overdue_reviews
from shared.app import ServiceContext
from shared.auth import Principal
from shared.deadlines import local_date
from shared.problems import Problem
from shared.reference import Department, department_name, known_department, leader_title
from shared.rules import Conflict


async def _item_facts(session: AsyncSession, query: Select[Any]) -> list[domain.ItemFacts]:
    rows = (await session.execute(query)).all()
    first: dict[str, Any] = {}
    if rows:
        # The first answer or late feedback is the actual feedback time; corrections do not count.
        f = item_feedback
        feedback = (
            select(f.c.item_id, f.c.submitted_at, f.c.delay_reason)
            .where(f.c.item_id.in_([r.item_id for r in rows]), f.c.kind.in_(("answer", "late")))
            .order_by(f.c.seq)
        )
        for answer in (await session.execute(feedback)).all():
            first.setdefault(answer.item_id, answer)
    return [_facts(r, first.get(r.item_id)) for r in rows]


def _facts(row: Row[Any], answer: Row[Any] | None) -> domain.ItemFacts:
    return domain.ItemFacts(
        **row._mapping,
        department_name=department_name(row.department),
        first_feedback_at=None if answer is None else answer.submitted_at,
        delay_reason=None if answer is None else answer.delay_reason,
    )


def _items_due(period: domain.ReportPeriod) -> Select[Any]:
    """The facts (``ItemFacts``) of the items whose last day falls in ``period``."""
    i = joint_items
    return (
        select(
            i.c.id.label("item_id"),
            i.c.matter_id,
            joint_matters.c.assigned_on,
            i.c.seq,
            i.c.content,
            i.c.department,
            i.c.due_on,
            i.c.deadline,
            i.c.state,
        )
        .join(joint_matters, joint_matters.c.id == i.c.matter_id)
        .where(i.c.due_on.between(period.start, period.end))
    )


async def overdue_table(
    ctx: ServiceContext,
    lead_department: str,
    period_text: str,
    principal: Principal,
    now: datetime,
    *,
    contact_person: str | None = None,
    phone: str | None = None,
) -> OverdueTable:
    lead = known_department(lead_department, field="lead_department")
    if not (
        principal.has_any("office", "supervisor", "leader") or access.is_department(principal, lead.code)
    ):
        raise Problem(403, "只有主办单位本身、市政府办公室、督查室和市领导可以查看该统计表", kind="forbidden")
    period = domain.parse_period(period_text)
    query = _items_due(period).where(joint_matters.c.lead_department == lead.code)
    reviewed = select(overdue_reviews).where(
        overdue_reviews.c.lead_department == lead.code, overdue_reviews.c.period == period.label
    )
    async with ctx.db.reader() as session:
        facts = await _item_facts(session, query)
        review = (await session.execute(reviewed)).first()
    rows = domain.overdue_rows(facts, period, now)
    return OverdueTable(
        title=domain.OVERDUE_TABLE_TITLE,
        lead_department=lead.code,
        filing_unit=lead.short_name,
        **_period(period),
        filled_on=local_date(now),
        contact_person=contact_person,
        phone=phone,
        columns=list(domain.OVERDUE_HEADERS),
        rows=[[str(c) if not isinstance(c, int) else c for c in r.cells()] for r in rows],
        items=[_overdue_item(r) for r in rows],
        reviewer=_reviewer(lead, review),
        note=domain.OVERDUE_NOTE,
    )


def _period(period: domain.ReportPeriod) -> dict[str, Any]:
    """How a report names its period: the label, and its first and last days."""
    return {"period": period.label, "period_start": period.start, "period_end": period.end}


def _overdue_item(row: domain.OverdueRow) -> OverdueItem:
    return OverdueItem.of(
        row.item,
        seq=row.seq,
        deadline_text=row.deadline_text,
        feedback_at=row.item.first_feedback_at,
        actual_feedback_text=row.actual_text,
        reason=row.reason,
    )


def _reviewer(lead: Department, review: Any) -> Reviewer:
    """附件3 注: the deputy secretary-general in charge of the filing unit, and the review if done."""
    code = lead.deputy_secretary_general
    done = None if review is None else ReviewView.of(review, reviewed_by=review.reviewer)
    return Reviewer(code=code, title=leader_title(code), review=done)


async def review_overdue_table(
    ctx: ServiceContext,
    lead_department: str,
    period_text: str,
    cmd: ReviewCreate,
    principal: Principal,
    now: datetime,
) -> OverdueTable:
    """附件3 注: the table is reviewed by the deputy secretary-general in charge of the filing unit."""
    lead = known_department(lead_department, field="lead_department")
    reviewer = lead.deputy_secretary_general
    if not access.is_leader(principal, reviewer):
        raise Problem(
            403,
            f"该统计表由 {lead.short_name} 的分管秘书长 {reviewer} 审核（C6）",
            kind="forbidden",
            rule="C6",
        )
    table = await overdue_table(ctx, lead.code, period_text, principal, now)
    try:
        async with ctx.db.transaction() as session:
            await session.execute(
                insert(overdue_reviews).values(
                    lead_department=lead.code,
                    period=table.period,
                    reviewer=reviewer,
                    reviewed_by=principal.client_id,
                    reviewed_at=now,
                    rows=len(table.rows),
                    note=cmd.note,
                )
            )
    except IntegrityError as exc:
        raise Conflict(f"{lead.short_name} {table.period} 的统计表已审核", kind="already-reviewed") from exc
    return await overdue_table(ctx, lead.code, period_text, principal, now)


async def late_ranking(ctx: ServiceContext, period_text: str, now: datetime) -> LateRanking:
    """C6: the departments with late items in the period, most first, for the office's bulletin."""
    period = domain.parse_period(period_text)
    async with ctx.db.reader() as session:
        facts = await _item_facts(session, _items_due(period))
    ranked = domain.rank_by_late_items(domain.late_counts(facts, period, now))
    return LateRanking(
        **_period(period),
        as_of=now,
        entries=[
            LateRankingEntry.of(r.count, rank=r.rank, department_name=department_name(r.count.department))
            for r in ranked
        ],
    )
