"""What the coordination routes share beyond ``shared.deps``: who may call (for the descriptions),
the headers of a created resource (``Location``) and of a page (``Link``), and the name under
which the tests fix the business clock."""

from __future__ import annotations

from typing import TypeVar

from fastapi import Request, Response

from shared.deps import business_now
from shared.pagination import Page, set_link_header

T = TypeVar("T")

# What ``NowDep`` resolves: the test support overrides it (``dependency_overrides``) to set the clock.
current_time = business_now

PRINCIPALS = (
    "身份：Bearer 令牌的 roles 与 department 声明。department 角色的 department 为部门代码（如 `jsj`）；"
    "leader 角色的 department 为领导代码（如 `dsg-urban` 分管秘书长、`vm-urban` 分管市长）；"
    "office（市政府办公室）与 supervisor（市政府督查室）可查看全部。"
)


def created(response: Response, location: str, view: T) -> T:
    """``view``, answered with the ``Location`` of what was created."""
    response.headers["Location"] = location
    return view


def linked(request: Request, response: Response, page: Page[T]) -> Page[T]:
    """``page``, answered with the ``Link`` of the next page when there is one."""
    set_link_header(request, response, page.next_cursor)
    return page
