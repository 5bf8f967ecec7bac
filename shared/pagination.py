"""Cursor pagination: ``limit`` and an opaque ``cursor`` in, ``next_cursor`` and ``Link`` out."""

from __future__ import annotations

import base64
import json
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query, Request, Response
from pydantic import BaseModel, Field

from shared.problems import Problem, json_too_deep

T = TypeVar("T")

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


def page_params(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="每页条数")] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(description="上一页返回的 next_cursor")] = None,
) -> PageParams:
    return PageParams(limit=limit, cursor=decode_cursor(cursor) if cursor else None)


def set_link_header(request: Request, response: Response, next_cursor: str | None) -> None:
    if next_cursor:
        url = request.url.include_query_params(cursor=next_cursor)
        response.headers["Link"] = f'<{url}>; rel="next"'
