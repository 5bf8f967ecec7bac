"""Publishing a period's bulletin (I3) and applying its consequences (I4, I5) in one transaction.

Each publication of a period is an edition holding the bulletin exactly as published. The first
edition carries every release recorded for the period; a later one (after a correction or a late
release) carries them all again, and ranking-published is emitted only for the releases new or
changed since the previous edition. Report duties and interviews are reconciled with what is
now published: a correction can create them, or withdraw those no longer justified.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Row, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.indicators import domain
from services.indicators.schemas import (
    Bulletin,
    BulletinEntry,
    BulletinListItem,
    BulletinSummary,
    DepartmentRef,
    DutyRef,
    InterviewRef,
    NotReleased,
    PublishRequest,
    TrendPoint,
)
from services.indicators.service import definitions, releases
from services.indicators.tables import (
    bulletins,
    indicators,
    interviews,
    release_revisions,
    report_duties,
)
from services.indicators.tables import releases as releases_table
from shared import reference
from shared.app import ServiceContext
from shared.auth import Principal
from shared.deadlines import local_date
from shared.events import InterviewRequired, RankingPublished
from shared.pagination import Keyset, Page, PageParams
from shared.periods import ReportPeriod
from shared.policy import IndicatorPolicy
from shared.reference import Frequency
from shared.rules import Conflict, Missing

TREND_LENGTH = 12
"""Releases a rank-trend chart shows: a year of monthly releases (a presentation choice)."""

WITHDRAWN_REASON = "更正后该发布不再排在第{threshold}位以后（或等次不再靠后），义务撤销"


@dataclass(frozen=True)
class _Release:
    """A release of the period as it goes into the bulletin."""

    code: str
    seq: int
    frequency: Frequency
    definitions: list[domain.Definition]
    definition: domain.Definition
    revision: Row[Any]
    new_in_edition: bool


@dataclass(frozen=True)
class _Edition:
    """What the next edition of a period's bulletin carries."""

    period: ReportPeriod
    number: int
    entries: list[_Release]
    histories: dict[str, list[domain.PublishedRank]]
    """Our city's published standing in each indicator's releases, this edition's included."""
    not_released: list[NotReleased]


@dataclass(frozen=True)
class _Publication:
    """The facts of one publication that its consequences are recorded with."""

    bulletin_id: str
    issued_on: date
    due: domain.Due
    now: datetime
    policy: IndicatorPolicy


def bulletin_id(period: ReportPeriod, edition: int) -> str:
    return f"bulletin-{period}-e{edition}"


async def publish(
    ctx: ServiceContext,
    period_text: str,
    cmd: PublishRequest,
    principal: Principal,
    our_city: str,
    now: datetime,
) -> Bulletin:
    period = domain.parse_release_period(period_text)
    issued_on = cmd.issued_on or local_date(now)
    domain.check_issued_on(issued_on, local_date(now), period)
    async with ctx.db.transaction() as session:
        await definitions.lock_publication(session)
        # Inside the transaction that stores the duties: a holiday table published meanwhile
        # either waits for this one (and then moves its duties) or is already seen here.
        due = domain.report_due_at_publication(issued_on, ctx.profile, await ctx.calendar.current(session))
        edition = await _next_edition(session, period, draft=False)
        pub = _Publication(bulletin_id(period, edition.number), issued_on, due, now, ctx.profile.indicators)
        for entry in edition.entries:
            if entry.new_in_edition:
                await ctx.emit(session, _ranking_published(pub, period, entry))
                await _reconcile_report(session, pub, period, entry)
                await _reconcile_interviews(ctx, session, pub, period, entry, edition.histories[entry.code])
        duties, interviews_now = await _consequences(session, period, [e.code for e in edition.entries])
        content = _build(
            edition,
            draft=False,
            issued_on=issued_on,
            published_at=now,
            our_city=our_city,
            policy=pub.policy,
            duties=duties,
            interviews_now=interviews_now,
        )
        await session.execute(
            insert(bulletins).values(
                id=pub.bulletin_id,
                period=str(period),
                frequency=period.frequency,
                edition=edition.number,
                issued_on=issued_on,
                published_at=now,
                published_by=principal.client_id,
                content=content.model_dump(mode="json"),
            )
        )
    return content


