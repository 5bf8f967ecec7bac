"""Releases (I3): all cities' values ranked, or the province's rank or grade; corrections are revisions."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from sqlalchemy import Row, Select, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from services.indicators import domain
from services.indicators.schemas import (
    CityRankView,
    ReleaseCorrection,
    ReleaseCreate,
    ReleaseSummary,
    ReleaseView,
    RevisionView,
)
from services.indicators.service import definitions
from services.indicators.tables import release_revisions, releases
from shared import reference
from shared.app import ServiceContext
from shared.auth import Principal
from shared.pagination import Keyset, Page, PageParams
from shared.periods import ReportPeriod
from shared.problems import Problem
from shared.rules import Missing

RERANK_REASON = "目录调整（I1）后按新的指标定义重新排名"


def etag(revision: int) -> str:
    return f'"r{revision}"'


def release_input(cmd: ReleaseCreate | ReleaseCorrection) -> domain.ReleaseInput:
    return domain.ReleaseInput(
        values=tuple(domain.CityValue(v.city, v.value) for v in cmd.values),
        rank=cmd.rank,
        grade=cmd.grade,
        cities=cmd.cities,
    )


def ranking_rows(data: list[dict[str, Any]]) -> list[CityRankView]:
    return [CityRankView.model_validate({**r, "city_name": reference.city(r["city"]).name}) for r in data]


def with_revision(query: Select[Any], revision: ColumnElement[Any]) -> Select[Any]:
    """``query`` on releases joined with each release's ``revision`` (current or published)."""
    t, r = releases, release_revisions
    return query.join(
        r, (r.c.indicator == t.c.indicator) & (r.c.period == t.c.period) & (r.c.revision == revision)
    )


async def _add_revision(
    session: AsyncSession,
    code: str,
    period: ReportPeriod,
    revision: int,
    release: domain.ReleaseInput,
    definition: domain.Definition,
    ranking: domain.Ranking,
    *,
    source: str | None,
    reason: str | None,
    recorded_by: str,
) -> None:
    """Store ``revision`` of a release ranked under ``definition`` and make it current."""
    standing = {f.name: getattr(ranking, f.name) for f in fields(ranking) if f.name != "table"}
    table = [
        {"city": r.city, "value": str(r.value), "published_value": str(r.published_value), "rank": r.rank}
        for r in ranking.table
    ]
    await session.execute(
        insert(release_revisions).values(
            indicator=code,
            period=str(period),
            revision=revision,
            definition_version=definition.version,
            input=release.to_json(),
            ranking=table,
            source=source,
            reason=reason,
            recorded_by=recorded_by,
            **standing,
        )
    )
    if revision > 1:
        await session.execute(
            update(releases)
            .where(releases.c.indicator == code, releases.c.period == str(period))
            .values(current_revision=revision)
        )


async def _ranked(
    session: AsyncSession,
    item: Row[Any],
    period: ReportPeriod,
    release: domain.ReleaseInput,
    our_city: str,
) -> tuple[domain.Definition, domain.Ranking]:
    """The release ranked under the definition that applies to its period (I1, I3)."""
    definition = domain.applicable_definition(
        period, (await definitions.definitions_of(session, [item.code]))[item.code]
    )
    ranking = domain.rank_release(
        item.frequency, definition, release, province=domain.province(), our_city=our_city
    )
    return definition, ranking


async def record_release(
    ctx: ServiceContext, code: str, cmd: ReleaseCreate, principal: Principal, our_city: str
) -> ReleaseView:
    release = release_input(cmd)
    try:
        async with ctx.db.transaction() as session:
            item = await definitions.indicator_row(session, code, lock="share")
            period = domain.period_for(item.frequency, cmd.period)
            ranked = await _ranked(session, item, period, release, our_city)
            if await _find(session, code, str(period)) is not None:
                raise domain.release_exists(code, period)
            await session.execute(
                insert(releases).values(
                    indicator=code, period=str(period), period_key=period.key, current_revision=1
                )
            )
            await _add_revision(
                session,
                code,
                period,
                1,
                release,
                *ranked,
                source=cmd.source,
                reason=None,
                recorded_by=principal.client_id,
            )
            return await _view(session, code, str(period))
    except IntegrityError as exc:  # recorded concurrently
        raise domain.release_exists(code, domain.parse_release_period(cmd.period)) from exc


