"""The tally (E3) and its consequences (E4): results, interviews, designations and bulletins.

The tally counts the ballot box of a closed round, ranks the candidates by competition ranking
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

from datetime import datetime
from typing import Any

from sqlalchemy import column, func, insert, select, true, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from services.evaluation import domain
from services.evaluation.schemas import DesignationPage, DesignationView, ResultsView, StandingView
from services.evaluation.service.common import (
    RESULT_READER_ROLES,
    department_name,
    load_round,
    may,
    policy,
    rules,
    state_of,
)
from services.evaluation.tables import ballots, designations, round_results, rounds
from shared import reference
from shared.app import ServiceContext
from shared.auth import Principal
from shared.deadlines import local_date
from shared.events import DepartmentDesignated, InterviewRequired, RoundTallied
from shared.messaging import outbox
from shared.pagination import PageParams, encode_cursor
from shared.policy import EvaluationPolicy
from shared.problems import Problem


def _city_name() -> str:
    return reference.city(reference.reference_data().departments.city).name


async def tally_round(
    ctx: ServiceContext, round_id: str, principal: Principal, now: datetime | None = None
) -> ResultsView:
    """Count a closed round, record the results and their consequences, and announce them."""
    now = now or ctx.now()
    evaluation = policy(ctx)
    async with ctx.db.transaction() as session:
        row = await load_round(session, round_id, lock=True)
        with rules():
            target = domain.next_state(state_of(row), "tally")
        quarter = domain.Quarter.parse(round_id)
        previous = str(quarter.previous())
        previous_state = (
            await session.execute(select(rounds.c.state).where(rounds.c.id == previous))
        ).scalar_one_or_none()
        if previous_state is not None and previous_state not in domain.RESULTS_VISIBLE:
            raise Problem(
                409,
                f"{quarter.previous().label}的评定尚未计票，须按季度顺序计票（连续季度的认定依赖上一季度结果）",
                kind="previous-round-not-tallied",
                rule="E4",
            )
        previous_runs = {
            r.department: r.consecutive_quarters
            for r in await session.execute(
                select(round_results.c.department, round_results.c.consecutive_quarters).where(
                    round_results.c.round_id == previous
                )
            )
        }
        cast_ballots, counts = await _count_box(session, round_id)
        result = domain.tally_counts(cast_ballots, counts, list(row.candidates), evaluation)
        rows: list[dict[str, Any]] = []
        events: list[Any] = [
            RoundTallied(
                round_id=round_id,
                ballots=result.ballots,
                votes={d: v for d, v in result.votes.items() if v > 0},
                selected=result.selected,
            )
        ]
        bulletins: list[dict[str, Any]] = []
        for standing in result.standings:
            run = domain.run_length(standing.selected, previous_runs.get(standing.department, 0))
            consequences = domain.consequences(run, evaluation)
            rows.append(
                {
                    "round_id": round_id,
                    "department": standing.department,
                    "votes": standing.votes,
                    "rank": standing.rank,
                    "selected": standing.selected,
                    "consecutive_quarters": run,
                    "consequences": list(consequences),
                }
            )
            if "vice-mayor-interview" in consequences:
                events.append(
                    _vice_mayor_interview(round_id, standing.department, run, evaluation.selected_top)
                )
            if "designated" in consequences:
                bulletins.append(_designation(quarter, standing.department, run, now, evaluation))
                events.append(
                    DepartmentDesignated(
                        round_id=round_id, department=standing.department, consecutive_quarters=run
                    )
                )
        await session.execute(insert(round_results).values(rows))
        if bulletins:
            await session.execute(insert(designations).values(bulletins))
        row = (
            await session.execute(
                update(rounds)
                .where(rounds.c.id == round_id)
                .values(state=target, tallied_at=func.now())
                .returning(rounds)
            )
        ).one()
        for event in events:
            await outbox.record(session, event, source=ctx.source, topic_prefix=ctx.common.topic_prefix)
        return await _results_view(session, row, evaluation.panel_size)


async def _count_box(session: AsyncSession, round_id: str) -> tuple[int, dict[str, int]]:
    """The round's ballot box counted in the database: how many ballots, and how many times each
    department was chosen. Only totals leave it; no ballot is read one by one (E3, E5)."""
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
    quarter: domain.Quarter, department: str, run: int, now: datetime, evaluation: EvaluationPolicy
) -> dict[str, Any]:
    quarters = [quarter]
    while len(quarters) < run:
        quarters.insert(0, quarters[0].previous())
    bulletin = domain.designation_bulletin(
        city=_city_name(),
        department=department_name(department),
        quarters=quarters,
        recipients=[r.name for r in reference.designation_recipients()],
        issued_on=local_date(now),
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
    ballots_counted = (
        await session.execute(select(func.count()).select_from(ballots).where(ballots.c.round_id == row.id))
    ).scalar_one()
    return ResultsView(
        round_id=row.id,
        state=row.state,
        ballots=ballots_counted,
        turnout=row.turnout,
        panel_size=panel_size,
        standings=[
            StandingView(
                department=s.department,
                name=department_name(s.department),
                votes=s.votes,
                rank=s.rank,
                selected=s.selected,
                consecutive_quarters=s.consecutive_quarters,
                consequences=list(s.consequences),
                consequence_labels=[domain.CONSEQUENCE_LABELS[c] for c in s.consequences],
            )
            for s in standings
        ],
        selected=[s.department for s in standings if s.selected],
        designations=list(designated),
    )


def _require_readable(state: domain.RoundState, principal: Principal | None, what: str) -> None:
    if state not in domain.RESULTS_VISIBLE:
        raise Problem(409, f"本轮尚未计票，暂无{what}", kind="results-not-available", rule="E3")
    if state != "results-published" and not may(principal, RESULT_READER_ROLES):
        if principal is None:
            raise Problem(
                401,
                f"{what}公布前仅供市政府领导和组织者查阅，请提供访问令牌",
                kind="unauthorized",
                headers={"WWW-Authenticate": 'Bearer realm="xiaoneng"'},
            )
        raise Problem(403, f"{what}公布前仅供市政府领导和组织者查阅", kind="forbidden")


async def get_results(ctx: ServiceContext, round_id: str, principal: Principal | None) -> ResultsView:
    async with ctx.db.reader() as session:
        row = await load_round(session, round_id)
        _require_readable(state_of(row), principal, "评定结果")
        return await _results_view(session, row, policy(ctx).panel_size)


def _designation_view(row: Row[Any]) -> DesignationView:
    bulletin = domain.Bulletin(
        title=row.title,
        addressed_to=tuple(row.addressed_to),
        body=row.body,
        issuer=row.issuer,
        issued_on=row.issued_on,
    )
    return DesignationView(
        id=row.id,
        round_id=row.round_id,
        department=row.department,
        department_name=department_name(row.department),
        consecutive_quarters=row.consecutive_quarters,
        quarters=list(row.quarters),
        title=row.title,
        addressed_to=list(row.addressed_to),
        body=row.body,
        issuer=row.issuer,
        issued_on=row.issued_on,
        text=bulletin.text,
    )


async def list_designations(
    ctx: ServiceContext, page: PageParams, principal: Principal | None, department: str | None = None
) -> DesignationPage:
    """Designations newest round first; the public sees those of rounds whose results are published."""
    d = designations
    query = (
        select(d)
        .join(rounds, rounds.c.id == d.c.round_id)
        .order_by(d.c.round_id.desc(), d.c.department)
        .limit(page.limit + 1)
    )
    if not may(principal, RESULT_READER_ROLES):
        query = query.where(rounds.c.state == "results-published")
    if department is not None:
        query = query.where(d.c.department == department)
    if page.cursor:
        try:
            round_id, dept = str(page.cursor[0]), str(page.cursor[1])
        except IndexError as exc:
            raise Problem(400, "游标无效，请使用上一页返回的 next_cursor", kind="invalid-cursor") from exc
        query = query.where(
            (d.c.round_id < round_id) | ((d.c.round_id == round_id) & (d.c.department > dept))
        )
    async with ctx.db.reader() as session:
        rows = (await session.execute(query)).all()
    more = len(rows) > page.limit
    rows = rows[: page.limit]
    return DesignationPage(
        items=[_designation_view(r) for r in rows],
        next_cursor=encode_cursor([rows[-1].round_id, rows[-1].department]) if more else None,
    )


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
        raise Problem(404, f"低效能部门通报 {designation_id} 不存在或尚未公布", kind="designation-not-found")
    return _designation_view(row)
