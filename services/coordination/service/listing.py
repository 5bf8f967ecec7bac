"""Lists of coordination views, page by page (``shared.pagination.Keyset``): the filters that
apply, and a page of views each loaded from its row."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy import Row, Select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from shared.app import ServiceContext
from shared.pagination import Keyset, Page, PageParams

T = TypeVar("T")


def equal(column: ColumnElement[Any], value: Any) -> ColumnElement[bool] | None:
    """``column = value``, or no filter when the request leaves ``value`` out."""
    return None if value is None or value == "" else column == value


def applying(*conditions: ColumnElement[bool] | None) -> list[ColumnElement[bool]]:
    """The conditions that apply (None: no filter, e.g. a principal who sees everything)."""
    return [c for c in conditions if c is not None]


async def page_of(
    ctx: ServiceContext,
    keyset: Keyset,
    query: Select[Any],
    page: PageParams,
    load: Callable[[AsyncSession, Row[Any]], Awaitable[T]],
) -> Page[T]:
    """The page of ``query`` in ``keyset`` order, each row's view loaded by ``load``."""
    async with ctx.db.reader() as session:
        rows, cursor = keyset.cut((await session.execute(keyset.apply(query, page))).all(), page)
        return Page[T](items=[await load(session, r) for r in rows], next_cursor=cursor)
