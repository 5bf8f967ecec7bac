"""What the coordination routes share beyond ``shared.deps``: who may call (for the descriptions),
and the ``Location`` header of a created resource."""

from __future__ import annotations

from typing import TypeVar

from fastapi import Response

T = TypeVar("T")

PRINCIPALS = (
    "身份：Bearer 令牌的 roles 与 department 声明。department 角色的 department 为部门代码（如 `jsj`）；"
    "leader 角色的 department 为领导代码（如 `dsg-urban` 分管秘书长、`vm-urban` 分管市长）；"
    "office（市政府办公室）与 supervisor（市政府督查室）可查看全部。"
)


def created(response: Response, location: str, view: T) -> T:
    """``view``, answered with the ``Location`` of what was created."""
    response.headers["Location"] = location
    return view
