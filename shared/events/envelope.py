"""The CloudEvents 1.0 envelope and its Kafka binary content mode.

On Kafka the attributes travel as ``ce_*`` headers, ``content-type`` is ``application/json``,
the value is the event data as JSON and the key is the aggregate id (per-aggregate order).
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from shared.clock import utc_now
from shared.deadlines import local

SPEC_VERSION = "1.0"
TYPE_PREFIX = "gov.efficiency."

Headers = tuple[tuple[str, bytes], ...]


class CloudEvent(BaseModel):
    """A domain event as it travels between services."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(default_factory=lambda: str(uuid.uuid4()))
    source: str
    type: str
    specversion: str = SPEC_VERSION
    time: datetime = Field(default_factory=lambda: local(utc_now()))
    subject: str
    datacontenttype: str = "application/json"
    data: dict[str, Any]
    traceparent: str | None = None

    def kafka_headers(self) -> Headers:
        headers = [
            ("ce_id", self.id),
            ("ce_source", self.source),
            ("ce_type", self.type),
            ("ce_specversion", self.specversion),
            ("ce_time", local(self.time).isoformat()),
            ("ce_subject", self.subject),
            ("content-type", self.datacontenttype),
        ]
        if self.traceparent:
            headers.append(("traceparent", self.traceparent))
        return tuple((k, v.encode()) for k, v in headers)

    def kafka_value(self) -> bytes:
        return json.dumps(self.data, ensure_ascii=False, separators=(",", ":")).encode()

    @classmethod
    def from_kafka(cls, headers: Headers, value: bytes) -> CloudEvent:
        """Rebuild an event from binary-mode headers; raises ``ValueError`` on a malformed one."""
        h = {k: v.decode() for k, v in headers}
        missing = [k for k in ("ce_id", "ce_source", "ce_type", "ce_subject") if k not in h]
        if missing:
            raise ValueError(f"missing CloudEvents headers: {', '.join(missing)}")
        data = json.loads(value)
        if not isinstance(data, dict):
            raise ValueError("event data must be a JSON object")
        return cls(
            id=h["ce_id"],
            source=h["ce_source"],
            type=h["ce_type"],
            specversion=h.get("ce_specversion", SPEC_VERSION),
            time=datetime.fromisoformat(h["ce_time"]) if "ce_time" in h else utc_now(),
            subject=h["ce_subject"],
            datacontenttype=h.get("content-type", "application/json"),
            data=data,
            traceparent=h.get("traceparent"),
        )
