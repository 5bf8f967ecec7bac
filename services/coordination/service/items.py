"""Joint items (会办事项), one per cooperating department of a sheet: reading them and their
lifecycle — acknowledgement, signed feedback, corrections — with what their deadline makes of an
item met before the sweeper came by (C3, C4)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from services.coordination import domain
from services.coordination.schemas import CorrectionCreate, FeedbackCreate, FeedbackView, ItemView
from services.coordination.service import access
from services.coordination.service.announcements import feedback_submitted
from services.coordination.service.listing import applying, equal
from services.coordination.service.sweeps import JOINT_ITEMS
from services.coordination.tables import escalations, item_feedback, joint_items, joint_matters, new_id
from shared.app import ServiceContext
from shared.auth import Principal
from shared.pagination import Keyset, Page, PageParams
from shared.problems import Problem
from shared.reference import department_name
from shared.rules import Missing

KEYSET = Keyset(joint_items.c.created_at, joint_items.c.id)

_WITH_LEAD = select(joint_items, joint_matters.c.lead_department).join(
    joint_matters, joint_matters.c.id == joint_items.c.matter_id
)


# --- reading -----------------------------------------------------------------------------------


def _visible(principal: Principal) -> ColumnElement[bool] | None:
    """None: every item; otherwise those of the principal's department, as cooperating or lead."""
    if access.sees_everything(principal):
        return None
    own = principal.department or ""
    return or_(joint_items.c.department == own, joint_matters.c.lead_department == own)


async def list_items(
    ctx: ServiceContext,
    principal: Principal,
    page: PageParams,
    department: str | None,
    state: str | None,
    now: datetime,
) -> Page[ItemView]:
    i = joint_items
    conditions = applying(_visible(principal), equal(i.c.department, department), equal(i.c.state, state))
    async with ctx.db.reader() as session:
        found = await session.execute(KEYSET.apply(_WITH_LEAD.where(*conditions), page))
        rows, cursor = KEYSET.cut(found.all(), page)
        return Page[ItemView](items=await item_views(session, rows, now), next_cursor=cursor)


async def get_item(ctx: ServiceContext, item_id: str, principal: Principal, now: datetime) -> ItemView:
    async with ctx.db.reader() as session:
        row = (await session.execute(_WITH_LEAD.where(joint_items.c.id == item_id))).first()
        if row is None:
            raise Missing(f"会办事项 {item_id} 不存在", kind="item-not-found")
        if not (
            access.sees_everything(principal)
            or access.own_department(principal) in (row.department, row.lead_department)
        ):
            raise Problem(
                403, "只有主办单位、会办单位和市政府办公室、督查室可以查看该会办事项", kind="forbidden"
            )
        (view,) = await item_views(session, [row], now)
    return view


async def item_views(session: AsyncSession, rows: Sequence[Row[Any]], now: datetime) -> list[ItemView]:
    """The items with their feedback (in order) and their escalation, if any."""
    ids = [r.id for r in rows]
    feedback: dict[str, list[FeedbackView]] = {i: [] for i in ids}
    escalated: dict[str, str] = {}
    if ids:
        found = select(item_feedback).where(item_feedback.c.item_id.in_(ids)).order_by(item_feedback.c.seq)
        for f in (await session.execute(found)).all():
            feedback[f.item_id].append(FeedbackView.model_validate(f))
        reported = select(escalations.c.item_id, escalations.c.id).where(escalations.c.item_id.in_(ids))
        escalated = {r.item_id: r.id for r in (await session.execute(reported)).all()}
    return [
        ItemView.of(
            r,
            department_name=department_name(r.department),
            past_deadline=now >= r.deadline,
            feedback=feedback[r.id],
            escalation_id=escalated.get(r.id),
        )
        for r in rows
    ]


# --- the lifecycle (C3, C4) --------------------------------------------------------------------


async def lock_item(session: AsyncSession, item_id: str) -> Row[Any]:
    row = (
        await session.execute(_WITH_LEAD.where(joint_items.c.id == item_id).with_for_update(of=joint_items))
    ).first()
    if row is None:
        raise Missing(f"会办事项 {item_id} 不存在", kind="item-not-found")
    return row


