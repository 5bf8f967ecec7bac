"""HTTP contract of the disclosure service."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field


class DocumentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    document_number: str = Field(description="文号", examples=["湖政办发〔2018〕12号"], max_length=64)
    title: str = Field(
        description="标题", min_length=1, max_length=500, examples=["关于进一步加强行政效能建设的通知"]
    )
    drafting_department: str = Field(description="起草部门代码", examples=["fgw"])
    formed_on: date = Field(description="文件形成日期", examples=["2018-06-14"])


class DocumentView(BaseModel):
    id: str = Field(examples=["doc-3f1c2a9d"])
    document_number: str = Field(examples=["湖政办发〔2018〕12号"])
    title: str
    drafting_department: str
    version: int = Field(description="当前版本", examples=[1])
    formed_on: date
    deadline: datetime = Field(description="公开截止时刻（最后一日24:00，Asia/Shanghai）")