async def preview(ctx: ServiceContext, period_text: str, our_city: str, now: datetime) -> Bulletin:
    """The bulletin as it would be published now, without publishing it (no duties, no events)."""
    period = domain.parse_release_period(period_text)
    async with ctx.db.reader() as session:
        edition = await _next_edition(session, period, draft=True)
    return _build(
        edition,
        draft=True,
        issued_on=local_date(now),
        published_at=None,
        our_city=our_city,
        policy=ctx.profile.indicators,
        duties={},
        interviews_now={},
    )


async def _next_edition(session: AsyncSession, period: ReportPeriod, *, draft: bool) -> _Edition:
    """The next edition of ``period`` (I3). Publishing it locks the period's releases and marks
    those new in the edition as published by it; a draft changes nothing."""
    last = (
        await session.execute(
            select(bulletins.c.edition, bulletins.c.content)
            .where(bulletins.c.period == str(period))
            .order_by(bulletins.c.edition.desc())
            .limit(1)
        )
    ).first()
    previously = {e["indicator"]: e["revision"] for e in last.content["entries"]} if last else {}
    t = releases_table
    query = select(t).where(t.c.period == str(period)).order_by(t.c.indicator)
    rows = (await session.execute(query if draft else query.with_for_update())).all()
    current = {r.indicator: r.current_revision for r in rows}
    changed = domain.new_in_edition(period, current, previously, last.edition if last else 0, draft=draft)
    number = last.edition + 1 if last else 1
    if not draft:
        await _mark_published(session, period, changed, number)
    entries = await _gather(session, period, rows, changed)
    histories = await _published_histories(session, [e.code for e in entries])
    for entry in entries:
        # A draft shows the period as the edition would publish it: every release at its current
        # revision (what publishing has just marked).
        mine = _published_rank(period, entry.revision)
        histories[entry.code] = [h for h in histories[entry.code] if h.period != period] + [mine]
        histories[entry.code].sort(key=lambda h: h.period.key)
    return _Edition(
        period=period,
        number=number,
        entries=entries,
        histories=histories,
        not_released=await _not_released(session, period, {e.code for e in entries}),
    )


async def _mark_published(
    session: AsyncSession, period: ReportPeriod, changed: set[str], edition: int
) -> None:
    t = releases_table
    await session.execute(
        update(t)
        .where(t.c.period == str(period), t.c.indicator.in_(changed))
        .values(published_revision=t.c.current_revision, published_edition=edition)
    )


async def _gather(
    session: AsyncSession, period: ReportPeriod, rows: Sequence[Row[Any]], changed: set[str]
) -> list[_Release]:
    codes = [r.indicator for r in rows]
    items = {
        i.code: i
        for i in (await session.execute(select(indicators).where(indicators.c.code.in_(codes)))).all()
    }
    timelines = await definitions.definitions_of(session, codes)
    r = release_revisions
    current = tuple_(r.c.indicator, r.c.revision).in_([(x.indicator, x.current_revision) for x in rows])
    revisions = {
        row.indicator: row
        for row in (await session.execute(select(r).where(r.c.period == str(period), current))).all()
    }
    entries = []
    for code in codes:
        definition = domain.definition_for(period, timelines[code])
        if definition is None:  # catalogue changes that would uncover a recorded release are refused
            raise Conflict(f"{code} 在 {period} 不在目录有效期内", kind="indicator-not-in-effect")
        entries.append(
            _Release(
                code=code,
                seq=items[code].seq,
                frequency=items[code].frequency,
                definitions=timelines[code],
                definition=definition,
                revision=revisions[code],
                new_in_edition=code in changed,
            )
        )
    return sorted(entries, key=lambda e: (e.seq, e.code))


