"""What every use case of the indicators service shares: profile, the report due date, lookups, errors."""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from sqlalchemy import Row, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.indicators import domain
from services.indicators.tables import indicator_definitions, indicators
from shared import reference
from shared.app import ServiceContext
from shared.calendar import HolidayCalendar
from shared.deadlines import deadline, is_provisional
from shared.policy import IndicatorPolicy, PolicyProfile, load_profile
from shared.problems import Problem

# Publications and catalogue changes both read and change what is published; one at a time.
PUBLICATION_LOCK = zlib.crc32(b"indicators.publication")


def profile(ctx: ServiceContext) -> PolicyProfile:
    return load_profile(ctx.common.policy_profile)


def policy(ctx: ServiceContext) -> IndicatorPolicy:
    return profile(ctx).indicators


@dataclass(frozen=True)
class Due:
    """When a report owed from a bulletin is due (I4), and whether a provisional year decided it."""

    at: datetime
    provisional: bool


def due_of(issued_on: date, profile: PolicyProfile, cal: HolidayCalendar) -> Due:
    """I4: the report is due ``report_due`` after the bulletin's date; the same count at publication
    and when a year's holiday table changes (``CalendarError`` outside the calendar's range)."""
    at = deadline(
        issued_on,
        profile.indicators.report_due.to_limit(),
        cal,
        roll_to_working_day=profile.calendar.civil_code_rollover,
    )
    return Due(at, is_provisional(issued_on, at, cal))


def province() -> tuple[str, ...]:
    """The city codes of the province, the peers of every ranking."""
    return tuple(c.code for c in reference.cities())


def problem(exc: domain.IndicatorRuleError) -> Problem:
    status = 409 if isinstance(exc, domain.Conflict) else 422
    return Problem(status, exc.detail, kind=exc.kind, rule=exc.rule, field=exc.field)


def require_departments(codes: Sequence[str], field: str = "departments") -> None:
    for code in codes:
        try:
            reference.department(code)
        except reference.UnknownReference as exc:
            raise Problem(422, f"未知的部门代码 {code}", kind="unknown-department", field=field) from exc


def department_name(code: str) -> str:
    try:
        return reference.department(code).short_name
    except reference.UnknownReference:
        return code


def city_name(code: str) -> str:
    return reference.city(code).name


async def lock_publication(session: AsyncSession) -> None:
    await session.execute(select(func.pg_advisory_xact_lock(PUBLICATION_LOCK)))


async def indicator_row(
    session: AsyncSession, code: str, *, lock: Literal["update", "share"] | None = None
) -> Row[Any]:
    """The catalogue item; a catalogue change locks it for update, ranking a release for share,
    so a release is never ranked under a definition that is being replaced."""
    query = select(indicators).where(indicators.c.code == code)
    if lock is not None:
        query = query.with_for_update(read=lock == "share")
    row = (await session.execute(query)).first()
    if row is None:
        raise Problem(404, f"指标 {code} 不在目录中", kind="unknown-indicator")
    return row


def to_definition(row: Row[Any]) -> domain.Definition:
    return domain.Definition(
        version=row.version,
        name=row.name,
        attribute=row.attribute,
        unit=row.unit,
        precision=row.precision,
        departments=tuple(row.departments),
        effective_from=row.effective_from,
        effective_to=row.effective_to,
        grades=tuple(row.grades),
        low_grades=tuple(row.low_grades),
    )


async def definitions_of(session: AsyncSession, codes: Sequence[str]) -> dict[str, list[domain.Definition]]:
    """Every definition of the given indicators, oldest first."""
    t = indicator_definitions
    rows = (
        await session.execute(select(t).where(t.c.indicator.in_(codes)).order_by(t.c.indicator, t.c.version))
    ).all()
    result: dict[str, list[domain.Definition]] = {code: [] for code in codes}
    for row in rows:
        result[row.indicator].append(to_definition(row))
    return result
