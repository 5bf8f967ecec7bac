"""Rounds: one per quarter, run by the office through draft → … → results-published (E1–E3)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.evaluation import domain
from services.evaluation.schemas import Candidate, RoundCreate, RoundPage, RoundView, Schedule
from services.evaluation.service.common import load_round, state_of
from services.evaluation.service.panel import members
from services.evaluation.tables import rounds
from shared import reference
from shared.app import ServiceContext
from shared.auth import Principal
from shared.pagination import Keyset, PageParams
from shared.reference import department_name, panel_categories
from shared.rules import Conflict

# Newest quarter first: a round's id is its quarter, ``YYYY-Qn``, which sorts as text.
ROUND_ORDER = Keyset(rounds.c.id)


def view(row: Row[Any], ctx: ServiceContext) -> RoundView:
    quarter = domain.Quarter.parse(row.id)
    state = state_of(row)
    evaluation = ctx.profile.evaluation
    return RoundView.of(
        row,
        quarter_label=quarter.label,
        state_label=domain.STATE_LABELS[state],
        period_from=quarter.first_day,
        period_to=quarter.last_day,
        schedule=Schedule.model_validate(row),
        candidates=[Candidate(code=c, name=department_name(c)) for c in row.candidates],
        panel_size=evaluation.panel_size,
        choices_per_ballot=evaluation.choices_per_ballot,
    )


async def create_round(ctx: ServiceContext, cmd: RoundCreate, principal: Principal) -> RoundView:
    quarter = domain.Quarter.parse(cmd.quarter)
    schedule = domain.schedule_for(quarter, ctx.profile.evaluation.schedule)
    vote_on = cmd.vote_on or schedule.reference_pack_due
    domain.check_vote_day(quarter, vote_on, schedule)
    candidates = cmd.candidates
    if candidates is None:
        candidates = [d.code for d in reference.evaluable_departments()]
    domain.check_candidates(candidates, reference.departments(), ctx.profile.evaluation)
    values = {
        "id": str(quarter),
        "state": "draft",
        "vote_on": vote_on,
        "reference_pack_due": schedule.reference_pack_due,
        "tally_due": schedule.tally_due,
        "candidates": candidates,
        "created_by": principal.client_id,
    }
    try:
        async with ctx.db.transaction() as session:
            row = (await session.execute(insert(rounds).values(values).returning(rounds))).one()
    except IntegrityError as exc:
        raise Conflict(f"{quarter.label}的评定轮次已存在", kind="round-exists", rule="E1") from exc
    return view(row, ctx)


async def get_round(ctx: ServiceContext, round_id: str) -> RoundView:
    async with ctx.db.reader() as session:
        return view(await load_round(session, round_id), ctx)


async def list_rounds(ctx: ServiceContext, page: PageParams) -> RoundPage:
    async with ctx.db.reader() as session:
        rows = (await session.execute(ROUND_ORDER.apply(select(rounds), page))).all()
    shown, cursor = ROUND_ORDER.cut(rows, page)
    return RoundPage(items=[view(r, ctx) for r in shown], next_cursor=cursor)


async def set_candidates(ctx: ServiceContext, round_id: str, departments: list[str]) -> RoundView:
    domain.check_candidates(departments, reference.departments(), ctx.profile.evaluation)
    async with ctx.db.transaction() as session:
        row = await load_round(session, round_id, lock=True)
        domain.require_state(state_of(row), domain.CANDIDATES_EDITABLE, "调整备评部门")
        return view(await _update(session, round_id, candidates=departments), ctx)


_STAMPS: dict[domain.Action, str] = {
    "open-voting": "voting_opened_at",
    "close-voting": "voting_closed_at",
    "publish-results": "results_published_at",
}


async def transition(ctx: ServiceContext, round_id: str, action: domain.Action) -> RoundView:
    """Open or close the vote, or publish the results; each a plain step of the state machine."""
    async with ctx.db.transaction() as session:
        row = await load_round(session, round_id, lock=True)
        target = domain.next_state(state_of(row), action)
        if action == "open-voting":
            panel = await members(session, round_id)
            domain.require_complete(domain.composition(panel, panel_categories(), ctx.profile.evaluation))
        return view(await _update(session, round_id, state=target, **{_STAMPS[action]: func.now()}), ctx)


async def _update(session: AsyncSession, round_id: str, **values: Any) -> Row[Any]:
    """Change the round and read it back."""
    query = update(rounds).where(rounds.c.id == round_id).values(**values).returning(rounds)
    row: Row[Any] = (await session.execute(query)).one()
    return row
