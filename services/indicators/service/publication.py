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
from services.indicators.service import common, releases
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
from shared.calendar import CalendarError, HolidayCalendar
from shared.deadlines import SHANGHAI, local_date
from shared.events import InterviewRequired, RankingPublished
from shared.messaging import outbox
from shared.pagination import Page, PageParams, encode_cursor
from shared.policy import IndicatorPolicy, PolicyProfile
from shared.problems import Problem
from shared.reference import Frequency

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


def _parse(text: str) -> domain.ReleasePeriod:
    try:
        return domain.ReleasePeriod.parse(text)
    except domain.IndicatorRuleError as exc:
        raise common.problem(exc) from exc


def bulletin_id(period: domain.ReleasePeriod, edition: int) -> str:
    return f"bulletin-{period}-e{edition}"


async def publish(
    ctx: ServiceContext,
    period_text: str,
    cmd: PublishRequest,
    principal: Principal,
    our_city: str,
    now: datetime,
) -> Bulletin:
    period = _parse(period_text)
    profile = common.profile(ctx)
    policy = profile.indicators
    today = local_date(now)
    issued_on = cmd.issued_on or today
    if issued_on > today:
        raise Problem(422, "通报日期不能晚于今天", kind="issued-in-future", rule="I3", field="issued_on")
    if issued_on < period.first_day:
        raise Problem(
            422,
            f"通报日期不能早于期别 {period} 的第一天",
            kind="issued-before-period",
            rule="I3",
            field="issued_on",
        )

    async with ctx.db.transaction() as session:
        await common.lock_publication(session)
        # Inside the transaction that stores the duties: a holiday table published meanwhile
        # either waits for this one (and then moves its duties) or is already seen here.
        due = report_due(issued_on, profile, await ctx.calendar.current(session))
        last = (
            await session.execute(
                select(bulletins)
                .where(bulletins.c.period == str(period))
                .order_by(bulletins.c.edition.desc())
                .limit(1)
            )
        ).first()
        previously = {e["indicator"]: e["revision"] for e in last.content["entries"]} if last else {}
        rows = await _period_releases(session, period, for_update=True)
        if not rows:
            raise Problem(409, f"{period} 尚无任何指标发布，无法通报", kind="nothing-to-publish", rule="I3")
        changed = {r.indicator for r in rows if previously.get(r.indicator) != r.current_revision}
        if not changed:
            raise Problem(
                409,
                f"{period} 的通报（第 {last.edition if last else 0} 版）之后没有新的发布或更正",
                kind="bulletin-unchanged",
                rule="I3",
            )
        edition = last.edition + 1 if last else 1
        bid = bulletin_id(period, edition)
        await session.execute(
            update(releases_table)
            .where(releases_table.c.period == str(period), releases_table.c.indicator.in_(changed))
            .values(published_revision=releases_table.c.current_revision, published_edition=edition)
        )
        entries = await _gather(session, period, rows, changed)
        histories = await _published_histories(session, [e.code for e in entries])
        for entry in entries:
            if not entry.new_in_edition:
                continue
            await outbox.record(
                session,
                _ranking_published(bid, period, entry, policy),
                source=ctx.source,
                topic_prefix=ctx.common.topic_prefix,
            )
            await _reconcile_report(session, entry, period, policy, bid, issued_on, due, now)
            await _reconcile_interviews(ctx, session, entry, period, histories[entry.code], policy, bid, now)
        duties, interviews_now = await _consequences(session, period, [e.code for e in entries])
        content = _build(
            period,
            edition=edition,
            draft=False,
            issued_on=issued_on,
            published_at=now,
            our_city=our_city,
            policy=policy,
            entries=entries,
            histories=histories,
            not_released=await _not_released(session, period, {e.code for e in entries}),
            duties=duties,
            interviews_now=interviews_now,
        )
        await session.execute(
            insert(bulletins).values(
                id=bid,
                period=str(period),
                frequency=period.frequency,
                edition=edition,
                issued_on=issued_on,
                published_at=now,
                published_by=principal.client_id,
                content=content.model_dump(mode="json"),
            )
        )
    return content


def report_due(issued_on: date, profile: PolicyProfile, cal: HolidayCalendar) -> common.Due:
    try:
        return common.due_of(issued_on, profile, cal)
    except CalendarError as exc:
        raise Problem(422, str(exc), kind="calendar-out-of-range", rule="I4", field="issued_on") from exc


