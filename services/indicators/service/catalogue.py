"""The indicator catalogue (I1): seeded from 附件1, extended and adjusted with effective dates."""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Any

from sqlalchemy import Row, Select, and_, func, or_, select, update
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
from services.indicators.service import definitions, releases
from services.indicators.tables import indicator_definitions, indicators
from shared import reference
from shared.app import ServiceContext
from shared.auth import Principal
from shared.pagination import Keyset, Page, PageParams
from shared.periods import FREQUENCY_NAMES
from shared.rules import Conflict

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
            _definition_row(
                i.code, _seeded(i), f"000 附件1 {FREQUENCY_NAMES[i.frequency]}指标第{i.seq}项", SEEDED_BY
            )
            for i in items
            if i.code in added
        ]
        if rows:
            await session.execute(insert(indicator_definitions).values(rows))
    return len(added)


def _seeded(item: reference.Indicator) -> domain.Definition:
    return domain.Definition(
        version=1,
        name=item.name,
        attribute=item.attribute,
        unit=item.unit,
        precision=item.precision,
        departments=item.responsible_departments,
        effective_from=SEED_EFFECTIVE_FROM,
    )


def _definition_view(row: Row[Any]) -> DefinitionView:
    return DefinitionView.of(definitions.to_definition(row), note=row.note)


def _indicator(row: Row[Any]) -> Indicator:
    return Indicator.of(
        definitions.to_definition(row), code=row.code, frequency=row.frequency, seq=row.seq, note=row.note
    )


def _listing(frequency: str | None, on: date | None) -> Select[Any]:
    """Every item with the definition in effect ``on`` a day, or else its latest one (ended ones
    included: their effective_to shows it)."""
    i, d = indicators, indicator_definitions
    if on is None:
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
    return query if frequency is None else query.where(i.c.frequency == frequency)


async def list_indicators(
    ctx: ServiceContext, page: PageParams, *, frequency: str | None, on: date | None
) -> Page[Indicator]:
    i = indicators
    keyset = Keyset(i.c.frequency, i.c.seq, i.c.code, descending=False)
    async with ctx.db.reader() as session:
        rows = (await session.execute(keyset.apply(_listing(frequency, on), page))).all()
    return keyset.page(rows, page, _indicator)


async def get_indicator(ctx: ServiceContext, code: str) -> IndicatorDetail:
    async with ctx.db.reader() as session:
        return await _detail(session, code)


async def _detail(session: AsyncSession, code: str) -> IndicatorDetail:
    item = await definitions.indicator_row(session, code)
    rows = await definitions.definition_rows(session, code)
    latest = rows[-1]
    return IndicatorDetail.of(
        definitions.to_definition(latest),
        code=item.code,
        frequency=item.frequency,
        seq=item.seq,
        note=latest.note,
        definitions=[_definition_view(r) for r in rows],
    )


async def create_indicator(
    ctx: ServiceContext, cmd: IndicatorCreate, principal: Principal
) -> IndicatorDetail:
    definition = definitions.to_definition(cmd, version=1)
    domain.validate_definition(cmd.frequency, definition)
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


def _duplicate(code: str) -> Conflict:
    return Conflict(f"指标代码 {code} 已在目录中", kind="duplicate-indicator", field="code")


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
        await definitions.lock_publication(session)
        item = await definitions.indicator_row(session, code, lock="update")
        rows = await definitions.definition_rows(session, code)
        before = [definitions.to_definition(r) for r in rows]
        note = changes.pop("note", rows[-1].note)
        after, new = domain.adjust(
            item.frequency,
            before,
            changes,
            effective_from=cmd.effective_from,
            effective_to=cmd.effective_to,
            given=given,
            note_changed=note != rows[-1].note,
        )
        recorded = await releases.recorded_of(session, code)
        published = [
            domain.parse_release_period(r.period) for r in recorded if r.published_revision is not None
        ]
        field = "effective_from" if new is not None else "effective_to"
        domain.check_published_kept(before, after, published, field=field)
        await _store_timeline(session, code, before, after, new, note, principal.client_id)
        await releases.rerank_unpublished(
            session, item, before, after, recorded, principal=principal, our_city=our_city
        )
        return await _detail(session, code)


async def _store_timeline(
    session: AsyncSession,
    code: str,
    before: list[domain.Definition],
    after: list[domain.Definition],
    new: domain.Definition | None,
    note: str | None,
    recorded_by: str,
) -> None:
    """The definitions whose end moved, and the new one if the adjustment made one."""
    d = indicator_definitions
    ends = {b.version: b.effective_to for b in before}
    for definition in after:
        if definition.version in ends and ends[definition.version] != definition.effective_to:
            await session.execute(
                update(d)
                .where(d.c.indicator == code, d.c.version == definition.version)
                .values(effective_to=definition.effective_to)
            )
    if new is not None:
        await session.execute(insert(d).values(_definition_row(code, new, note, recorded_by)))


def _definition_row(code: str, d: domain.Definition, note: str | None, recorded_by: str) -> dict[str, Any]:
    row = dataclasses.asdict(d)
    for key in ("departments", "grades", "low_grades"):
        row[key] = list(row[key])
    return {"indicator": code, **row, "note": note, "recorded_by": recorded_by}
