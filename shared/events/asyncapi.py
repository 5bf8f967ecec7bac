"""AsyncAPI 3 document and JSON Schemas generated from the event contracts.

``python -m shared.events.asyncapi docs/`` writes ``asyncapi.json`` and one schema file per
event type (``make docs``); the gateway serves the same document at ``/asyncapi.json``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from shared.events.contracts import CONTRACTS, EventData, topic_for

_CE_HEADERS = {
    "type": "object",
    "description": "CloudEvents 1.0 attributes in Kafka binary content mode",
    "properties": {
        "ce_id": {"type": "string", "description": "事件编号，去重依据"},
        "ce_source": {"type": "string", "examples": ["/xiaoneng/disclosure"]},
        "ce_type": {"type": "string"},
        "ce_specversion": {"type": "string", "const": "1.0"},
        "ce_time": {"type": "string", "format": "date-time"},
        "ce_subject": {"type": "string", "description": "聚合编号，亦为 Kafka 消息键"},
        "content-type": {"type": "string", "const": "application/json"},
        "traceparent": {"type": "string", "description": "W3C trace context"},
    },
    "required": ["ce_id", "ce_source", "ce_type", "ce_specversion", "ce_time", "ce_subject"],
}


def json_schema(contract: type[EventData]) -> dict[str, Any]:
    schema = contract.model_json_schema(mode="serialization")
    schema["$id"] = f"urn:xiaoneng:event:{contract.event_type()}"
    schema["title"] = contract.event_type()
    schema["description"] = contract.summary
    return schema


def json_schemas() -> dict[str, dict[str, Any]]:
    return {c.event_type(): json_schema(c) for c in CONTRACTS}


def asyncapi_document(topic_prefix: str = "") -> dict[str, Any]:
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for contract in CONTRACTS:
        name = contract.event_type()
        message_id = name.replace(".", "_")
        messages[message_id] = {
            "name": name,
            "title": contract.__name__,
            "summary": contract.summary,
            "contentType": "application/json",
            "headers": _CE_HEADERS,
            "payload": json_schema(contract),
            "bindings": {"kafka": {"key": {"type": "string", "description": f"{contract.key_field}"}}},
        }
        address = topic_for(contract, topic_prefix)
        channels[name] = {
            "address": address,
            "description": f"{contract.summary}; dead letters go to '{address}.dlt'",
            "messages": {message_id: {"$ref": f"#/components/messages/{message_id}"}},
        }
        operations[f"publish_{message_id}"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{name}"},
            "messages": [{"$ref": f"#/channels/{name}/messages/{message_id}"}],
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "效能 Xiaoneng domain events",
            "version": "1.0.0",
            "description": "Domain events exchanged over Apache Kafka, CloudEvents 1.0 binary mode. "
            "Delivery is at least once; consumers deduplicate by ce_id.",
        },
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages},
    }


def write_docs(target: Path) -> list[Path]:
    target.mkdir(parents=True, exist_ok=True)
    (target / "schemas").mkdir(exist_ok=True)
    written = [target / "asyncapi.json"]
    written[0].write_text(json.dumps(asyncapi_document(), ensure_ascii=False, indent=2) + "\n")
    for name, schema in json_schemas().items():
        path = target / "schemas" / f"{name}.json"
        path.write_text(json.dumps(schema, ensure_ascii=False, indent=2) + "\n")
        written.append(path)
    return written


if __name__ == "__main__":
    for path in write_docs(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/events")):
        sys.stdout.write(f"wrote {path}\n")
