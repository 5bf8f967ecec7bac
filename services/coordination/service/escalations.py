"""Escalation of late items (C5): the lead department reports, the deputy secretary-general in
charge of the late department verifies, then forwards to that department's vice-mayor."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Row, and_, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from services.coordination import domain
from services.coordination.schemas import (
    ChainLinkView,
    EscalationCreate,
    EscalationPage,
    EscalationStepView,
    EscalationView,
    ForwardingCreate,
    VerificationCreate,
)
from services.coordination.service import common
from services.coordination.service.matters import keyset, lock_item, next_cursor, settle
from services.coordination.tables import escalation_steps, escalations, item_feedback
from shared.app import ServiceContext
from shared.auth import Principal
from shared.events import EscalationRaised
from shared.pagination import PageParams
from shared.problems import Problem


async def raise_escalation(
    ctx: ServiceContext, item_id: str, cmd: EscalationCreate, principal: Principal, now: datetime
) -> EscalationView:
    async with ctx.db.transaction() as session:
        row = await lock_item(session, item_id)
        if not common.is_department(principal, row.lead_department):
            raise Problem(
                403,
                f"只有主办单位 {row.lead_department} 可以报告该会办事项的逾期情况（C5）",
                kind="forbidden",
            )
        state = await settle(ctx, session, row, now)
        first_feedback = (
            await session.execute(
                select(func.min(item_feedback.c.submitted_at)).where(
                    item_feedback.c.item_id == item_id, item_feedback.c.kind.in_(("answer", "late"))
                )
            )
        ).scalar()
        if not domain.is_late_item(row.deadline, state, first_feedback, now):
            raise Problem(
                409,
                "该会办事项未逾期（未到时限或已按时反馈），无需报告（C5）",
                kind="item-not-late",
                rule="C5",
            )
        if (await session.execute(select(escalations.c.id).where(escalations.c.item_id == item_id))).first():
            raise Problem(409, "该会办事项已报告过，请查看原报告", kind="already-escalated", rule="C5")
        chain = domain.escalation_chain(
            common.policy(ctx).escalation_chain, common.department(row.department, "department")
        )
        escalation_id = common.new_id("esc")
        await session.execute(
            insert(escalations).values(
                id=escalation_id,
                item_id=item_id,
                matter_id=row.matter_id,
                lead_department=row.lead_department,
                department=row.department,
                chain=[{"step": link.step, "leader": link.leader} for link in chain],
                level=0,
                holder=chain[0].leader,
                status="awaiting-verification",
                reason=cmd.reason,
                raised_at=now,
            )
        )
        await _record_step(
            ctx,
            session,
            escalation=_Header(escalation_id, item_id, row.lead_department, row.department),
            seq=1,
            step="raised",
            actor=row.lead_department,
            principal=principal,
            recipient=chain[0].leader,
            note=cmd.reason,
            now=now,
        )
        view = await _load(session, escalation_id)
    return view


class _Header:
    def __init__(self, escalation_id: str, item_id: str, lead_department: str, department: str) -> None:
        self.id = escalation_id
        self.item_id = item_id
        self.lead_department = lead_department
        self.department = department


async def _record_step(
    ctx: ServiceContext,
    session: AsyncSession,
    *,
    escalation: _Header | Row[Any],
    seq: int,
    step: str,
    actor: str,
    principal: Principal,
    recipient: str | None,
    note: str | None,
    now: datetime,
) -> None:
    """Each step records actor and time; every step but a dismissal is announced."""
    await session.execute(
        insert(escalation_steps).values(
            escalation_id=escalation.id,
            seq=seq,
            step=step,
            actor=actor,
            actor_client=principal.client_id,
            recipient=recipient,
            note=note,
            at=now,
        )
    )
    if step in ("raised", "verified", "forwarded"):
        await common.emit(
            ctx,
            session,
            EscalationRaised(
                escalation_id=escalation.id,
                task_id=escalation.item_id,
                lead_department=escalation.lead_department,
                department=escalation.department,
                step=step,
                actor=actor,
                recipient=recipient,
            ),
        )


async def _lock(session: AsyncSession, escalation_id: str) -> Row[Any]:
    row = (
        await session.execute(select(escalations).where(escalations.c.id == escalation_id).with_for_update())
    ).first()
    if row is None:
        raise Problem(404, f"报告 {escalation_id} 不存在", kind="escalation-not-found")
    return row


def _chain(row: Row[Any]) -> list[domain.ChainLink]:
    return [domain.ChainLink(link["step"], link["leader"]) for link in row.chain]


def _actor(principal: Principal, row: Row[Any]) -> str:
    """The leader acting: a leader principal's code; an admin acts for the current holder."""
    if "admin" in principal.roles:
        return str(row.holder)
    code = common.leader_code(principal)
    if code is None:
        raise Problem(403, "只有逐级报告链上的领导可以办理报告（C5）", kind="forbidden")
    return code


def _refusal(exc: domain.RuleViolation) -> Problem:
    return common.problem_of(exc, 403 if exc.kind == "not-escalation-holder" else 409)


