"""The event types a webhook endpoint can receive: every domain event contract, and the ping."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from services.gateway.webhooks import visibility
from shared.events import CONTRACTS
from shared.events.asyncapi import json_schema

PING_TYPE = "gov.efficiency.webhook-ping.v1"


class Ping(BaseModel):
    """Sent once to a new endpoint, so its owner sees signatures verify before real events flow."""

    model_config = ConfigDict(extra="forbid")

    endpoint_id: str = Field(description="新建的端点编号", examples=["ep_3f1c2a9d7b5e4c1a"])
    message: str = Field(description="说明", examples=["效能 Xiaoneng webhook 端点已创建"])


@dataclass(frozen=True)
class WebhookEventType:
    type: str
    summary: str
    description: str
    recipients: str
    data_schema: dict[str, Any]


def webhook_event_types() -> list[WebhookEventType]:
    types = [
        WebhookEventType(
            type=c.event_type(),
            summary=c.summary,
            # The OpenAPI ``webhooks`` section shows the description: say there who receives it.
            description=f"{(c.__doc__ or c.summary).strip()}\n\n接收方：{recipients}",
            recipients=recipients,
            data_schema=json_schema(c),
        )
        for c in CONTRACTS
        for recipients in [visibility.describe(c.event_type())]
    ]
    types.append(
        WebhookEventType(
            type=PING_TYPE,
            summary="端点连通测试（创建端点时发送）",
            description=f"{(Ping.__doc__ or '').strip()}\n\n接收方：{visibility.PING_RECIPIENTS}",
            recipients=visibility.PING_RECIPIENTS,
            data_schema=Ping.model_json_schema(mode="serialization"),
        )
    )
    return types


def subscribable_types() -> set[str]:
    """Types an endpoint may filter on (the ping always goes to a new endpoint)."""
    return {c.event_type() for c in CONTRACTS}
