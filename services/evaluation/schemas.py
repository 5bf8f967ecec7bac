"""HTTP contract of the evaluation service."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class Fact(BaseModel):
    event_id: str
    kind: str = Field(examples=["document-formed"])
    subject_id: str = Field(examples=["doc-3f1c2a9d@1"])
    occurred_at: datetime
    detail: dict[str, Any]


class DepartmentFacts(BaseModel):
    department: str = Field(examples=["fgw"])
    counts: dict[str, int] = Field(description="按事件种类计数", examples=[{"document-formed": 3}])
    facts: list[Fact] = Field(description="最近的事实，按发生时间倒序，分页")
    next_cursor: str | None = Field(default=None, description="下一页游标；为空表示没有更多")


class Candidate(BaseModel):
    code: str = Field(examples=["fgw"])
    name: str = Field(examples=["市发改委"])
