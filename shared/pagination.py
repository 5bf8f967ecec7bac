"""Cursor pagination: ``limit`` and an opaque ``cursor`` in, ``next_cursor`` and ``Link`` out.

Every list pages by keyset (``Keyset``): the cursor holds the sort key of the last row shown, the
next page is the rows after it in the same order. One parse of a cursor, one invalid-cursor
problem, one way to read ``limit + 1`` rows and tell whether there is more.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any, Generic, Protocol, TypeVar

from fastapi import Depends, Query, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy import Select, tuple_
from sqlalchemy.sql.elements import ColumnElement

from shared.links import request_path
from shared.problems import Problem, json_too_deep

T = TypeVar("T")
R = TypeVar("R")

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(default=None, description="下一页游标；为空表示没有更多")


def encode_cursor(key: list[Any]) -> str:
    raw = json.dumps(key, ensure_ascii=False, separators=(",", ":"), default=str).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _invalid_cursor() -> Problem:
    return Problem(400, "游标无效，请使用上一页返回的 next_cursor", kind="invalid-cursor")


def decode_cursor(cursor: str) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        raw = base64.urlsafe_b64decode(padded.encode())
        # A cursor is a flat list; a deeply nested one would make json.loads raise RecursionError.
        if json_too_deep(raw):
            raise _invalid_cursor()
        key = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise _invalid_cursor() from exc
    if not isinstance(key, list):
        raise _invalid_cursor()
    return key


class PageParams(BaseModel):
    limit: int
    cursor: list[Any] | None


async def page_params(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="每页条数")] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(description="上一页返回的 next_cursor")] = None,
) -> PageParams:
    return PageParams(limit=limit, cursor=decode_cursor(cursor) if cursor else None)


class _Paged(Protocol):
    @property
    def next_cursor(self) -> str | None: ...


P = TypeVar("P", bound=_Paged)


def linked(request: Request, response: Response, page: P) -> P:
    """``page`` as the route answers it, with the ``Link`` header of the next page when there is one."""
    set_link_header(request, response, page.next_cursor)
    return page


def set_link_header(request: Request, response: Response, next_cursor: str | None) -> None:
    if next_cursor:
        # The path the client called (the gateway's), not the service's own URL behind it.
        query = request.url.include_query_params(cursor=next_cursor).query
        response.headers["Link"] = f'<{request_path(request.scope)}?{query}>; rel="next"'


PageDep = Annotated[PageParams, Depends(page_params)]


def _cursor_value(column: ColumnElement[Any], value: Any) -> Any:
    """A cursor value back in the column's Python type (what the comparison binds)."""
    python_type = column.type.python_type
    if python_type is datetime:
        return datetime.fromisoformat(str(value))
    if python_type is date:
        return date.fromisoformat(str(value))
    if python_type is int and not isinstance(value, bool):
        return int(value)
    if python_type is str:
        return str(value)
    raise TypeError(f"keyset column {column} of type {python_type} cannot be paged")


def _as_json(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date | datetime) else value


@dataclass(frozen=True)
class Keyset:
    """The sort key of a list: its columns, newest first (``descending``) or oldest first.

    The last column must make the key unique (an id). ``columns`` are read from the rows by name,
    so the query selects them (or the whole table).
    """

    columns: tuple[ColumnElement[Any], ...]
    descending: bool = True

    def __init__(self, *columns: ColumnElement[Any], descending: bool = True) -> None:
        object.__setattr__(self, "columns", columns)
        object.__setattr__(self, "descending", descending)

    def after(self, page: PageParams) -> ColumnElement[bool] | None:
        """The condition "after the cursor's row", or None on the first page."""
        if page.cursor is None:
            return None
        if len(page.cursor) != len(self.columns):
            raise _invalid_cursor()
        try:
            values = [_cursor_value(c, v) for c, v in zip(self.columns, page.cursor, strict=True)]
        except (TypeError, ValueError) as exc:
            raise _invalid_cursor() from exc
        key, last = tuple_(*self.columns), tuple_(*values)
        return key < last if self.descending else key > last

    def apply(self, query: Select[Any], page: PageParams) -> Select[Any]:
        """``query`` after the cursor, in key order, one row more than the page (to see if more follow)."""
        if (condition := self.after(page)) is not None:
            query = query.where(condition)
        order = [c.desc() if self.descending else c.asc() for c in self.columns]
        return query.order_by(*order).limit(page.limit + 1)

    def cut(self, rows: Sequence[R], page: PageParams) -> tuple[list[R], str | None]:
        """The page's rows and the cursor of the next page (None at the end)."""
        shown = list(rows[: page.limit])
        if len(rows) <= page.limit:
            return shown, None
        last = shown[-1]
        return shown, encode_cursor([_as_json(getattr(last, _name(c))) for c in self.columns])

    def page(self, rows: Sequence[Any], page: PageParams, view: Callable[[Any], T]) -> Page[T]:
        shown, cursor = self.cut(rows, page)
        return Page[T](items=[view(r) for r in shown], next_cursor=cursor)


def _name(column: ColumnElement[Any]) -> str:
    name = getattr(column, "key", None) or getattr(column, "name", None)
    if not isinstance(name, str):
        raise TypeError(f"keyset column {column} has no name")
    return name