def _published_rank(period: ReportPeriod, row: Any) -> domain.PublishedRank:
    return domain.PublishedRank(period=period, rank=row.rank, grade=row.grade, low_grade=row.low_grade)


async def _published_histories(
    session: AsyncSession, codes: Sequence[str]
) -> dict[str, list[domain.PublishedRank]]:
    """Our city's standing in every published release of each indicator, oldest first."""
    t, r = releases_table, release_revisions
    query = releases.with_revision(
        select(t.c.indicator, t.c.period, r.c.rank, r.c.grade, r.c.low_grade), t.c.published_revision
    )
    rows = (
        await session.execute(query.where(t.c.indicator.in_(codes)).order_by(t.c.indicator, t.c.period_key))
    ).all()
    result: dict[str, list[domain.PublishedRank]] = {code: [] for code in codes}
    for row in rows:
        result[row.indicator].append(_published_rank(domain.parse_release_period(row.period), row))
    return result


def _ranking_published(pub: _Publication, period: ReportPeriod, entry: _Release) -> RankingPublished:
    rev = entry.revision
    return RankingPublished(
        bulletin_id=pub.bulletin_id,
        indicator=entry.code,
        period=str(period),
        rank=rev.rank,
        grade=rev.grade,
        cities=rev.cities,
        departments=list(entry.definition.departments),
        worse_than_threshold=domain.worse_than_threshold(rev.rank, rev.low_grade, pub.policy),
    )


async def _reconcile_report(
    session: AsyncSession, pub: _Publication, period: ReportPeriod, entry: _Release
) -> None:
    """I4: a release worse than the threshold owes a report; a corrected one may no longer."""
    rev = entry.revision
    d = report_duties
    live = (
        await session.execute(
            select(d)
            .where(d.c.indicator == entry.code, d.c.period == str(period), d.c.status != "withdrawn")
            .with_for_update()
        )
    ).first()
    threshold = pub.policy.report_when_rank_worse_than
    if domain.worse_than_threshold(rev.rank, rev.low_grade, pub.policy):
        facts = {
            "revision": rev.revision,
            "rank": rev.rank,
            "grade": rev.grade,
            "cities": rev.cities,
            "reason": domain.report_reason(entry.frequency, rev.rank, rev.grade, rev.low_grade, threshold),
        }
        if live is None:
            await session.execute(
                insert(d).values(
                    id=f"rd-{uuid.uuid4().hex[:12]}",
                    indicator=entry.code,
                    period=str(period),
                    department=entry.definition.lead_department,
                    bulletin_id=pub.bulletin_id,
                    status="open",
                    issued_on=pub.issued_on,
                    due_at=pub.due.at,
                    deadline_provisional=pub.due.provisional,
                    created_at=pub.now,
                    **facts,
                )
            )
        else:  # still owed: the report covers the corrected figures, on the original clock
            await session.execute(update(d).where(d.c.id == live.id).values(**facts))
    elif live is not None and live.status in ("open", "overdue"):
        reason = WITHDRAWN_REASON.format(threshold=threshold)
        await session.execute(
            update(d)
            .where(d.c.id == live.id)
            .values(status="withdrawn", withdrawn_at=pub.now, withdrawn_reason=reason)
        )


async def _reconcile_interviews(
    ctx: ServiceContext,
    session: AsyncSession,
    pub: _Publication,
    period: ReportPeriod,
    entry: _Release,
    history: list[domain.PublishedRank],
) -> None:
    """I5: the interviews the published history calls for from this period on.

    Interviews at earlier periods cannot change: the releases before this one are as they were.
    """
    due = {
        str(d.period): d
        for d in domain.interviews_due(entry.frequency, history, pub.policy)
        if d.period.key >= period.key
    }
    i = interviews
    live = (
        await session.execute(
            select(i).where(i.c.indicator == entry.code, i.c.status == "required").with_for_update()
        )
    ).all()
    for row in live:
        if domain.parse_release_period(row.period).key < period.key:
            continue
        wanted = due.pop(row.period, None)
        if wanted is None:
            await session.execute(
                update(i).where(i.c.id == row.id).values(status="withdrawn", withdrawn_at=pub.now)
            )
        elif list(row.run) != [str(p) for p in wanted.run]:
            await session.execute(update(i).where(i.c.id == row.id).values(run=[str(p) for p in wanted.run]))
    for wanted in due.values():
        await _require_interview(ctx, session, pub, entry, wanted)


