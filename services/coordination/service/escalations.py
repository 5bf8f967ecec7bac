"""Escalation of late items (C5): the lead department reports, the deputy secretary-general in
charge of the late department verifies, then forwards to that department's vice-mayor."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from services.coordination import domain
from services.coordination.schemas import (
    ChainLinkView,
    EscalationCreate,
    EscalationStepView,
    EscalationView,
    ForwardingCreate,
    VerificationCreate,
)
from services.coordination.service import access
from services.coordination.service.items import lock_item, settle
from services.coordination.service.listing import applying, equal, page_of
from services.coordination.tables import escalation_steps, escalations, item_feedback, new_id
from shared import reference
from shared.app import ServiceContext
from shared.auth import Principal
from shared.events import EscalationRaised
from shared.pagination import Keyset, Page, PageParams
from shared.problems import Problem
from shared.rules import Missing

KEYSET = Keyset(escalations.c.raised_at, escalations.c.id)


@dataclass(frozen=True)
class _Step:
    """One step of an escalation: who acted, to whom it went, with which note (the columns of
    ``escalation_steps`` it fills)."""

    step: str
    actor: str
    recipient: str | None
    note: str | None


async def raise_escalation(
    ctx: ServiceContext, item_id: str, cmd: EscalationCreate, principal: Principal, now: datetime
) -> EscalationView:
    async with ctx.db.transaction() as session:
        row = await lock_item(session, item_id)
        if not access.is_department(principal, row.lead_department):
            raise Problem(
                403,
                f"只有主办单位 {row.lead_department} 可以报告该会办事项的逾期情况（C5）",
                kind="forbidden",
            )
        state = await settle(ctx, session, row, now)
        answered = select(func.min(item_feedback.c.submitted_at)).where(
            item_feedback.c.item_id == item_id, item_feedback.c.kind.in_(("answer", "late"))
        )
        reported = select(escalations.c.id).where(escalations.c.item_id == item_id)
        domain.check_escalable(
            row.deadline,
            state,
            (await session.execute(answered)).scalar(),
            now,
            already_escalated=(await session.execute(reported)).first() is not None,
        )
        late = reference.known_department(row.department, field="department")
        chain = domain.escalation_chain(ctx.profile.coordination.escalation_chain, late)
        escalation_id = new_id("esc")
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
        step = _Step("raised", row.lead_department, chain[0].leader, cmd.reason)
        await _record_step(ctx, session, escalation_id, step, principal, now)
        return await _load(session, escalation_id)


async def _record_step(
    ctx: ServiceContext,
    session: AsyncSession,
    escalation_id: str,
    step: _Step,
    principal: Principal,
    now: datetime,
) -> None:
    """Each step records actor and time; every step but a dismissal is announced."""
    seq = select(func.coalesce(func.max(escalation_steps.c.seq), 0) + 1).where(
        escalation_steps.c.escalation_id == escalation_id
    )
    recorded = asdict(step)
    await session.execute(
        insert(escalation_steps).values(
            escalation_id=escalation_id,
            seq=seq.scalar_subquery(),
            **recorded,
            actor_client=principal.client_id,
            at=now,
        )
    )
    if step.step in ("raised", "verified", "forwarded"):
        row = (await session.execute(select(escalations).where(escalations.c.id == escalation_id))).one()
        # The event carries the step as recorded but for its note.
        del recorded["note"]
        await ctx.emit(
            session,
            EscalationRaised(
                escalation_id=escalation_id,
                task_id=row.item_id,
                lead_department=row.lead_department,
                department=row.department,
                **recorded,
            ),
        )


async def _lock(session: AsyncSession, escalation_id: str) -> Row[Any]:
    query = select(escalations).where(escalations.c.id == escalation_id)
    row = (await session.execute(query.with_for_update())).first()
    if row is None:
        raise Missing(f"报告 {escalation_id} 不存在", kind="escalation-not-found")
    return row


def _chain(row: Row[Any]) -> list[domain.ChainLink]:
    return [domain.ChainLink(link["step"], link["leader"]) for link in row.chain]


def _actor(principal: Principal, row: Row[Any]) -> str:
    """The leader acting: a leader principal's code; an admin acts for the current holder."""
    if "admin" in principal.roles:
        return str(row.holder)
    code = access.leader_code(principal)
    if code is None:
        raise Problem(403, "只有逐级报告链上的领导可以办理报告（C5）", kind="forbidden")
    return code


