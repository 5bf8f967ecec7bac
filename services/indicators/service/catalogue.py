"""The indicator catalogue (I1): seeded from 附件1, extended and adjusted with effective dates."""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Any

from sqlalchemy import Row, and_, func, or_, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.indicators import domain
from services.indicators.schemas import (
    DefinitionView,
    Indicator,
    IndicatorAdjust,
    IndicatorCreate,
    IndicatorDetail,
)
from services.indicators.service import common, releases
from services.indicators.tables import indicator_definitions, indicators
from shared import reference
from shared.app import ServiceContext
from shared.auth import Principal
from shared.pagination import Page, PageParams, encode_cursor
from shared.problems import Problem
from shared.reference import Frequency

SEED_EFFECTIVE_FROM = date(2018, 1, 1)
"""When the seeded 附件1 list takes effect. The notice (2018-05-10) governs the rankings of 2018:
monthly and quarterly figures are cumulative from January (月度累计), so every 2018 period counts."""

SEEDED_BY = "reference:000-附件1"

_DEFINITION_FIELDS = ("name", "attribute", "unit", "precision", "departments", "grades", "low_grades", "note")


async def seed_catalogue(ctx: ServiceContext) -> int:
    """Add the reference catalogue's items that are not in the database yet; returns how many.

    Idempotent and safe to run from several replicas at once: an item already present (even if
    the office has adjusted or ended it since) is left alone.
    """
    items = reference.indicators()
    async with ctx.db.transaction() as session:
        added = set(
            (
                await session.execute(
                    insert(indicators)
                    .values(
                        [
                            {"code": i.code, "frequency": i.frequency, "seq": i.seq, "created_by": SEEDED_BY}
                            for i in items
                        ]
                    )
                    .on_conflict_do_nothing()
                    .returning(indicators.c.code)
                )
            ).scalars()
        )
        rows = [
            {
                "indicator": i.code,
                "version": 1,
                "name": i.name,
                "attribute": i.attribute,
                "unit": i.unit,
                "precision": i.precision,
                "departments": list(i.responsible_departments),
                "grades": [],
                "low_grades": [],
                "effective_from": SEED_EFFECTIVE_FROM,
                "effective_to": None,
                "note": f"000 附件1 {domain.FREQUENCY_LABELS[i.frequency]}指标第{i.seq}项",
                "recorded_by": SEEDED_BY,
            }
            for i in items
            if i.code in added
        ]
        if rows:
            await session.execute(insert(indicator_definitions).values(rows))
    return len(added)


def definition_view(d: domain.Definition, note: str | None = None) -> DefinitionView:
    return DefinitionView(
        version=d.version,
        name=d.name,
        attribute=d.attribute,
        attribute_label=d.attribute_label,
        unit=d.unit,
        precision=d.precision,
        departments=list(d.departments),
        lead_department=d.lead_department,
        grades=list(d.grades),
        low_grades=list(d.low_grades),
        effective_from=d.effective_from,
        effective_to=d.effective_to,
        note=note,
    )


def _indicator(row: Row[Any]) -> Indicator:
    d = common.to_definition(row)
    return Indicator(
        code=row.code, frequency=row.frequency, seq=row.seq, **definition_view(d, row.note).model_dump()
    )