async def _require_interview(
    ctx: ServiceContext,
    session: AsyncSession,
    pub: _Publication,
    entry: _Release,
    wanted: domain.InterviewDue,
) -> None:
    """I5: the vice-mayor and deputy secretary-general in charge interview the lead department."""
    definition = domain.definition_for(wanted.period, entry.definitions) or entry.definition
    department = reference.department(definition.lead_department)
    interviewers = [department.vice_mayor, department.deputy_secretary_general]
    interview_id = f"iv-{uuid.uuid4().hex[:12]}"
    await session.execute(
        insert(interviews).values(
            id=interview_id,
            indicator=entry.code,
            period=str(wanted.period),
            department=department.code,
            kind=wanted.kind,
            reason=wanted.reason,
            interviewers=interviewers,
            run=[str(p) for p in wanted.run],
            bulletin_id=pub.bulletin_id,
            status="required",
            created_at=pub.now,
        )
    )
    await ctx.emit(
        session,
        InterviewRequired(
            interview_id=interview_id,
            department=department.code,
            reason=wanted.reason,
            interviewers=interviewers,
            indicator=entry.code,
            period=str(wanted.period),
        ),
    )


async def _consequences(
    session: AsyncSession, period: ReportPeriod, codes: Sequence[str]
) -> tuple[dict[str, DutyRef], dict[str, InterviewRef]]:
    d, i = report_duties, interviews
    duties = (
        await session.execute(
            select(d).where(d.c.period == str(period), d.c.indicator.in_(codes), d.c.status != "withdrawn")
        )
    ).all()
    required = (
        await session.execute(
            select(i).where(i.c.period == str(period), i.c.indicator.in_(codes), i.c.status == "required")
        )
    ).all()
    return (
        {row.indicator: DutyRef.model_validate(row) for row in duties},
        {row.indicator: InterviewRef.model_validate(row) for row in required},
    )


async def _not_released(session: AsyncSession, period: ReportPeriod, released: set[str]) -> list[NotReleased]:
    """Catalogue items in effect for the period that the province did not release."""
    items = (
        await session.execute(
            select(indicators).where(indicators.c.frequency == period.frequency).order_by(indicators.c.seq)
        )
    ).all()
    codes = [i.code for i in items if i.code not in released]
    timelines = await definitions.definitions_of(session, codes)
    missing = []
    for code in codes:
        definition = domain.definition_for(period, timelines[code])
        if definition is not None:
            missing.append(NotReleased(indicator=code, name=definition.name))
    return missing


