"""Rounds: one per quarter, run by the office through draft → … → results-published (E1–E3)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.evaluation import domain
from services.evaluation.schemas import Candidate, RoundCreate, RoundPage, RoundView, Schedule
from services.evaluation.service.ballot_box import all_encrypted, count_participations
from services.evaluation.service.common import load_round, state_of
from services.evaluation.service.panel import members
from services.evaluation.tables import rounds
from shared import ballot_crypto as bc
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
        # E5: no running count while the vote is open; the turnout is published at the close.
        turnout=row.turnout if state in domain.BALLOTS_VISIBLE + domain.RESULTS_VISIBLE else None,
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
        "scheme": "encrypted",
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
        values: dict[str, Any] = {"state": target, _STAMPS[action]: func.now()}
        if action == "open-voting":
            panel = await members(session, round_id)
            domain.require_complete(domain.composition(panel, panel_categories(), ctx.profile.evaluation))
            domain.require_election_key(row.scheme, row.election_key)
        if action == "close-voting":
            values["turnout"] = await count_participations(session, round_id)
            if row.scheme == "encrypted":
                values["aggregate"] = await _aggregate(session, row)
        return view(await _update(session, round_id, **values), ctx)


async def _aggregate(session: AsyncSession, row: Row[Any]) -> dict[str, Any]:
    """E3, E5: the ballots added up per department (ciphertexts only), for the trustees to decrypt."""
    box = await all_encrypted(session, row.id)
    cast = [bc.Ballot.from_json(b.ballot).by_department() for b in box]
    sums = {d: bc.add_all(c[d] for c in cast) for d in row.candidates}
    return {"ballots": len(box), "ciphertexts": {d: ct.to_json() for d, ct in sums.items()}}


async def _update(session: AsyncSession, round_id: str, **values: Any) -> Row[Any]:
    """Change the round and read it back."""
    query = update(rounds).where(rounds.c.id == round_id).values(**values).returning(rounds)
    row: Row[Any] = (await session.execute(query)).one()
    return row