async def correct_release(
    ctx: ServiceContext,
    code: str,
    period_text: str,
    cmd: ReleaseCorrection,
    principal: Principal,
    our_city: str,
    if_match: str | None,
) -> ReleaseView:
    """A correction is a new revision; a published one shows in the bulletin's next edition."""
    correction = release_input(cmd)
    async with ctx.db.transaction() as session:
        item = await definitions.indicator_row(session, code, lock="share")
        period = domain.period_for(item.frequency, period_text)
        release = await _release_row(session, code, str(period), for_update=True)
        _check_if_match(release.current_revision, if_match)
        current = await _revision(session, code, period, release.current_revision)
        domain.check_correction(
            correction, cmd.source, domain.ReleaseInput.from_json(current.input), current.source
        )
        ranked = await _ranked(session, item, period, correction, our_city)
        await _add_revision(
            session,
            code,
            period,
            release.current_revision + 1,
            correction,
            *ranked,
            source=cmd.source if cmd.source is not None else current.source,
            reason=cmd.reason,
            recorded_by=principal.client_id,
        )
        return await _view(session, code, str(period))


def _check_if_match(revision: int, if_match: str | None) -> None:
    """``If-Match``: a correction based on an older revision than the current one is refused."""
    if if_match is None or if_match.strip() == "*":
        return
    if etag(revision) not in [t.strip() for t in if_match.split(",")]:
        raise Problem(412, f"发布已更新为第 {revision} 版，请先重新读取", kind="precondition-failed")


async def _find(
    session: AsyncSession, code: str, period: str, *, for_update: bool = False
) -> Row[Any] | None:
    query = select(releases).where(releases.c.indicator == code, releases.c.period == period)
    if for_update:
        query = query.with_for_update()
    return (await session.execute(query)).first()


async def _release_row(
    session: AsyncSession, code: str, period: str, *, for_update: bool = False
) -> Row[Any]:
    row = await _find(session, code, period, for_update=for_update)
    if row is None:
        raise Missing(f"指标 {code} 的 {period} 发布尚未录入", kind="release-not-found")
    return row


async def _revision(session: AsyncSession, code: str, period: ReportPeriod, revision: int) -> Row[Any]:
    r = release_revisions
    return (
        await session.execute(
            select(r).where(r.c.indicator == code, r.c.period == str(period), r.c.revision == revision)
        )
    ).one()


async def get_release(ctx: ServiceContext, code: str, period_text: str) -> ReleaseView:
    async with ctx.db.reader() as session:
        item = await definitions.indicator_row(session, code)
        period = domain.period_for(item.frequency, period_text)
        return await _view(session, code, str(period))


async def _view(session: AsyncSession, code: str, period: str) -> ReleaseView:
    release = await _release_row(session, code, period)
    r = release_revisions
    rows = (
        await session.execute(
            select(r).where(r.c.indicator == code, r.c.period == period).order_by(r.c.revision)
        )
    ).all()
    revisions = [revision_view(row) for row in rows]
    return ReleaseView(
        indicator=code,
        period=period,
        frequency=domain.parse_release_period(period).frequency,
        revision=release.current_revision,
        published_revision=release.published_revision,
        published_edition=release.published_edition,
        current=revisions[release.current_revision - 1],
        revisions=revisions,
    )


def revision_view(row: Row[Any]) -> RevisionView:
    return RevisionView.of(row, ranking=ranking_rows(row.ranking), values=row.input["values"])


async def list_releases(ctx: ServiceContext, code: str, page: PageParams) -> Page[ReleaseSummary]:
    """An indicator's releases, latest period first."""
    t, r = releases, release_revisions
    keyset = Keyset(t.c.period_key)
    query = with_revision(select(t, r.c.rank, r.c.grade, r.c.cities), t.c.current_revision)
    async with ctx.db.reader() as session:
        await definitions.indicator_row(session, code)
        rows = (await session.execute(keyset.apply(query.where(t.c.indicator == code), page))).all()
    return keyset.page(rows, page, lambda row: ReleaseSummary.of(row, revision=row.current_revision))


async def recorded_of(session: AsyncSession, code: str) -> list[Row[Any]]:
    """Every recorded release of an indicator with its current revision's input, locked."""
    t, r = releases, release_revisions
    query = with_revision(select(t, r.c.input, r.c.source), t.c.current_revision)
    return list(
        (
            await session.execute(
                query.where(t.c.indicator == code).order_by(t.c.period_key).with_for_update(of=t)
            )
        ).all()
    )


async def rerank_unpublished(
    session: AsyncSession,
    item: Row[Any],
    before: list[domain.Definition],
    after: list[domain.Definition],
    recorded: list[Row[Any]],
    *,
    principal: Principal,
    our_city: str,
) -> None:
    """After a catalogue change, rank unpublished releases again under the definition now applying
    (a new revision each); the change is refused whole if one of them no longer fits (I1)."""
    for row in recorded:
        if row.published_revision is not None:
            continue
        period = domain.parse_release_period(row.period)
        release = domain.ReleaseInput.from_json(row.input)
        ranked = domain.rerank(
            item.frequency, period, before, after, release, province=domain.province(), our_city=our_city
        )
        if ranked is not None:
            await _add_revision(
                session,
                item.code,
                period,
                row.current_revision + 1,
                release,
                *ranked,
                source=row.source,
                reason=RERANK_REASON,
                recorded_by=principal.client_id,
            )