def _entry(
    seq: int,
    entry: _Release,
    period: ReportPeriod,
    histories: dict[str, list[domain.PublishedRank]],
    policy: IndicatorPolicy,
    consequences: tuple[DutyRef | None, InterviewRef | None],
) -> BulletinEntry:
    """One line of the bulletin: our city's standing, the change since the last release, the trend."""
    rev = entry.revision
    history = [h for h in histories[entry.code] if h.period.key <= period.key]
    previous = next((h for h in reversed(history) if h.period.key < period.key), None)
    standing = domain.standing(rev.rank, rev.low_grade, policy)
    return BulletinEntry(
        seq=seq,
        indicator=entry.code,
        name=entry.definition.name,
        attribute=entry.definition.attribute,
        attribute_label=entry.definition.attribute_label,
        unit=entry.definition.unit,
        value=rev.value,
        rank=rev.rank,
        grade=rev.grade,
        cities=rev.cities,
        previous_period=str(previous.period) if previous else None,
        previous_rank=previous.rank if previous else None,
        change=domain.rank_change(previous.rank if previous else None, rev.rank),
        within_top3=rev.rank is not None and rev.rank <= policy.strive_for_top,
        within_top5=rev.rank is not None and rev.rank <= policy.report_when_rank_worse_than,
        worse_than_threshold=domain.worse_than_threshold(rev.rank, rev.low_grade, policy),
        standing=standing,
        standing_label=domain.STANDING_LABELS[standing],
        departments=[
            DepartmentRef(code=c, name=reference.department_name(c)) for c in entry.definition.departments
        ],
        revision=rev.revision,
        corrected=rev.revision > 1,
        new_in_edition=entry.new_in_edition,
        trend=[TrendPoint(period=str(h.period), rank=h.rank, grade=h.grade) for h in history[-TREND_LENGTH:]],
        ranking=releases.ranking_rows(rev.ranking),
        report_duty=consequences[0],
        interview=consequences[1],
    )


def _build(
    edition: _Edition,
    *,
    draft: bool,
    issued_on: date,
    published_at: datetime | None,
    our_city: str,
    policy: IndicatorPolicy,
    duties: dict[str, DutyRef],
    interviews_now: dict[str, InterviewRef],
) -> Bulletin:
    period = edition.period
    built = [
        _entry(n, e, period, edition.histories, policy, (duties.get(e.code), interviews_now.get(e.code)))
        for n, e in enumerate(edition.entries, start=1)
    ]
    city = reference.city(our_city)
    title = f"{city.name}重要指标全省排名“保五争三”通报（{period.label}）"
    if edition.number > 1:
        title += f"（第{edition.number}版，含更正）"
    return Bulletin(
        id=bulletin_id(period, edition.number),
        period=str(period),
        period_label=period.label,
        frequency=period.frequency,
        edition=edition.number,
        draft=draft,
        title=title,
        city=city.code,
        city_name=city.name,
        issued_on=issued_on,
        published_at=published_at,
        report_when_rank_worse_than=policy.report_when_rank_worse_than,
        strive_for_top=policy.strive_for_top,
        interview_after_consecutive_releases=policy.interview_after_consecutive_releases,
        summary=BulletinSummary(
            released=len(built),
            within_top3=sum(1 for e in built if e.within_top3),
            within_top5=sum(1 for e in built if e.within_top5),
            worse_than_threshold=sum(1 for e in built if e.worse_than_threshold),
            not_released=len(edition.not_released),
        ),
        entries=built,
        not_released=edition.not_released,
    )


async def get_bulletin(ctx: ServiceContext, period_text: str, edition: int | None) -> Bulletin:
    period = domain.parse_release_period(period_text)
    query = select(bulletins.c.content).where(bulletins.c.period == str(period))
    if edition is not None:
        query = query.where(bulletins.c.edition == edition)
    async with ctx.db.reader() as session:
        content = (await session.execute(query.order_by(bulletins.c.edition.desc()).limit(1))).scalar()
    if content is None:
        which = f"第 {edition} 版" if edition is not None else ""
        raise Missing(f"{period} 的通报{which}尚未发布", kind="bulletin-not-found")
    return Bulletin.model_validate(content)


async def list_bulletins(
    ctx: ServiceContext, page: PageParams, *, frequency: str | None
) -> Page[BulletinListItem]:
    b = bulletins
    keyset = Keyset(b.c.published_at, b.c.id)
    query = select(
        b.c.id,
        b.c.period,
        b.c.frequency,
        b.c.edition,
        b.c.issued_on,
        b.c.published_at,
        b.c.content["title"].astext.label("title"),
    )
    if frequency is not None:
        query = query.where(b.c.frequency == frequency)
    async with ctx.db.reader() as session:
        rows = (await session.execute(keyset.apply(query, page))).all()
    return keyset.page(rows, page, BulletinListItem.model_validate)
