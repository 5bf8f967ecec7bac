"""Releases (I3): all cities' values ranked, or the province's rank or grade; corrections are revisions."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import Row, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.indicators import domain
from services.indicators.schemas import (
    CityRankView,
    CityValueView,
    ReleaseCorrection,
    ReleaseCreate,
    ReleaseSummary,
    ReleaseView,
    RevisionView,
)
from services.indicators.service import common
from services.indicators.tables import release_revisions, releases
from shared.app import ServiceContext
from shared.auth import Principal
from shared.pagination import Page, PageParams, encode_cursor
from shared.problems import Problem
from shared.reference import Frequency

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


def _input_json(inp: domain.ReleaseInput) -> dict[str, Any]:
    return {
        "values": [{"city": v.city, "value": str(v.value)} for v in inp.values],
        "rank": inp.rank,
        "grade": inp.grade,
        "cities": inp.cities,
    }


def _input_from_json(data: dict[str, Any]) -> domain.ReleaseInput:
    return domain.ReleaseInput(
        values=tuple(domain.CityValue(v["city"], Decimal(v["value"])) for v in data["values"]),
        rank=data["rank"],
        grade=data["grade"],
        cities=data["cities"],
    )


def ranking_rows(data: list[dict[str, Any]]) -> list[CityRankView]:
    return [
        CityRankView(
            city=r["city"],
            city_name=common.city_name(r["city"]),
            value=Decimal(r["value"]),
            published_value=Decimal(r["published_value"]),
            rank=r["rank"],
        )
        for r in data
    ]


def _revision_row(
    code: str,
    period: domain.ReleasePeriod,
    revision: int,
    definition: domain.Definition,
    inp: domain.ReleaseInput,
    ranking: domain.Ranking,
    *,
    source: str | None,
    reason: str | None,
    recorded_by: str,
) -> dict[str, Any]:
    return {
        "indicator": code,
        "period": str(period),
        "revision": revision,
        "definition_version": definition.version,
        "input": _input_json(inp),
        "given": ranking.given,
        "cities": ranking.cities,
        "rank": ranking.rank,
        "grade": ranking.grade,
        "low_grade": ranking.low_grade,
        "value": ranking.value,
        "ranking": [
            {"city": r.city, "value": str(r.value), "published_value": str(r.published_value), "rank": r.rank}
            for r in ranking.table
        ],
        "source": source,
        "reason": reason,
        "recorded_by": recorded_by,
    }


def _rank(
    frequency: Frequency,
    period: domain.ReleasePeriod,
    definitions: list[domain.Definition],
    inp: domain.ReleaseInput,
    our_city: str,
) -> tuple[domain.Definition, domain.Ranking]:
    definition = domain.definition_for(period, definitions)
    if definition is None:
        raise Problem(
            422,
            f"该指标在 {period} 不在目录有效期内（目录按期末日适用的定义排名）",
            kind="indicator-not-in-effect",
            rule="I1",
            field="period",
        )
    try:
        return definition, domain.rank_release(
            frequency, definition, inp, province=common.province(), our_city=our_city
        )
    except domain.IndicatorRuleError as exc:
        raise common.problem(exc) from exc


async def record_release(
    ctx: ServiceContext, code: str, cmd: ReleaseCreate, principal: Principal, our_city: str
) -> ReleaseView:
    inp = release_input(cmd)
    try:
        async with ctx.db.transaction() as session:
            item = await common.indicator_row(session, code, lock="share")
            period = _period(item.frequency, cmd.period)
            definitions = (await common.definitions_of(session, [code]))[code]
            definition, ranking = _rank(item.frequency, period, definitions, inp, our_city)
            existing = (
                await session.execute(
                    select(releases.c.indicator).where(
                        releases.c.indicator == code, releases.c.period == str(period)
                    )
                )
            ).first()
            if existing is not None:
                raise _exists(code, period)
            await session.execute(
                insert(releases).values(
                    indicator=code, period=str(period), period_key=period.key, current_revision=1
                )
            )
            await session.execute(
                insert(release_revisions).values(
                    _revision_row(
                        code,
                        period,
                        1,
                        definition,
                        inp,
                        ranking,
                        source=cmd.source,
                        reason=None,
                        recorded_by=principal.client_id,
                    )
                )
            )
            return await _view(session, code, str(period))
    except IntegrityError as exc:  # recorded concurrently
        raise _exists(code, domain.ReleasePeriod.parse(cmd.period)) from exc


def _exists(code: str, period: domain.ReleasePeriod) -> Problem:
    return Problem(
        409,
        f"指标 {code} 的 {period} 发布已录入；如需更正请提交更正（corrections），历史版本将保留",
        kind="release-exists",
        rule="I3",
        field="period",
    )


def _period(frequency: Frequency, text: str) -> domain.ReleasePeriod:
    try:
        return domain.period_for(frequency, text)
    except domain.IndicatorRuleError as exc:
        raise common.problem(exc) from exc


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
    inp = release_input(cmd)
    async with ctx.db.transaction() as session:
        item = await common.indicator_row(session, code, lock="share")
        period = _period(item.frequency, period_text)
        release = await _release_row(session, code, period, for_update=True)
        if if_match is not None and if_match.strip() != "*":
            if etag(release.current_revision) not in [t.strip() for t in if_match.split(",")]:
                raise Problem(
                    412,
                    f"发布已更新为第 {release.current_revision} 版，请先重新读取",
                    kind="precondition-failed",
                )
        current = await _revision(session, code, period, release.current_revision)
        if _input_json(inp) == current.input and cmd.source in (None, current.source):
            raise Problem(
                422, "更正内容与当前版本相同", kind="correction-unchanged", rule="I3", field="values"
            )
        definitions = (await common.definitions_of(session, [code]))[code]
        definition, ranking = _rank(item.frequency, period, definitions, inp, our_city)
        revision = release.current_revision + 1
        await session.execute(
            insert(release_revisions).values(
                _revision_row(
                    code,
                    period,
                    revision,
                    definition,
                    inp,
                    ranking,
                    source=cmd.source if cmd.source is not None else current.source,
                    reason=cmd.reason,
                    recorded_by=principal.client_id,
                )
            )
        )
        await session.execute(
            update(releases)
            .where(releases.c.indicator == code, releases.c.period == str(period))
            .values(current_revision=revision)
        )
        return await _view(session, code, str(period))


async def _release_row(
    session: AsyncSession, code: str, period: domain.ReleasePeriod, *, for_update: bool = False
) -> Row[Any]:
    query = select(releases).where(releases.c.indicator == code, releases.c.period == str(period))
    if for_update:
        query = query.with_for_update()
    row = (await session.execute(query)).first()
    if row is None:
        raise Problem(404, f"指标 {code} 的 {period} 发布尚未录入", kind="release-not-found")
    return row


async def _revision(
    session: AsyncSession, code: str, period: domain.ReleasePeriod, revision: int
) -> Row[Any]:
    r = release_revisions
    return (
        await session.execute(
            select(r).where(r.c.indicator == code, r.c.period == str(period), r.c.revision == revision)
        )
    ).one()


async def get_release(ctx: ServiceContext, code: str, period_text: str) -> ReleaseView:
    async with ctx.db.reader() as session:
        item = await common.indicator_row(session, code)
        period = _period(item.frequency, period_text)
        return await _view(session, code, str(period))


async def _view(session: AsyncSession, code: str, period: str) -> ReleaseView:
    release = (
        await session.execute(
            select(releases).where(releases.c.indicator == code, releases.c.period == period)
        )
    ).first()
    if release is None:
        raise Problem(404, f"指标 {code} 的 {period} 发布尚未录入", kind="release-not-found")
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
        frequency=domain.ReleasePeriod.parse(period).frequency,
        revision=release.current_revision,
        published_revision=release.published_revision,
        published_edition=release.published_edition,
        current=revisions[release.current_revision - 1],
        revisions=revisions,
    )


def revision_view(row: Row[Any]) -> RevisionView:
    return RevisionView(
        revision=row.revision,
        definition_version=row.definition_version,
        given=row.given,
        cities=row.cities,
        rank=row.rank,
        grade=row.grade,
        low_grade=row.low_grade,
        value=row.value,
        ranking=ranking_rows(row.ranking),
        values=[CityValueView(city=v["city"], value=Decimal(v["value"])) for v in row.input["values"]],
        source=row.source,
        reason=row.reason,
        recorded_by=row.recorded_by,
        recorded_at=row.recorded_at,
    )


async def list_releases(ctx: ServiceContext, code: str, page: PageParams) -> Page[ReleaseSummary]:
    """An indicator's releases, latest period first."""
    t, r = releases, release_revisions
    query = (
        select(t, r.c.rank, r.c.grade, r.c.cities)
        .join(
            r,
            (r.c.indicator == t.c.indicator)
            & (r.c.period == t.c.period)
            & (r.c.revision == t.c.current_revision),
        )
        .where(t.c.indicator == code)
    )
    if page.cursor is not None:
        try:
            key = int(page.cursor[0])
        except (IndexError, TypeError, ValueError) as exc:
            raise Problem(400, "游标无效，请使用上一页返回的 next_cursor", kind="invalid-cursor") from exc
        query = query.where(t.c.period_key < key)
    async with ctx.db.reader() as session:
        await common.indicator_row(session, code)
        rows = (await session.execute(query.order_by(t.c.period_key.desc()).limit(page.limit + 1))).all()
    more = len(rows) > page.limit
    rows = rows[: page.limit]
    return Page[ReleaseSummary](
        items=[
            ReleaseSummary(
                indicator=row.indicator,
                period=row.period,
                revision=row.current_revision,
                published_revision=row.published_revision,
                rank=row.rank,
                grade=row.grade,
                cities=row.cities,
            )
            for row in rows
        ],
        next_cursor=encode_cursor([rows[-1].period_key]) if more else None,
    )