async def preview(ctx: ServiceContext, period_text: str, our_city: str, now: datetime) -> Bulletin:
    """The bulletin as it would be published now, without publishing it (no duties, no events)."""
    period = _parse(period_text)
    policy = common.policy(ctx)
    async with ctx.db.reader() as session:
        last = (
            await session.execute(
                select(bulletins.c.edition, bulletins.c.content)
                .where(bulletins.c.period == str(period))
                .order_by(bulletins.c.edition.desc())
                .limit(1)
            )
        ).first()
        previously = {e["indicator"]: e["revision"] for e in last.content["entries"]} if last else {}
        rows = await _period_releases(session, period, for_update=False)
        if not rows:
            raise Problem(404, f"{period} 尚无任何指标发布", kind="nothing-to-publish", rule="I3")
        changed = {r.indicator for r in rows if previously.get(r.indicator) != r.current_revision}
        entries = await _gather(session, period, rows, changed)
        histories = await _published_histories(session, [e.code for e in entries])
        for entry in entries:
            mine = _published_rank(period, entry.revision)
            histories[entry.code] = [h for h in histories[entry.code] if h.period != period] + [mine]
            histories[entry.code].sort(key=lambda h: h.period.key)
        return _build(
            period,
            edition=(last.edition + 1) if last else 1,
            draft=True,
            issued_on=local_date(now),
            published_at=None,
            our_city=our_city,
            policy=policy,
            entries=entries,
            histories=histories,
            not_released=await _not_released(session, period, {e.code for e in entries}),
            duties={},
            interviews_now={},
        )


async def _period_releases(
    session: AsyncSession, period: domain.ReleasePeriod, *, for_update: bool
) -> list[Row[Any]]:
    t = releases_table
    query = select(t).where(t.c.period == str(period)).order_by(t.c.indicator)
    if for_update:
        query = query.with_for_update()
    return list((await session.execute(query)).all())


async def _gather(
    session: AsyncSession, period: domain.ReleasePeriod, rows: Sequence[Row[Any]], changed: set[str]
) -> list[_Release]:
    codes = [r.indicator for r in rows]
    items = {
        i.code: i
        for i in (await session.execute(select(indicators).where(indicators.c.code.in_(codes)))).all()
    }
    definitions = await common.definitions_of(session, codes)
    r = release_revisions
    revisions = {
        row.indicator: row
        for row in (
            await session.execute(
                select(r).where(
                    r.c.period == str(period),
                    tuple_(r.c.indicator, r.c.revision).in_(
                        [(x.indicator, x.current_revision) for x in rows]
                    ),
                )
            )
        ).all()
    }
    entries = []
    for row in rows:
        definition = domain.definition_for(period, definitions[row.indicator])
        if definition is None:  # catalogue changes that would uncover a recorded release are refused
            raise Problem(
                409, f"{row.indicator} 在 {period} 不在目录有效期内", kind="indicator-not-in-effect"
            )
        entries.append(
            _Release(
                code=row.indicator,
                seq=items[row.indicator].seq,
                frequency=items[row.indicator].frequency,
                definitions=definitions[row.indicator],
                definition=definition,
                revision=revisions[row.indicator],
                new_in_edition=row.indicator in changed,
            )
        )
    return sorted(entries, key=lambda e: (e.seq, e.code))


def _published_rank(period: domain.ReleasePeriod, row: Any) -> domain.PublishedRank:
    return domain.PublishedRank(period=period, rank=row.rank, grade=row.grade, low_grade=row.low_grade)


async def _published_histories(
    session: AsyncSession, codes: Sequence[str]
) -> dict[str, list[domain.PublishedRank]]:
    """Our city's published standing in every published release of each indicator, oldest first."""
    t, r = releases_table, release_revisions
    rows = (
        await session.execute(
            select(t.c.indicator, t.c.period, r.c.rank, r.c.grade, r.c.low_grade)
            .join(
                r,
                (r.c.indicator == t.c.indicator)
                & (r.c.period == t.c.period)
                & (r.c.revision == t.c.published_revision),
            )
            .where(t.c.indicator.in_(codes))
            .order_by(t.c.indicator, t.c.period_key)
        )
    ).all()
    result: dict[str, list[domain.PublishedRank]] = {code: [] for code in codes}
    for row in rows:
        result[row.indicator].append(_published_rank(domain.ReleasePeriod.parse(row.period), row))
    return result


