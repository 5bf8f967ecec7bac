"""HTTP contract of webhook endpoints and deliveries; views are read from rows (``RowModel``)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.pagination import Page
from shared.schemas import RowModel, ShanghaiInstants

DeliveryStatus = Literal["pending", "succeeded", "failed"]

_EVENT_TYPES_DESCRIPTION = (
    "只推送这些事件类型（见 `GET /api/v1/webhooks/event-types`）；为空或省略表示全部。"
    "创建时总会先推送一次 ping。"
)


class EndpointCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(
        description=(
            "接收地址（http 或 https），不得含用户信息（user:pass@）、反斜杠或空白；"
            "生产环境不允许私有、回环及内嵌这类 IPv4 的 IPv6 地址（解析后逐一检查，投递时连接检查过的地址）"
        ),
        max_length=2000,
        examples=["https://hooks.example.gov.cn/xiaoneng"],
    )
    description: str = Field(default="", max_length=500, examples=["市门户网站：文件公开同步"])
    event_types: list[str] = Field(
        default_factory=list,
        description=_EVENT_TYPES_DESCRIPTION,
        examples=[["gov.efficiency.document-formed.v1", "gov.efficiency.document-published.v1"]],
    )


class EndpointUpdate(BaseModel):
    """Fields to change; omitted fields stay as they are."""

    model_config = ConfigDict(extra="forbid")

    url: str | None = Field(default=None, max_length=2000, examples=["https://hooks.example.gov.cn/v2"])
    description: str | None = Field(default=None, max_length=500)
    event_types: list[str] | None = Field(default=None, description=_EVENT_TYPES_DESCRIPTION)
    enabled: bool | None = Field(
        default=None, description="true 重新启用已停用的端点（清除失败记录）；false 停用", examples=[True]
    )


class EndpointView(RowModel):
    id: str = Field(examples=["ep_3f1c2a9d7b5e4c1a"])
    owner: str = Field(description="所有者（API 客户端编号）", examples=["city-portal"])
    owner_roles: list[str] = Field(
        description="所有者创建（或最近一次修改）端点时令牌的角色；端点只收到这些角色可读的事件",
        examples=[["office"]],
    )
    owner_department: str | None = Field(
        default=None,
        description="所有者令牌的 department 声明（部门代码，leader 为领导代码）",
        examples=["office"],
    )
    url: str = Field(examples=["https://hooks.example.gov.cn/xiaoneng"])
    description: str
    event_types: list[str] = Field(description="事件类型过滤；空表示全部")
    enabled: bool
    disabled_reason: str | None = Field(
        default=None, description="gone（410）、sustained-failure（持续失败）或 owner（所有者停用）"
    )
    disabled_at: datetime | None = None
    failing_since: datetime | None = Field(default=None, description="本轮连续失败的开始时刻")
    created_at: datetime
    updated_at: datetime


class EndpointCreated(EndpointView):
    secret: str = Field(
        description="签名密钥（whsec_ + base64），仅用于验证签名，请妥善保存",
        examples=["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
    )


class SecretView(ShanghaiInstants):
    secret: str = Field(examples=["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"])
    previous_secret_expires_at: datetime | None = Field(
        default=None, description="轮换前的旧密钥继续签名至此时刻"
    )


class EndpointPage(Page[EndpointView]):
    """Endpoints, oldest first."""


class AttemptView(RowModel):
    attempted_at: datetime
    trigger: str = Field(description="event（事件）、resend（重发）或 recover（恢复）", examples=["event"])
    status_code: int | None = Field(default=None, examples=[503])
    error: str | None = Field(default=None, examples=["ConnectError: connection refused"])
    response_body: str | None = Field(default=None, description="响应体前 1000 个字符")
    duration_ms: int = Field(examples=[42])


class DeliveryView(RowModel):
    id: str = Field(examples=["dlv_9a1b2c3d4e5f6a7b"])
    endpoint_id: str
    message_id: str = Field(description="即 webhook-id，重试时不变", examples=["msg_2f1c9a6e"])
    event_type: str = Field(examples=["gov.efficiency.document-formed.v1"])
    status: DeliveryStatus
    attempts: int = Field(description="本轮已尝试次数")
    next_attempt_at: datetime | None = None
    last_status_code: int | None = None
    last_error: str | None = None
    created_at: datetime
    succeeded_at: datetime | None = None
    failed_at: datetime | None = None


class DeliveryDetail(DeliveryView):
    payload: str = Field(description="推送的消息体（原样，签名对象）")
    attempt_log: list[AttemptView] = Field(description="每次尝试的记录，按时间先后")


class DeliveryPage(Page[DeliveryView]):
    """An endpoint's deliveries, oldest first."""


class RecoverRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    since: datetime = Field(description="恢复此时刻以来失败的投递", examples=["2018-06-20T00:00:00+08:00"])


class RecoverResult(BaseModel):
    recovered: int = Field(description="重新排队的投递数", examples=[12])


class EventTypeView(BaseModel):
    type: str = Field(examples=["gov.efficiency.document-formed.v1"])
    summary: str
    recipients: str = Field(
        description="谁的端点收到此类事件（按端点所有者的角色与 department 声明过滤，不可读的不投递）",
        examples=[
            "市政府办公室（office）、督查室（supervisor）与管理员（admin）；事件 department 字段所指的部门"
        ],
    )
    schema_: dict[str, object] = Field(alias="schema", description="data 的 JSON Schema")

    model_config = ConfigDict(populate_by_name=True)
