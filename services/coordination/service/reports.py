"""Reports of late items (C6): the overdue table of 附件3 per lead department and period, its
review by the deputy secretary-general in charge, and the ranking of late departments."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, insert, select
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
from services.coordination.service import common
from services.coordination.tables import item_feedback, joint_items, joint_matters, overdue_reviews
from shared.app import ServiceContext
from shared.auth import Principal
from shared.deadlines import local_date
from shared.problems import Problem


def _period(text: str) -> domain.ReportPeriod:
    try:
        return domain.parse_period(text)
    except domain.RuleViolation as exc:
        raise common.problem_of(exc) from exc


async def _item_facts(session: AsyncSession, query: Select[Any]) -> list[domain.ItemFacts]:
    rows = (await session.execute(query)).all()
    ids = [r.id for r in rows]
    first: dict[str, tuple[datetime, str | None]] = {}
    if ids:
        # The first answer or late feedback is the actual feedback time; corrections do not count.
        for f in (
            await session.execute(
                select(item_feedback.c.item_id, item_feedback.c.submitted_at, item_feedback.c.delay_reason)
                .where(item_feedback.c.item_id.in_(ids), item_feedback.c.kind.in_(("answer", "late")))
                .order_by(item_feedback.c.seq)
            )
        ).all():
            first.setdefault(f.item_id, (f.submitted_at, f.delay_reason))
    return [
        domain.ItemFacts(
            item_id=r.id,
            matter_id=r.matter_id,
            assigned_on=r.assigned_on,
            seq=r.seq,
            content=r.content,
            department=r.department,
            department_name=common.department_name(r.department),
            due_on=r.due_on,
            deadline=r.deadline,
            state=r.state,
            first_feedback_at=first[r.id][0] if r.id in first else None,
            delay_reason=first[r.id][1] if r.id in first else None,
        )
        for r in rows
    ]


def _items_due(period: domain.ReportPeriod) -> Select[Any]:
    return (
        select(
            joint_items.c.id,
            joint_items.c.matter_id,
            joint_matters.c.assigned_on,
            joint_items.c.seq,
            joint_items.c.content,
            joint_items.c.department,
            joint_items.c.due_on,
            joint_items.c.deadline,
            joint_items.c.state,
        )
        .join(joint_matters, joint_matters.c.id == joint_items.c.matter_id)
        .where(joint_items.c.due_on.between(period.start, period.end))
    )


def _may_read_table(principal: Principal, lead: str) -> bool:
    return principal.has_any("office", "supervisor", "leader") or common.is_department(principal, lead)


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
    lead = common.department(lead_department, "lead_department")
    if not _may_read_table(principal, lead.code):
        raise Problem(403, "只有主办单位本身、市政府办公室、督查室和市领导可以查看该统计表", kind="forbidden")
    period = _period(period_text)
    query = _items_due(period).where(joint_matters.c.lead_department == lead.code)
    async with ctx.db.reader() as session:
        facts = await _item_facts(session, query)
        review = (
            await session.execute(
                select(overdue_reviews).where(
                    overdue_reviews.c.lead_department == lead.code, overdue_reviews.c.period == period.label
                )
            )
        ).first()
    rows = domain.overdue_rows(facts, period, now)
    return OverdueTable(
        title=domain.OVERDUE_TABLE_TITLE,
        lead_department=lead.code,
        filing_unit=lead.short_name,
        period=period.label,
        period_start=period.start,
        period_end=period.end,
        filled_on=local_date(now),
        contact_person=contact_person,
        phone=phone,
        columns=list(domain.OVERDUE_HEADERS),
        rows=[[str(c) if not isinstance(c, int) else c for c in r.cells()] for r in rows],
        items=[
            OverdueItem(
                seq=r.seq,
                item_id=r.item.item_id,
                matter_id=r.item.matter_id,
                content=r.item.content,
                department=r.item.department,
                department_name=r.item.department_name,
                due_on=r.item.due_on,
                deadline_text=r.deadline_text,
                feedback_at=r.item.first_feedback_at,
                actual_feedback_text=r.actual_text,
                reason=r.reason,
                state=r.item.state,
            )
            for r in rows
        ],
        reviewer=Reviewer(
            code=lead.deputy_secretary_general,
            title=common.leader_title(lead.deputy_secretary_general),
            review=(
                ReviewView(
                    reviewed_by=review.reviewer,
                    reviewed_at=review.reviewed_at,
                    rows=review.rows,
                    note=review.note,
                )
                if review is not None
                else None
            ),
        ),
        note=domain.OVERDUE_NOTE,
    )


async def review_overdue_table(
    ctx: ServiceContext,
    lead_department: str,
    period_text: str,
    cmd: ReviewCreate,
    principal: Principal,
    now: datetime,
) -> OverdueTable:
    """附件3 注: the table is reviewed by the deputy secretary-general in charge of the filing unit."""
    lead = common.department(lead_department, "lead_department")
    reviewer = lead.deputy_secretary_general
    if not common.is_leader(principal, reviewer):
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
        raise Problem(
            409, f"{lead.short_name} {table.period} 的统计表已审核", kind="already-reviewed"
        ) from exc
    return await overdue_table(ctx, lead.code, period_text, principal, now)


async def late_ranking(ctx: ServiceContext, period_text: str, now: datetime) -> LateRanking:
    """C6: the departments with late items in the period, most first, for the office's bulletin."""
    period = _period(period_text)
    async with ctx.db.reader() as session:
        facts = await _item_facts(session, _items_due(period))
    ranked = domain.rank_by_late_items(domain.late_counts(facts, period, now))
    return LateRanking(
        period=period.label,
        period_start=period.start,
        period_end=period.end,
        as_of=now,
        entries=[
            LateRankingEntry(
                rank=r.rank,
                department=r.count.department,
                department_name=common.department_name(r.count.department),
                late=r.count.late,
                deemed_consent=r.count.deemed_consent,
                deemed_agreed_to_handle=r.count.deemed_agreed_to_handle,
                answered_late=r.count.answered_late,
                unanswered=r.count.unanswered,
            )
            for r in ranked
        ],
    )