async def verify(
    ctx: ServiceContext, escalation_id: str, cmd: VerificationCreate, principal: Principal, now: datetime
) -> EscalationView:
    def decide(position: domain.EscalationPosition, chain: list[domain.ChainLink], actor: str) -> _Moved:
        moved = domain.verify_escalation(position, chain, actor, confirmed=cmd.confirmed)
        return moved, _Step("verified" if cmd.confirmed else "dismissed", actor, None, cmd.note)

    return await _advance(ctx, escalation_id, principal, now, decide)


async def forward(
    ctx: ServiceContext, escalation_id: str, cmd: ForwardingCreate, principal: Principal, now: datetime
) -> EscalationView:
    def decide(position: domain.EscalationPosition, chain: list[domain.ChainLink], actor: str) -> _Moved:
        moved = domain.forward_escalation(position, chain, actor)
        return moved, _Step("forwarded", actor, chain[moved.level].leader, cmd.note)

    return await _advance(ctx, escalation_id, principal, now, decide)


_Moved = tuple[domain.EscalationPosition, _Step]


async def _advance(
    ctx: ServiceContext,
    escalation_id: str,
    principal: Principal,
    now: datetime,
    decide: Callable[[domain.EscalationPosition, list[domain.ChainLink], str], _Moved],
) -> EscalationView:
    """The leader holding the escalation moves it on the chain (C5), as ``decide`` rules; the
    escalation then sits with the leader at its new level."""
    async with ctx.db.transaction() as session:
        row = await _lock(session, escalation_id)
        chain = _chain(row)
        moved, step = decide(domain.EscalationPosition(row.status, row.level), chain, _actor(principal, row))
        await session.execute(
            update(escalations)
            .where(escalations.c.id == escalation_id)
            .values(status=moved.status, level=moved.level, holder=chain[moved.level].leader)
        )
        await _record_step(ctx, session, escalation_id, step, principal, now)
        return await _load(session, escalation_id)


def _visible(principal: Principal) -> ColumnElement[bool] | None:
    if access.sees_everything(principal):
        return None
    if (code := access.own_department(principal)) is not None:
        return or_(escalations.c.lead_department == code, escalations.c.department == code)
    if (leader := access.leader_code(principal)) is not None:
        return escalations.c.chain.contains([{"leader": leader}])
    return escalations.c.id.is_(None)


async def get_escalation(ctx: ServiceContext, escalation_id: str, principal: Principal) -> EscalationView:
    condition = _visible(principal)
    async with ctx.db.reader() as session:
        query = select(escalations.c.id).where(escalations.c.id == escalation_id)
        if (await session.execute(query)).first() is None:
            raise Missing(f"报告 {escalation_id} 不存在", kind="escalation-not-found")
        if condition is not None and (await session.execute(query.where(condition))).first() is None:
            raise Problem(
                403,
                "只有主办单位、逾期单位、报告链上的领导和市政府办公室、督查室可以查看该报告",
                kind="forbidden",
            )
        return await _load(session, escalation_id)


async def list_escalations(
    ctx: ServiceContext, principal: Principal, page: PageParams, holder: str | None, status: str | None
) -> Page[EscalationView]:
    e = escalations
    conditions = applying(_visible(principal), equal(e.c.holder, holder), equal(e.c.status, status))
    query = select(e.c.id, e.c.raised_at).where(*conditions)
    return await page_of(ctx, KEYSET, query, page, lambda session, row: _load(session, row.id))


async def _load(session: AsyncSession, escalation_id: str) -> EscalationView:
    row = (await session.execute(select(escalations).where(escalations.c.id == escalation_id))).one()
    s = escalation_steps
    steps = await session.execute(select(s).where(s.c.escalation_id == escalation_id).order_by(s.c.seq))
    return EscalationView.of(
        row,
        chain=[
            ChainLinkView(step=link.step, leader=link.leader, title=reference.leader_title(link.leader))
            for link in _chain(row)
        ],
        steps=[EscalationStepView.model_validate(step) for step in steps],
    )
