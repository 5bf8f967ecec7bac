"""The tally (E3) and its consequences (E4): results, interviews, designations and bulletins.

The tally counts a closed round — from a threshold of the trustees' partial decryptions of the
per-department aggregates (encrypted rounds), or from the plain ballot box of a round cast under
the old scheme — ranks the candidates by competition ranking
and selects every department ranked within the top seats (ties add seats, no votes never
select). The run of consecutive selected quarters continues the previous quarter's run when
that round was tallied and the department was selected there; a quarter without a round, or out
of the top, resets it. The consequences follow from the run alone: the working group interviews
every selected department, the vice-mayor in charge from the second quarter running
(interview-required), and from the third the department is designated with a bulletin
(department-designated). Results are readable by leaders and organizers once tallied and by
everyone once published.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import column, func, insert, select, true, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from services.evaluation import domain
from services.evaluation.schemas import DesignationPage, DesignationView, ResultsView, StandingView
from services.evaluation.service import ceremony
from services.evaluation.service.common import (
    RESULT_READER_ROLES,
    admit_before_publication,
    load_round,
    may,
    state_of,
)
from services.evaluation.tables import ballots, designations, round_results, rounds
from shared import reference
from shared.app import ServiceContext
from shared.auth import Principal
from shared.events import DepartmentDesignated, EventData, InterviewRequired, RoundTallied
from shared.pagination import Keyset, PageParams
from shared.policy import EvaluationPolicy
from shared.reference import department_name
from shared.rules import Missing


def _city_name() -> str:
    return reference.city(reference.reference_data().departments.city).name


async def tally_round(ctx: ServiceContext, round_id: str, principal: Principal) -> ResultsView:
    """Count a closed round, record the results and their consequences, and announce them."""
    evaluation, today = ctx.profile.evaluation, ctx.today()
    async with ctx.db.transaction() as session:
        row = await load_round(session, round_id, lock=True)
        target = domain.next_state(state_of(row), "tally")
        quarter = domain.Quarter.parse(round_id)
        previous_runs = await _previous_runs(session, quarter)
        if row.scheme == "encrypted":
            cast_ballots, counts = ceremony.counts_from(row, await ceremony.partials_of(session, round_id))
        else:
            cast_ballots, counts = await _count_box(session, round_id)
        result = domain.tally_counts(cast_ballots, counts, list(row.candidates), evaluation)
        rulings = domain.rulings(result, previous_runs, evaluation)
        await session.execute(insert(round_results).values([_result(round_id, r) for r in rulings]))
        bulletins = [
            _designation(quarter, r.standing.department, r.run, today, evaluation)
            for r in rulings
            if "designated" in r.consequences
        ]
        if bulletins:
            await session.execute(insert(designations).values(bulletins))
        query = update(rounds).where(rounds.c.id == round_id).values(state=target, tallied_at=func.now())
        row = (await session.execute(query.returning(rounds))).one()
        await ctx.emit_many(session, _announcements(round_id, result, rulings, evaluation))
        return await _results_view(session, row, evaluation.panel_size)


async def _previous_runs(session: AsyncSession, quarter: domain.Quarter) -> dict[str, int]:
    """The runs of selected quarters the round continues: those of the previous quarter's round,
    which must be tallied (E4); none when that quarter had no round."""
    previous = str(quarter.previous())
    state = (
        await session.execute(select(rounds.c.state).where(rounds.c.id == previous))
    ).scalar_one_or_none()
    domain.require_previous_tallied(quarter, state)
    query = select(round_results.c.department, round_results.c.consecutive_quarters).where(
        round_results.c.round_id == previous
    )
    return {r.department: r.consecutive_quarters for r in await session.execute(query)}


async def _count_box(session: AsyncSession, round_id: str) -> tuple[int, dict[str, int]]:
    """A round of the old scheme (plain ballots): its ballot box counted in the database: how many
    ballots, and how many times each department was chosen. Only totals leave it; no ballot is
    read one by one (E3, E5)."""
    cast_ballots = (
        await session.execute(select(func.count()).select_from(ballots).where(ballots.c.round_id == round_id))
    ).scalar_one()
    choice = func.jsonb_array_elements(ballots.c.choices).table_valued(column("value", JSONB)).alias("choice")
    department = choice.c.value["department"].astext
    counts = {
        d: n
        for d, n in await session.execute(
            select(department, func.count())
            .select_from(ballots)
            .join(choice, true())
            .where(ballots.c.round_id == round_id)
            .group_by(department)
        )
    }
    return cast_ballots, counts


def _result(round_id: str, ruling: domain.Ruling) -> dict[str, Any]:
    standing = ruling.standing
    return {
        "round_id": round_id,
        "department": standing.department,
        "votes": standing.votes,
        "rank": standing.rank,
        "selected": standing.selected,
        "consecutive_quarters": ruling.run,
        "consequences": list(ruling.consequences),
    }


def _announcements(
    round_id: str, result: domain.Tally, rulings: tuple[domain.Ruling, ...], evaluation: EvaluationPolicy
) -> list[EventData]:
    """round-tallied, then per department in standing order its interview or its designation (E4)."""
    votes = {d: v for d, v in result.votes.items() if v > 0}
    events: list[EventData] = [
        RoundTallied(round_id=round_id, ballots=result.ballots, votes=votes, selected=result.selected)
    ]
    for ruling in rulings:
        department, run = ruling.standing.department, ruling.run
        if "vice-mayor-interview" in ruling.consequences:
            events.append(_vice_mayor_interview(round_id, department, run, evaluation.selected_top))
        if "designated" in ruling.consequences:
            events.append(
                DepartmentDesignated(round_id=round_id, department=department, consecutive_quarters=run)
            )
    return events


def _vice_mayor_interview(round_id: str, department: str, run: int, top: int) -> InterviewRequired:
    return InterviewRequired(
        interview_id=f"iv-{round_id}-{department}",
        department=department,
        reason=f"连续{run}个季度“低效能”预评得票进入前{top}位，报请分管市长约谈主要负责人",
        interviewers=[reference.department(department).vice_mayor],
        indicator=None,
        period=round_id,
    )


def _designation(
    quarter: domain.Quarter, department: str, run: int, issued_on: date, evaluation: EvaluationPolicy
) -> dict[str, Any]:
    quarters = domain.run_quarters(quarter, run)
    bulletin = domain.designation_bulletin(
        city=_city_name(),
        department=department_name(department),
        quarters=quarters,
        recipients=[r.name for r in reference.designation_recipients()],
        issued_on=issued_on,
        policy=evaluation,
    )
    return {
        "id": f"dsg-{quarter}-{department}",
        "round_id": str(quarter),
        "department": department,
        "consecutive_quarters": run,
        "quarters": [str(q) for q in quarters],
        "title": bulletin.title,
        "addressed_to": list(bulletin.addressed_to),
        "body": bulletin.body,
        "issuer": bulletin.issuer,
        "issued_on": bulletin.issued_on,
    }


async def _results_view(session: AsyncSession, row: Row[Any], panel_size: int) -> ResultsView:
    standings = (
        await session.execute(
            select(round_results)
            .where(round_results.c.round_id == row.id)
            .order_by(round_results.c.rank, round_results.c.department)
        )
    ).all()
    designated = (
        await session.execute(
            select(designations.c.id).where(designations.c.round_id == row.id).order_by(designations.c.id)
        )
    ).scalars()
    if row.scheme == "encrypted":
        ballots_counted = int(row.aggregate["ballots"]) if row.aggregate else 0
    else:
        ballots_counted = (
            await session.execute(
                select(func.count()).select_from(ballots).where(ballots.c.round_id == row.id)
            )
        ).scalar_one()
    return ResultsView(
        round_id=row.id,
        state=row.state,
        ballots=ballots_counted,
        turnout=row.turnout,
        panel_size=panel_size,
        standings=[_standing(s) for s in standings],
        selected=[s.department for s in standings if s.selected],
        designations=list(designated),
    )


def _standing(row: Row[Any]) -> StandingView:
    labels = [domain.CONSEQUENCE_LABELS[c] for c in row.consequences]
    return StandingView.of(row, name=department_name(row.department), consequence_labels=labels)


async def get_results(ctx: ServiceContext, round_id: str, principal: Principal | None) -> ResultsView:
    async with ctx.db.reader() as session:
        row = await load_round(session, round_id)
        state = state_of(row)
        domain.require_results(state)
        admit_before_publication(
            state, principal, RESULT_READER_ROLES, "评定结果公布前仅供市政府领导和组织者查阅"
        )
        return await _results_view(session, row, ctx.profile.evaluation.panel_size)


def _designation_view(row: Row[Any]) -> DesignationView:
    bulletin = domain.Bulletin(
        title=row.title,
        addressed_to=tuple(row.addressed_to),
        body=row.body,
        issuer=row.issuer,
        issued_on=row.issued_on,
    )
    return DesignationView.of(row, department_name=department_name(row.department), text=bulletin.text)


# Newest round first, departments in code order within a round. ``Keyset`` pages in one direction
# only, so it reads the cursor and cuts the page, and ``_after`` compares in this mixed order.
DESIGNATION_ORDER = Keyset(designations.c.round_id, designations.c.department)


def _after(page: PageParams) -> ColumnElement[bool] | None:
    """The designations after the cursor's (a bad cursor is the shared invalid-cursor problem)."""
    if page.cursor is None or DESIGNATION_ORDER.after(page) is None:
        return None
    round_id, department = (str(value) for value in page.cursor)
    d = designations
    return (d.c.round_id < round_id) | ((d.c.round_id == round_id) & (d.c.department > department))


