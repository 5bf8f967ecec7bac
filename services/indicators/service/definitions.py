"""What the use cases read alike: a catalogue item and its effective-dated definitions, a row a
request names (or 404), and the lock that puts publications and catalogue changes in order."""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import fields
from typing import Any, Literal

from sqlalchemy import Row, Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.indicators import domain
from services.indicators.tables import indicator_definitions, indicators
from shared.rules import Missing

# Publications and catalogue changes both read and change what is published; one at a time.
PUBLICATION_LOCK = zlib.crc32(b"indicators.publication")


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
    return await first_or(session, query, Missing(f"指标 {code} 不在目录中", kind="unknown-indicator"))


def to_definition(source: Any, *, version: int | None = None) -> domain.Definition:
    """The definition a stored row holds, or a request that names the same fields (``version``
    then given): the definition's fields read by name, its lists as tuples."""
    values = {f.name: getattr(source, f.name) for f in fields(domain.Definition) if f.name != "version"}
    values.update({name: tuple(values[name]) for name in ("departments", "grades", "low_grades")})
    return domain.Definition(version=source.version if version is None else version, **values)


async def first_or(session: AsyncSession, query: Select[Any], missing: Missing) -> Row[Any]:
    """The row ``query`` names, or the ``missing`` refusal (404)."""
    row: Row[Any] | None = (await session.execute(query)).first()
    if row is None:
        raise missing
    return row


async def definition_rows(session: AsyncSession, code: str) -> list[Row[Any]]:
    """Every definition of one indicator, oldest first."""
    d = indicator_definitions
    return list((await session.execute(select(d).where(d.c.indicator == code).order_by(d.c.version))).all())


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