async def settle(
    ctx: ServiceContext, session: AsyncSession, row: Row[Any], now: datetime
) -> domain.ItemState:
    """The item's state at ``now``: an open item past its deadline is closed first (sweeper lag).

    The caller holds the item's row lock. The item is closed and announced as the sweeper would
    (``JOINT_ITEMS``), behind the same state guard, so the two never both announce it.
    """
    state: domain.ItemState = row.state
    if not (domain.is_open(state) and now >= row.deadline):
        return state
    consequence = domain.consequence_at_deadline(state)
    changed = await session.execute(
        update(joint_items)
        .where(joint_items.c.id == row.id, JOINT_ITEMS.still_open())
        .values(state=consequence, **JOINT_ITEMS.closing(now))
    )
    if changed.rowcount == 1:  # type: ignore[attr-defined]
        await ctx.emit(session, JOINT_ITEMS.announce(row, consequence))
    return consequence


def _require_cooperating(principal: Principal, row: Row[Any], action: str) -> None:
    access.require_department(principal, row.department, who="会办单位", action=f"{action}该会办事项")


async def acknowledge(ctx: ServiceContext, item_id: str, principal: Principal, now: datetime) -> ItemView:
    async with ctx.db.transaction() as session:
        row = await lock_item(session, item_id)
        _require_cooperating(principal, row, "领办")
        state = await settle(ctx, session, row, now)
        if state == "assigned":
            await session.execute(
                update(joint_items)
                .where(joint_items.c.id == item_id)
                .values(state="acknowledged", acknowledged_at=now, acknowledged_by=principal.client_id)
            )
    # Refused after the commit: an item met past its deadline stays closed and announced.
    domain.check_acknowledgeable(state)
    return await get_item(ctx, item_id, principal, now)


def _feedback_row(
    item_id: str, cmd: FeedbackCreate, principal: Principal, now: datetime, **record: Any
) -> dict[str, Any]:
    """An ``item_feedback`` row: the signed written material and who submitted it when."""
    return {
        "id": new_id("fb"),
        "item_id": item_id,
        "content": cmd.content,
        "signed_by": cmd.signed_by,
        "stamped": cmd.stamped,
        "attachments": [a.model_dump() for a in cmd.attachments],
        "delay_reason": cmd.delay_reason,
        "submitted_by": principal.client_id,
        "submitted_at": now,
        **record,
    }


async def submit_feedback(
    ctx: ServiceContext, item_id: str, cmd: FeedbackCreate, principal: Principal, now: datetime
) -> ItemView:
    """C3 written, signed and stamped feedback. Before the deadline it answers the item (final);
    after it, the item keeps its deemed state and the feedback is recorded once as late."""
    async with ctx.db.transaction() as session:
        row = await lock_item(session, item_id)
        _require_cooperating(principal, row, "反馈")
        domain.check_feedback_signed(cmd.signed_by, cmd.stamped)
        state = await settle(ctx, session, row, now)
        late_one = select(item_feedback.c.id).where(
            item_feedback.c.item_id == item_id, item_feedback.c.kind == "late"
        )
        kind = domain.feedback_kind_for(state, (await session.execute(late_one)).first() is not None)
        late = domain.answered_late(row.deadline, now)
        row_values = _feedback_row(item_id, cmd, principal, now, kind=kind, late=late, corrects=None)
        await session.execute(insert(item_feedback).values(**row_values))
        if kind == "answer":
            await session.execute(
                update(joint_items).where(joint_items.c.id == item_id).values(state="answered", closed_at=now)
            )
        await ctx.emit(session, feedback_submitted("joint-item", row, row.matter_id, now, late=late))
    return await get_item(ctx, item_id, principal, now)


async def correct_feedback(
    ctx: ServiceContext, item_id: str, cmd: CorrectionCreate, principal: Principal, now: datetime
) -> ItemView:
    """A correction is a new record linked to the feedback it corrects; nothing is overwritten
    and the item's final state stays. It is not new feedback, so no event is published."""
    async with ctx.db.transaction() as session:
        row = await lock_item(session, item_id)
        _require_cooperating(principal, row, "更正")
        domain.check_feedback_signed(cmd.signed_by, cmd.stamped)
        query = select(item_feedback.c.id, item_feedback.c.late).where(item_feedback.c.item_id == item_id)
        if cmd.corrects is not None:
            query = query.where(item_feedback.c.id == cmd.corrects)
        found = (await session.execute(query.order_by(item_feedback.c.seq.desc()))).first()
        target = domain.correction_target(found, cmd.corrects)
        row_values = _feedback_row(
            item_id, cmd, principal, now, kind="correction", late=target.late, corrects=target.id
        )
        await session.execute(insert(item_feedback).values(**row_values))
    return await get_item(ctx, item_id, principal, now)
