"""Rounds: one per quarter, run by the office through draft → … → results-published (E1–E3)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError

from services.evaluation import domain
from services.evaluation.schemas import Candidate, RoundCreate, RoundPage, RoundView, Schedule
from services.evaluation.service.common import department_name, load_round, policy, profile, rules, state_of
from services.evaluation.service.panel import members
from services.evaluation.tables import rounds
from shared import reference
from shared.app import ServiceContext
from shared.auth import Principal
from shared.pagination import PageParams, encode_cursor
from shared.problems import Problem
from shared.reference import panel_categories


def view(row: Row[Any], ctx: ServiceContext) -> RoundView:
    quarter = domain.Quarter.parse(row.id)
    state = state_of(row)
    evaluation = policy(ctx)
    return RoundView(
        id=row.id,
        quarter_label=quarter.label,
        state=state,
        state_label=domain.STATE_LABELS[state],
        period_from=quarter.first_day,
        period_to=quarter.last_day,
        schedule=Schedule(
            reference_pack_due=row.reference_pack_due, vote_on=row.vote_on, tally_due=row.tally_due
        ),
        candidates=[Candidate(code=c, name=department_name(c)) for c in row.candidates],
        panel_size=evaluation.panel_size,
        choices_per_ballot=evaluation.choices_per_ballot,
        turnout=row.turnout,
        created_at=row.created_at,
        reference_published_at=row.reference_published_at,
        voting_opened_at=row.voting_opened_at,
        voting_closed_at=row.voting_closed_at,
        tallied_at=row.tallied_at,
        results_published_at=row.results_published_at,
    )


def _check_candidates(codes: list[str], ctx: ServiceContext) -> list[str]:
    unknown = []
    for code in codes:
        try:
            if reference.department(code).kind == "office":
                unknown.append(code)
        except reference.UnknownReference:
            unknown.append(code)
    if unknown:
        raise Problem(
            422, f"不是可评定的部门代码：{', '.join(unknown)}", kind="unknown-department", field="candidates"
        )
    if len(set(codes)) != len(codes):
        raise Problem(422, "备评部门重复", kind="repeated-candidate", field="candidates")
    wanted = policy(ctx).choices_per_ballot
    if len(codes) < wanted:
        raise Problem(
            422,
            f"备评部门不能少于每张选票须填写的 {wanted} 个",
            kind="too-few-candidates",
            rule="E1",
            field="candidates",
        )
    return codes


async def create_round(ctx: ServiceContext, cmd: RoundCreate, principal: Principal) -> RoundView:
    with rules():
        quarter = domain.Quarter.parse(cmd.quarter)
        schedule = domain.schedule_for(quarter, policy(ctx).schedule)
        vote_on = cmd.vote_on or schedule.reference_pack_due
        domain.check_vote_day(quarter, vote_on, schedule)
    candidates = _check_candidates(
        cmd.candidates if cmd.candidates is not None else [d.code for d in reference.evaluable_departments()],
        ctx,
    )
    try:
        async with ctx.db.transaction() as session:
            row = (
                await session.execute(
                    insert(rounds)
                    .values(
                        id=str(quarter),
                        state="draft",
                        vote_on=vote_on,
                        reference_pack_due=schedule.reference_pack_due,
                        tally_due=schedule.tally_due,
                        candidates=candidates,
                        created_by=principal.client_id,
                    )
                    .returning(rounds)
                )
            ).one()
    except IntegrityError as exc:
        raise Problem(409, f"{quarter.label}的评定轮次已存在", kind="round-exists", rule="E1") from exc
    return view(row, ctx)


async def get_round(ctx: ServiceContext, round_id: str) -> RoundView:
    async with ctx.db.reader() as session:
        return view(await load_round(session, round_id), ctx)


async def list_rounds(ctx: ServiceContext, page: PageParams) -> RoundPage:
    query = select(rounds).order_by(rounds.c.id.desc()).limit(page.limit + 1)
    if page.cursor:
        query = query.where(rounds.c.id < str(page.cursor[0]))
    async with ctx.db.reader() as session:
        rows = (await session.execute(query)).all()
    more = len(rows) > page.limit
    rows = rows[: page.limit]
    return RoundPage(
        items=[view(r, ctx) for r in rows], next_cursor=encode_cursor([rows[-1].id]) if more else None
    )


async def set_candidates(ctx: ServiceContext, round_id: str, departments: list[str]) -> RoundView:
    candidates = _check_candidates(departments, ctx)
    async with ctx.db.transaction() as session:
        row = await load_round(session, round_id, lock=True)
        with rules():
            domain.require_state(state_of(row), domain.CANDIDATES_EDITABLE, "调整备评部门")
        row = (
            await session.execute(
                update(rounds).where(rounds.c.id == round_id).values(candidates=candidates).returning(rounds)
            )
        ).one()
    return view(row, ctx)


_STAMPS: dict[domain.Action, str] = {
    "open-voting": "voting_opened_at",
    "close-voting": "voting_closed_at",
    "publish-results": "results_published_at",
}


async def transition(ctx: ServiceContext, round_id: str, action: domain.Action) -> RoundView:
    """Open or close the vote, or publish the results; each a plain step of the state machine."""
    async with ctx.db.transaction() as session:
        row = await load_round(session, round_id, lock=True)
        with rules():
            target = domain.next_state(state_of(row), action)
            if action == "open-voting":
                panel = await members(session, round_id)
                domain.require_complete(
                    domain.composition(panel, panel_categories(), profile(ctx).evaluation)
                )
        row = (
            await session.execute(
                update(rounds)
                .where(rounds.c.id == round_id)
                .values({"state": target, _STAMPS[action]: func.now()})
                .returning(rounds)
            )
        ).one()
    return view(row, ctx)