def _ranking_published(
    bid: str, period: domain.ReleasePeriod, entry: _Release, policy: IndicatorPolicy
) -> RankingPublished:
    rev = entry.revision
    return RankingPublished(
        bulletin_id=bid,
        indicator=entry.code,
        period=str(period),
        rank=rev.rank,
        grade=rev.grade,
        cities=rev.cities,
        departments=list(entry.definition.departments),
        worse_than_threshold=domain.worse_than_threshold(rev.rank, rev.low_grade, policy),
    )


async def _reconcile_report(
    session: AsyncSession,
    entry: _Release,
    period: domain.ReleasePeriod,
    policy: IndicatorPolicy,
    bid: str,
    issued_on: date,
    due: common.Due,
    now: datetime,
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
    threshold = policy.report_when_rank_worse_than
    if domain.worse_than_threshold(rev.rank, rev.low_grade, policy):
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
                    bulletin_id=bid,
                    status="open",
                    issued_on=issued_on,
                    due_at=due.at,
                    deadline_provisional=due.provisional,
                    created_at=now,
                    **facts,
                )
            )
        else:  # still owed: the report covers the corrected figures, on the original clock
            await session.execute(update(d).where(d.c.id == live.id).values(**facts))
    elif live is not None and live.status in ("open", "overdue"):
        await session.execute(
            update(d)
            .where(d.c.id == live.id)
            .values(
                status="withdrawn",
                withdrawn_at=now,
                withdrawn_reason=WITHDRAWN_REASON.format(threshold=threshold),
            )
        )


async def _reconcile_interviews(
    ctx: ServiceContext,
    session: AsyncSession,
    entry: _Release,
    period: domain.ReleasePeriod,
    history: list[domain.PublishedRank],
    policy: IndicatorPolicy,
    bid: str,
    now: datetime,
) -> None:
    """I5: the interviews the published history calls for from this period on.

    Interviews at earlier periods cannot change: the releases before this one are as they were.
    """
    due = {
        str(d.period): d
        for d in domain.interviews_due(entry.frequency, history, policy)
        if d.period.key >= period.key
    }
    i = interviews
    live = [
        row
        for row in (
            await session.execute(
                select(i).where(i.c.indicator == entry.code, i.c.status == "required").with_for_update()
            )
        ).all()
        if domain.ReleasePeriod.parse(row.period).key >= period.key
    ]
    for row in live:
        wanted = due.pop(row.period, None)
        if wanted is None:
            await session.execute(
                update(i).where(i.c.id == row.id).values(status="withdrawn", withdrawn_at=now)
            )
        elif list(row.run) != [str(p) for p in wanted.run]:
            await session.execute(update(i).where(i.c.id == row.id).values(run=[str(p) for p in wanted.run]))
    for wanted in due.values():
        definition = domain.definition_for(wanted.period, entry.definitions) or entry.definition
        department = reference.department(definition.lead_department)
        interviewers = [department.vice_mayor, department.deputy_secretary_general]
        interview_id = f"iv-{uuid.uuid4().hex[:12]}"
        await session.execute(
            insert(i).values(
                id=interview_id,
                indicator=entry.code,
                period=str(wanted.period),
                department=department.code,
                kind=wanted.kind,
                reason=wanted.reason,
                interviewers=interviewers,
                run=[str(p) for p in wanted.run],
                bulletin_id=bid,
                status="required",
                created_at=now,
            )
        )
        await outbox.record(
            session,
            InterviewRequired(
                interview_id=interview_id,
                department=department.code,
                reason=wanted.reason,
                interviewers=interviewers,
                indicator=entry.code,
                period=str(wanted.period),
            ),
            source=ctx.source,
            topic_prefix=ctx.common.topic_prefix,
        )


async def _consequences(
    session: AsyncSession, period: domain.ReleasePeriod, codes: Sequence[str]
) -> tuple[dict[str, DutyRef], dict[str, InterviewRef]]:
    d, i = report_duties, interviews
    duties = {
        row.indicator: DutyRef(
            id=row.id,
            department=row.department,
            due_at=row.due_at.astimezone(SHANGHAI),
            deadline_provisional=row.deadline_provisional,
            reason=row.reason,
        )
        for row in (
            await session.execute(
                select(d).where(
                    d.c.period == str(period), d.c.indicator.in_(codes), d.c.status != "withdrawn"
                )
            )
        ).all()
    }
    found = {
        row.indicator: InterviewRef(
            id=row.id,
            department=row.department,
            interviewers=list(row.interviewers),
            reason=row.reason,
            run=list(row.run),
        )
        for row in (
            await session.execute(
                select(i).where(i.c.period == str(period), i.c.indicator.in_(codes), i.c.status == "required")
            )
        ).all()
    }
    return duties, found


