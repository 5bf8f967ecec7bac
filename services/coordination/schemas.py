"""HTTP contract of the coordination service."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class DeadlineTier(BaseModel):
    tier: Literal["routine", "complex", "beyond"] = Field(description="一般事项 / 复杂重大事项 / 超过上限")
    max_days: int | None = Field(description="最长反馈时限；为空表示无上限", examples=[3])
    unit: Literal["calendar", "working"]
    approval: Literal["vice_mayor", "mayor"] | None = Field(description="所需审批：分管市长 / 市长")
