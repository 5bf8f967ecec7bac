"""HTTP contract of the indicators service."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class Indicator(BaseModel):
    code: str = Field(examples=["m-gdp"])
    name: str = Field(examples=["地区生产总值增速"])
    frequency: Literal["monthly", "quarterly", "annual"]
    attribute: str = Field(description="指标属性（I2）", examples=["yoy_growth"])
    departments: list[str] = Field(description="责任部门代码，牵头部门在前", examples=[["fgw", "tjj"]])