async def _not_released(
    session: AsyncSession, period: domain.ReleasePeriod, released: set[str]
) -> list[NotReleased]:
    """Catalogue items in effect for the period that the province did not release."""
    items = (
        await session.execute(
            select(indicators).where(indicators.c.frequency == period.frequency).order_by(indicators.c.seq)
        )
    ).all()
    codes = [i.code for i in items if i.code not in released]
    definitions = await common.definitions_of(session, codes)
    missing = []
    for code in codes:
        definition = domain.definition_for(period, definitions[code])
        if definition is not None:
            missing.append(NotReleased(indicator=code, name=definition.name))
    return missing


def _build(
    period: domain.ReleasePeriod,
    *,
    edition: int,
    draft: bool,
    issued_on: date,
    published_at: datetime | None,
    our_city: str,
    policy: IndicatorPolicy,
    entries: Sequence[_Release],
    histories: dict[str, list[domain.PublishedRank]],
    not_released: list[NotReleased],
    duties: dict[str, DutyRef],
    interviews_now: dict[str, InterviewRef],
) -> Bulletin:
    built = []
    for n, entry in enumerate(entries, start=1):
        rev = entry.revision
        history = [h for h in histories[entry.code] if h.period.key <= period.key]
        previous = next((h for h in reversed(history) if h.period.key < period.key), None)
        standing = domain.standing(rev.rank, rev.low_grade, policy)
        built.append(
            BulletinEntry(
                seq=n,
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
                    DepartmentRef(code=c, name=common.department_name(c))
                    for c in entry.definition.departments
                ],
                revision=rev.revision,
                corrected=rev.revision > 1,
                new_in_edition=entry.new_in_edition,
                trend=[
                    TrendPoint(period=str(h.period), rank=h.rank, grade=h.grade)
                    for h in history[-TREND_LENGTH:]
                ],
                ranking=releases.ranking_rows(rev.ranking),
                report_duty=duties.get(entry.code),
                interview=interviews_now.get(entry.code),
            )
        )
    city = reference.city(our_city)
    title = f"{city.name}重要指标全省排名“保五争三”通报（{period.label}）"
    if edition > 1:
        title += f"（第{edition}版，含更正）"
    return Bulletin(
        id=bulletin_id(period, edition),
        period=str(period),
        period_label=period.label,
        frequency=period.frequency,
        edition=edition,
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
            not_released=len(not_released),
        ),
        entries=built,
        not_released=not_released,
    )


async def get_bulletin(ctx: ServiceContext, period_text: str, edition: int | None) -> Bulletin:
    period = _parse(period_text)
    query = select(bulletins.c.content).where(bulletins.c.period == str(period))
    if edition is not None:
        query = query.where(bulletins.c.edition == edition)
    async with ctx.db.reader() as session:
        content = (await session.execute(query.order_by(bulletins.c.edition.desc()).limit(1))).scalar()
    if content is None:
        which = f"第 {edition} 版" if edition is not None else ""
        raise Problem(404, f"{period} 的通报{which}尚未发布", kind="bulletin-not-found")
    return Bulletin.model_validate(content)


async def list_bulletins(
    ctx: ServiceContext, page: PageParams, *, frequency: str | None
) -> Page[BulletinListItem]:
    b = bulletins
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
    if page.cursor is not None:
        try:
            at, last_id = datetime.fromisoformat(str(page.cursor[0])), str(page.cursor[1])
        except (IndexError, TypeError, ValueError) as exc:
            raise Problem(400, "游标无效，请使用上一页返回的 next_cursor", kind="invalid-cursor") from exc
        query = query.where(tuple_(b.c.published_at, b.c.id) < tuple_(at, last_id))
    async with ctx.db.reader() as session:
        rows = (
            await session.execute(
                query.order_by(b.c.published_at.desc(), b.c.id.desc()).limit(page.limit + 1)
            )
        ).all()
    more = len(rows) > page.limit
    rows = rows[: page.limit]
    return Page[BulletinListItem](
        items=[
            BulletinListItem(
                id=r.id,
                period=r.period,
                frequency=r.frequency,
                edition=r.edition,
                title=r.title,
                issued_on=r.issued_on,
                published_at=r.published_at,
            )
            for r in rows
        ],
        next_cursor=encode_cursor([rows[-1].published_at.isoformat(), rows[-1].id]) if more else None,
    )
