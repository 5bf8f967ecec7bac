"""Event contracts and the CloudEvents envelope in Kafka binary content mode."""

from __future__ import annotations

import json
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from shared.events import CONTRACTS, CloudEvent, DocumentFormed, VoteCast, topic_for
from shared.events.asyncapi import asyncapi_document, json_schemas

SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_event_types_are_versioned_and_named_by_the_design() -> None:
    names = {c.event_name for c in CONTRACTS}
    assert {"document-formed", "task-assigned", "deadline-passed", "ranking-published", "vote-cast"} <= names
    assert DocumentFormed.event_type() == "gov.efficiency.document-formed.v1"
    assert topic_for(DocumentFormed, "city-a.") == "city-a.gov.efficiency.document-formed.v1"


def test_cloudevent_round_trips_through_kafka_headers() -> None:
    data = DocumentFormed(
        document_id="doc-1",
        version=2,
        department="fgw",
        document_number="湖政办发〔2018〕12号",
        title="关于优化营商环境的通知",
        formed_on=date(2018, 6, 14),
        deadline=datetime(2018, 6, 25, tzinfo=SHANGHAI),
    )
    event = CloudEvent(
        source="/xiaoneng/disclosure",
        type=data.event_type(),
        subject=data.aggregate_id(),
        data=data.model_dump(mode="json"),
        traceparent="00-" + "a" * 32 + "-" + "b" * 16 + "-01",
    )
    headers = dict(event.kafka_headers())
    assert headers["ce_type"] == b"gov.efficiency.document-formed.v1"
    assert headers["ce_subject"] == b"doc-1"
    assert headers["content-type"] == b"application/json"
    assert json.loads(event.kafka_value())["title"] == "关于优化营商环境的通知"
    back = CloudEvent.from_kafka(event.kafka_headers(), event.kafka_value())
    assert back == event
    assert DocumentFormed.model_validate(back.data) == data


def test_malformed_message_is_refused() -> None:
    with pytest.raises(ValueError, match="ce_id"):
        CloudEvent.from_kafka((("ce_type", b"x"),), b"{}")


def test_E5_vote_cast_contract_has_no_evaluator_choice_or_ordinal_fields() -> None:
    fields = set(VoteCast.model_fields)
    assert fields == {"round_id", "tracker"}
    assert VoteCast.event_type() == "gov.efficiency.vote-cast.v2"


def test_every_contract_has_examples_and_a_json_schema() -> None:
    schemas = json_schemas()
    for contract in CONTRACTS:
        schema = schemas[contract.event_type()]
        assert schema["type"] == "object"
        for name, prop in schema["properties"].items():
            assert "examples" in prop, f"{contract.event_type()}.{name} has no example"


def test_asyncapi_document_lists_a_channel_per_contract() -> None:
    doc = asyncapi_document()
    assert doc["asyncapi"].startswith("3.")
    assert set(doc["channels"]) == {c.event_type() for c in CONTRACTS}
    channel = doc["channels"]["gov.efficiency.vote-cast.v2"]
    assert channel["address"] == "gov.efficiency.vote-cast.v2"
    assert doc["components"]["messages"]


def test_committed_event_docs_are_current() -> None:
    """`make docs` output is committed; a contract change must regenerate it."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "docs" / "events"
    assert json.loads((root / "asyncapi.json").read_text()) == json.loads(json.dumps(asyncapi_document()))
    for name, schema in json_schemas().items():
        assert json.loads((root / "schemas" / f"{name}.json").read_text()) == schema, (
            f"run make docs ({name})"
        )