async def list_indicators(
    ctx: ServiceContext, page: PageParams, *, frequency: str | None, on: date | None
) -> Page[Indicator]:
    i, d = indicators, indicator_definitions
    if on is None:
        # The latest definition of every item, ended ones included (their effective_to shows it).
        latest = (
            select(d.c.indicator, func.max(d.c.version).label("version")).group_by(d.c.indicator).subquery()
        )
        chosen = and_(d.c.indicator == latest.c.indicator, d.c.version == latest.c.version)
        query = select(i, d).join(latest, latest.c.indicator == i.c.code).join(d, chosen)
    else:
        in_effect = and_(
            d.c.indicator == i.c.code,
            d.c.effective_from <= on,
            or_(d.c.effective_to.is_(None), d.c.effective_to >= on),
        )
        query = select(i, d).join(d, in_effect)
    if frequency is not None:
        query = query.where(i.c.frequency == frequency)
    if page.cursor is not None:
        try:
            after = (str(page.cursor[0]), int(page.cursor[1]), str(page.cursor[2]))
        except (IndexError, TypeError, ValueError) as exc:
            raise Problem(400, "游标无效，请使用上一页返回的 next_cursor", kind="invalid-cursor") from exc
        query = query.where(tuple_(i.c.frequency, i.c.seq, i.c.code) > after)
    async with ctx.db.reader() as session:
        rows = (
            await session.execute(query.order_by(i.c.frequency, i.c.seq, i.c.code).limit(page.limit + 1))
        ).all()
    more = len(rows) > page.limit
    rows = rows[: page.limit]
    return Page[Indicator](
        items=[_indicator(r) for r in rows],
        next_cursor=encode_cursor([rows[-1].frequency, rows[-1].seq, rows[-1].code]) if more else None,
    )


async def get_indicator(ctx: ServiceContext, code: str) -> IndicatorDetail:
    async with ctx.db.reader() as session:
        return await _detail(session, code)


async def _detail(session: AsyncSession, code: str) -> IndicatorDetail:
    item = await common.indicator_row(session, code)
    d = indicator_definitions
    rows = (await session.execute(select(d).where(d.c.indicator == code).order_by(d.c.version))).all()
    latest = rows[-1]
    return IndicatorDetail(
        code=item.code,
        frequency=item.frequency,
        seq=item.seq,
        **definition_view(common.to_definition(latest), latest.note).model_dump(),
        definitions=[definition_view(common.to_definition(r), r.note) for r in rows],
    )


async def create_indicator(
    ctx: ServiceContext, cmd: IndicatorCreate, principal: Principal
) -> IndicatorDetail:
    definition = domain.Definition(
        version=1,
        name=cmd.name,
        attribute=cmd.attribute,
        unit=cmd.unit,
        precision=cmd.precision,
        departments=tuple(cmd.departments),
        effective_from=cmd.effective_from,
        effective_to=cmd.effective_to,
        grades=tuple(cmd.grades),
        low_grades=tuple(cmd.low_grades),
    )
    _check(cmd.frequency, definition)
    try:
        async with ctx.db.transaction() as session:
            if (
                await session.execute(select(indicators.c.code).where(indicators.c.code == cmd.code))
            ).first():
                raise _duplicate(cmd.code)
            seq = (
                await session.execute(
                    select(func.coalesce(func.max(indicators.c.seq), 0) + 1).where(
                        indicators.c.frequency == cmd.frequency
                    )
                )
            ).scalar_one()
            await session.execute(
                insert(indicators).values(
                    code=cmd.code, frequency=cmd.frequency, seq=seq, created_by=principal.client_id
                )
            )
            await session.execute(
                insert(indicator_definitions).values(
                    _definition_row(cmd.code, definition, cmd.note, principal.client_id)
                )
            )
            return await _detail(session, cmd.code)
    except IntegrityError as exc:  # the same code added concurrently
        raise _duplicate(cmd.code) from exc


def _duplicate(code: str) -> Problem:
    return Problem(409, f"指标代码 {code} 已在目录中", kind="duplicate-indicator", field="code")