async def recorded_of(session: AsyncSession, code: str) -> list[Row[Any]]:
    """Every recorded release of an indicator with its current revision's input, locked."""
    t, r = releases, release_revisions
    return list(
        (
            await session.execute(
                select(t, r.c.input, r.c.source)
                .join(
                    r,
                    (r.c.indicator == t.c.indicator)
                    & (r.c.period == t.c.period)
                    & (r.c.revision == t.c.current_revision),
                )
                .where(t.c.indicator == code)
                .order_by(t.c.period_key)
                .with_for_update(of=t)
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
    """After a catalogue change, rank unpublished releases again under the definition now applying.

    A release the catalogue no longer covers, or whose input the new definition refuses (e.g. a
    grade no longer on the scale), makes the change a conflict: it is refused as a whole.
    """
    for row in recorded:
        if row.published_revision is not None:
            continue
        period = domain.ReleasePeriod.parse(row.period)
        new = domain.definition_for(period, after)
        old = domain.definition_for(period, before)
        if (new.version if new else None) == (old.version if old else None):
            continue
        if new is None:
            raise Problem(
                409,
                f"{period} 的发布已录入，调整后该期不在目录有效期内",
                kind="recorded-release-not-covered",
                rule="I1",
            )
        inp = _input_from_json(row.input)
        try:
            ranking = domain.rank_release(
                item.frequency, new, inp, province=common.province(), our_city=our_city
            )
        except domain.IndicatorRuleError as exc:
            raise Problem(
                409, f"{period} 的已录入发布不符合调整后的定义：{exc.detail}", kind=exc.kind, rule=exc.rule
            ) from exc
        revision = row.current_revision + 1
        await session.execute(
            insert(release_revisions).values(
                _revision_row(
                    item.code,
                    period,
                    revision,
                    new,
                    inp,
                    ranking,
                    source=row.source,
                    reason=RERANK_REASON,
                    recorded_by=principal.client_id,
                )
            )
        )
        await session.execute(
            update(releases)
            .where(releases.c.indicator == item.code, releases.c.period == row.period)
            .values(current_revision=revision)
        )
