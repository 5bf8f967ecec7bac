"""HTTP contract of API client accounts; views are read from rows (``RowModel``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from shared.auth import Role
from shared.pagination import Page
from shared.schemas import RowModel

CLIENT_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"
# Accounts one import may hold (a round's panel is about a hundred).
MAX_IMPORT = 1000

_ROLES = "角色（任一即可通过相应检查）：office、supervisor、department、leader、evaluator、admin"
_DEPARTMENT = (
    "所代表的部门代码（市政府办公室 office、督查室 supervision 亦为部门），领导为领导代码；"
    "角色含 department 时必填"
)


class ClientCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    client_id: str = Field(
        pattern=CLIENT_ID_PATTERN,
        max_length=128,
        description="客户端编号：字母或数字开头，字母、数字、点、下划线、连字符",
        examples=["panel-2018q2-001"],
    )
    name: str = Field(min_length=1, max_length=256, examples=["评议人 001（2018 年第二季度）"])
    roles: list[Role] = Field(min_length=1, max_length=6, description=_ROLES, examples=[["evaluator"]])
    department: str | None = Field(default=None, max_length=32, description=_DEPARTMENT, examples=[None])


class ClientUpdate(BaseModel):
    """Fields to change; omitted fields stay as they are."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=256)
    roles: list[Role] | None = Field(default=None, min_length=1, max_length=6, description=_ROLES)
    department: str | None = Field(default=None, max_length=32, description=_DEPARTMENT + "；null 清除")
    enabled: bool | None = Field(
        default=None, description="false 停用（其已签发的令牌立即失效）；true 重新启用（须重新获取令牌）"
    )


class ClientView(RowModel):
    client_id: str = Field(examples=["panel-2018q2-001"])
    name: str = Field(examples=["评议人 001（2018 年第二季度）"])
    roles: list[str] = Field(examples=[["evaluator"]])
    department: str | None = Field(default=None, examples=[None])
    enabled: bool = Field(description="false 表示已停用：不能获取令牌，已签发的令牌不再有效")
    disabled_at: datetime | None = None
    token_generation: int = Field(
        description="凭证代次：更换密钥、角色、部门或停用时加一，此前签发的令牌随即失效", examples=[0]
    )
    created_at: datetime
    updated_at: datetime | None = None


class ClientCreated(ClientView):
    client_secret: str = Field(
        description="客户端密钥，仅此一次显示（只保存其散列），请妥善保存",
        examples=["Jm3wU1d0q8Yb4kq7Hc9rXgE2aL5tN6pZsV0oQyRfB1c"],
    )


class ClientSecret(BaseModel):
    client_id: str = Field(examples=["panel-2018q2-001"])
    client_secret: str = Field(
        description="新密钥，仅此一次显示", examples=["Jm3wU1d0q8Yb4kq7Hc9rXgE2aL5tN6pZsV0oQyRfB1c"]
    )


class ClientPage(Page[ClientView]):
    """Clients, oldest first."""


class ClientImport(BaseModel):
    """A round's panel accounts, or any batch of clients, imported together or not at all."""

    model_config = ConfigDict(extra="forbid")

    clients: list[dict[str, Any]] = Field(min_length=1, max_length=MAX_IMPORT)


class ImportResult(BaseModel):
    imported: int = Field(examples=[100])
    clients: list[ClientSecret] = Field(description="每个新客户端的密钥，仅此一次显示，顺序同导入")


class ImportError(BaseModel):
    row: int = Field(description="第几个账户（从 1 起；CSV 不计表头）", examples=[57])
    client_id: str | None = Field(default=None, examples=["panel-2018q2-057"])
    field: str = Field(examples=["roles"])
    message: str = Field(examples=["未知角色 judge"])


class ClientChange(RowModel):
    id: int = Field(examples=[42])
    client_id: str = Field(examples=["panel-2018q2-001"])
    action: str = Field(
        description="created、replaced、imported、updated、disabled、enabled、secret-rotated、deleted",
        examples=["disabled"],
    )
    actor: str = Field(description="操作者：管理员客户端编号，或 cli（命令行）", examples=["city-admin"])
    at: datetime
    changes: dict[str, Any] = Field(
        description="改了什么（新值；密钥只记“已更换”）", examples=[{"enabled": False}]
    )
    request_id: str | None = Field(default=None, description="该次请求的 X-Request-Id")


class ClientChangePage(Page[ClientChange]):
    """Changes, newest first."""