async def adjust_indicator(
    ctx: ServiceContext, code: str, cmd: IndicatorAdjust, principal: Principal, our_city: str
) -> IndicatorDetail:
    """I1 动态调整: a new definition from a date, or the end of the current one.

    Refused when it would change the definition a published release was ranked under; releases
    recorded but not yet published are ranked again under their new definition.
    """
    given = cmd.model_fields_set
    changes = {f: getattr(cmd, f) for f in _DEFINITION_FIELDS if f in given}
    async with ctx.db.transaction() as session:
        await common.lock_publication(session)
        item = await common.indicator_row(session, code, lock="update")
        d = indicator_definitions
        rows = (await session.execute(select(d).where(d.c.indicator == code).order_by(d.c.version))).all()
        before = [common.to_definition(r) for r in rows]
        latest_row = rows[-1]
        note = changes.pop("note", latest_row.note)
        try:
            after, new = _plan(item.frequency, before, cmd, changes, given, bool(note != latest_row.note))
        except domain.IndicatorRuleError as exc:
            raise common.problem(exc) from exc
        recorded = await releases.recorded_of(session, code)
        published = [
            domain.ReleasePeriod.parse(r.period) for r in recorded if r.published_revision is not None
        ]
        rewritten = domain.rewritten_periods(before, after, published)
        if rewritten:
            periods = "、".join(str(p) for p in rewritten)
            raise Problem(
                409,
                f"该调整会改变已通报的 {periods} 发布所依据的指标定义；调整须在最后一期已通报发布之后生效",
                kind="published-release-would-change",
                rule="I1",
                field="effective_from" if new is not None else "effective_to",
            )
        for definition in after:
            old = next((b for b in before if b.version == definition.version), None)
            if old is not None and old.effective_to != definition.effective_to:
                await session.execute(
                    update(d)
                    .where(d.c.indicator == code, d.c.version == definition.version)
                    .values(effective_to=definition.effective_to)
                )
        if new is not None:
            await session.execute(insert(d).values(_definition_row(code, new, note, principal.client_id)))
        await releases.rerank_unpublished(
            session, item, before, after, recorded, principal=principal, our_city=our_city
        )
        return await _detail(session, code)


def _plan(
    frequency: Frequency,
    before: list[domain.Definition],
    cmd: IndicatorAdjust,
    changes: dict[str, Any],
    given: set[str],
    note_changed: bool,
) -> tuple[list[domain.Definition], domain.Definition | None]:
    latest = before[-1]
    if changes or note_changed:
        if cmd.effective_from is None:
            raise domain.InvalidInput(
                "调整指标定义须给出生效日期 effective_from",
                kind="effective-from-required",
                rule="I1",
                field="effective_from",
            )
        if "effective_to" in given:
            effective_to = cmd.effective_to
        elif latest.effective_to is not None and latest.effective_to >= cmd.effective_from:
            effective_to = latest.effective_to
        else:
            effective_to = None
        for key in ("name", "unit", "precision", "departments"):
            if key in changes and changes[key] is None:
                raise domain.InvalidInput(f"{key} 不能为空", kind="invalid-definition", rule="I1", field=key)
        for key in ("departments", "grades", "low_grades"):
            if key in changes:
                changes[key] = tuple(changes[key] or ())
        new = dataclasses.replace(
            latest,
            version=max(b.version for b in before) + 1,
            effective_from=cmd.effective_from,
            effective_to=effective_to,
            **changes,
        )
        _check(frequency, new)
        return domain.succeed(before, new), new
    if "effective_to" in given and "effective_from" not in given:
        return domain.end_latest(before, cmd.effective_to), None
    raise domain.InvalidInput(
        "没有要调整的内容：给出要变更的字段及生效日期，或只给出失效日期 effective_to",
        kind="nothing-to-change",
        rule="I1",
    )


def _check(frequency: Frequency, definition: domain.Definition) -> None:
    try:
        domain.validate_definition(frequency, definition)
    except domain.IndicatorRuleError as exc:
        raise common.problem(exc) from exc
    common.require_departments(definition.departments)


def _definition_row(code: str, d: domain.Definition, note: str | None, recorded_by: str) -> dict[str, Any]:
    return {
        "indicator": code,
        "version": d.version,
        "name": d.name,
        "attribute": d.attribute,
        "unit": d.unit,
        "precision": d.precision,
        "departments": list(d.departments),
        "grades": list(d.grades),
        "low_grades": list(d.low_grades),
        "effective_from": d.effective_from,
        "effective_to": d.effective_to,
        "note": note,
        "recorded_by": recorded_by,
    }