async def _next_seq(session: AsyncSession, escalation_id: str) -> int:
    current = (
        await session.execute(
            select(func.max(escalation_steps.c.seq)).where(escalation_steps.c.escalation_id == escalation_id)
        )
    ).scalar()
    return int(current or 0) + 1


async def verify(
    ctx: ServiceContext, escalation_id: str, cmd: VerificationCreate, principal: Principal, now: datetime
) -> EscalationView:
    async with ctx.db.transaction() as session:
        row = await _lock(session, escalation_id)
        actor = _actor(principal, row)
        try:
            moved = domain.verify_escalation(
                domain.EscalationPosition(row.status, row.level), _chain(row), actor, confirmed=cmd.confirmed
            )
        except domain.RuleViolation as exc:
            raise _refusal(exc) from exc
        await session.execute(
            update(escalations).where(escalations.c.id == escalation_id).values(status=moved.status)
        )
        await _record_step(
            ctx,
            session,
            escalation=row,
            seq=await _next_seq(session, escalation_id),
            step="verified" if cmd.confirmed else "dismissed",
            actor=actor,
            principal=principal,
            recipient=None,
            note=cmd.note,
            now=now,
        )
        view = await _load(session, escalation_id)
    return view


async def forward(
    ctx: ServiceContext, escalation_id: str, cmd: ForwardingCreate, principal: Principal, now: datetime
) -> EscalationView:
    async with ctx.db.transaction() as session:
        row = await _lock(session, escalation_id)
        actor = _actor(principal, row)
        chain = _chain(row)
        try:
            moved = domain.forward_escalation(domain.EscalationPosition(row.status, row.level), chain, actor)
        except domain.RuleViolation as exc:
            raise _refusal(exc) from exc
        recipient = chain[moved.level].leader
        await session.execute(
            update(escalations)
            .where(escalations.c.id == escalation_id)
            .values(status=moved.status, level=moved.level, holder=recipient)
        )
        await _record_step(
            ctx,
            session,
            escalation=row,
            seq=await _next_seq(session, escalation_id),
            step="forwarded",
            actor=actor,
            principal=principal,
            recipient=recipient,
            note=cmd.note,
            now=now,
        )
        view = await _load(session, escalation_id)
    return view


def _visible(principal: Principal) -> ColumnElement[bool] | None:
    if common.sees_everything(principal):
        return None
    if "department" in principal.roles and principal.department:
        return or_(
            escalations.c.lead_department == principal.department,
            escalations.c.department == principal.department,
        )
    if (code := common.leader_code(principal)) is not None:
        return escalations.c.chain.contains([{"leader": code}])
    return escalations.c.id.is_(None)


async def get_escalation(ctx: ServiceContext, escalation_id: str, principal: Principal) -> EscalationView:
    condition = _visible(principal)
    async with ctx.db.reader() as session:
        query = select(escalations.c.id).where(escalations.c.id == escalation_id)
        if (await session.execute(query)).first() is None:
            raise Problem(404, f"报告 {escalation_id} 不存在", kind="escalation-not-found")
        if condition is not None and (await session.execute(query.where(condition))).first() is None:
            raise Problem(
                403,
                "只有主办单位、逾期单位、报告链上的领导和市政府办公室、督查室可以查看该报告",
                kind="forbidden",
            )
        return await _load(session, escalation_id)


async def list_escalations(
    ctx: ServiceContext, principal: Principal, page: PageParams, holder: str | None, status: str | None
) -> EscalationPage:
    e = escalations
    conditions = [
        c
        for c in (
            _visible(principal),
            keyset(page, e.c.raised_at, e.c.id),
            e.c.holder == holder if holder else None,
            e.c.status == status if status else None,
        )
        if c is not None
    ]
    query = select(e.c.id, e.c.raised_at.label("created_at"))
    if conditions:
        query = query.where(and_(*conditions))
    async with ctx.db.reader() as session:
        rows = (
            await session.execute(query.order_by(e.c.raised_at.desc(), e.c.id.desc()).limit(page.limit + 1))
        ).all()
        views = [await _load(session, r.id) for r in rows[: page.limit]]
    return EscalationPage(items=views, next_cursor=next_cursor(rows, page.limit))


async def _load(session: AsyncSession, escalation_id: str) -> EscalationView:
    row = (await session.execute(select(escalations).where(escalations.c.id == escalation_id))).one()
    steps = (
        await session.execute(
            select(escalation_steps)
            .where(escalation_steps.c.escalation_id == escalation_id)
            .order_by(escalation_steps.c.seq)
        )
    ).all()
    return EscalationView(
        id=row.id,
        item_id=row.item_id,
        matter_id=row.matter_id,
        lead_department=row.lead_department,
        department=row.department,
        chain=[
            ChainLinkView(step=link.step, leader=link.leader, title=common.leader_title(link.leader))
            for link in _chain(row)
        ],
        holder=row.holder,
        status=row.status,
        reason=row.reason,
        raised_at=row.raised_at,
        steps=[
            EscalationStepView(
                seq=s.seq, step=s.step, actor=s.actor, recipient=s.recipient, note=s.note, at=s.at
            )
            for s in steps
        ],
    )