async def list_designations(
    ctx: ServiceContext, page: PageParams, principal: Principal | None, department: str | None = None
) -> DesignationPage:
    """Designations newest round first; the public sees those of rounds whose results are published."""
    d = designations
    query = select(d).join(rounds, rounds.c.id == d.c.round_id)
    if not may(principal, RESULT_READER_ROLES):
        query = query.where(rounds.c.state == "results-published")
    if department is not None:
        query = query.where(d.c.department == department)
    if (after := _after(page)) is not None:
        query = query.where(after)
    query = query.order_by(d.c.round_id.desc(), d.c.department).limit(page.limit + 1)
    async with ctx.db.reader() as session:
        rows = (await session.execute(query)).all()
    shown, cursor = DESIGNATION_ORDER.cut(rows, page)
    return DesignationPage(items=[_designation_view(r) for r in shown], next_cursor=cursor)


async def get_designation(
    ctx: ServiceContext, designation_id: str, principal: Principal | None
) -> DesignationView:
    async with ctx.db.reader() as session:
        row = (
            await session.execute(
                select(designations, rounds.c.state)
                .join(rounds, rounds.c.id == designations.c.round_id)
                .where(designations.c.id == designation_id)
            )
        ).first()
    if row is None or (row.state != "results-published" and not may(principal, RESULT_READER_ROLES)):
        raise Missing(f"低效能部门通报 {designation_id} 不存在或尚未公布", kind="designation-not-found")
    return _designation_view(row)
