"""Webhooks end to end on real Kafka: an action in each domain service reaches a subscribed
endpoint, signed as Standard Webhooks (verified with the `standardwebhooks` package), and a
receiver outage plus a gateway crash lose nothing.

Disclosure is driven through its API. For coordination, indicators and evaluation the test
publishes the CloudEvent each would publish (binary mode, on its topic, keyed by aggregate id),
as their outbox relays do.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from launcher.topology import SERVICES
from shared.events import (
    CloudEvent,
    DocumentFormed,
    EventData,
    RankingPublished,
    TaskAssigned,
    VoteCast,
    topic_for,
)
from tests.e2e.conftest import Cluster, token_for
from tests.service.test_gateway_support import Receiver, document

pytestmark = [pytest.mark.e2e, pytest.mark.kafka]

DEPARTMENT = "tyj"  # used by no other e2e module
SHORT_RETRIES = {
    "XN_GATEWAY_WEBHOOK_RETRY_SCHEDULE_SECONDS": "[0, 1, 1, 2, 2, 3, 3, 3]",
    "XN_GATEWAY_WEBHOOK_RETRY_JITTER": "0",
}


@pytest.fixture(autouse=True)
def services_up(cluster: Cluster) -> None:
    """The cluster is shared: bring back any service an earlier test left stopped."""
    for name in SERVICES:
        process = cluster[name]
        if process.exited(timeout=0) is not None:
            process.start()
            process.wait_ready()


def wait_for(check: Callable[[], Any], timeout: float = 60.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while not (result := check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached within {timeout}s")
        time.sleep(0.2)
    return result


async def publish_as(bootstrap: str, service: str, data: EventData, prefix: str) -> CloudEvent:
    """Publish ``data`` exactly as ``service``'s outbox relay would."""
    event = CloudEvent(
        source=f"/xiaoneng/{service}",
        type=data.event_type(),
        subject=data.aggregate_id(),
        data=data.model_dump(mode="json"),
    )
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True)
    await producer.start()
    try:
        await producer.send_and_wait(
            topic_for(type(data), prefix),
            value=event.kafka_value(),
            key=event.subject.encode(),
            headers=list(event.kafka_headers()),
        )
    finally:
        await producer.stop()
    return event


def create_endpoint(http: httpx.Client, headers: dict[str, str], url: str, *types: str) -> dict[str, Any]:
    r = http.post(
        "/api/v1/webhooks/endpoints", json={"url": url, "event_types": list(types)}, headers=headers
    )
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


def formed(receiver: Receiver, document_id: str) -> list[Any]:
    return [
        r
        for r in receiver.of_type(DocumentFormed.event_type())
        if r.body["data"]["document_id"] == document_id
    ]


def test_an_action_in_each_domain_service_reaches_a_subscribed_webhook(
    cluster: Cluster, http: httpx.Client
) -> None:
    office = token_for(http, "e2e-office")
    receiver = Receiver().start()
    try:
        types = [c.event_type() for c in (DocumentFormed, TaskAssigned, RankingPublished, VoteCast)]
        endpoint = create_endpoint(http, office, receiver.url, *types)
        receiver.secrets.append(endpoint["secret"])
        wait_for(lambda: receiver.of_type("gov.efficiency.webhook-ping.v1"), what="ping")

        r = http.post("/api/v1/disclosure/documents", json=document(DEPARTMENT), headers=office)
        assert r.status_code == 201, r.text
        document_id = r.json()["id"]
        now = datetime.now(UTC)
        task = TaskAssigned(
            task_id=f"item-{uuid.uuid4().hex[:8]}",
            kind="joint-item",
            parent_id=f"matter-{uuid.uuid4().hex[:8]}",
            lead_department="fgw",
            department=DEPARTMENT,
            deadline=now,
        )
        ranking = RankingPublished(
            bulletin_id=f"bulletin-{uuid.uuid4().hex[:8]}",
            indicator="m-gdp",
            period="2018-05",
            rank=6,
            cities=11,
            departments=[DEPARTMENT],
            worse_than_threshold=True,
        )
        vote = VoteCast(
            round_id=f"2018-Q{uuid.uuid4().int % 4 + 1}", receipt=f"r-{uuid.uuid4().hex[:8]}", turnout=1
        )
        sent = {
            "coordination": asyncio.run(
                publish_as(cluster.kafka.bootstrap, "coordination", task, cluster.topic_prefix)
            ),
            "indicators": asyncio.run(
                publish_as(cluster.kafka.bootstrap, "indicators", ranking, cluster.topic_prefix)
            ),
            "evaluation": asyncio.run(
                publish_as(cluster.kafka.bootstrap, "evaluation", vote, cluster.topic_prefix)
            ),
        }

        got = wait_for(lambda: formed(receiver, document_id), what="document-formed from disclosure")[0]
        assert got.verified_with == [endpoint["secret"]]
        assert got.body["data"]["department"] == DEPARTMENT
        for service, event in sent.items():
            arrived = wait_for(lambda e=event: receiver.with_id(f"msg_{e.id}"), what=f"{service}'s event")[0]
            assert arrived.verified_with == [endpoint["secret"]], service
            assert arrived.body == {
                "type": event.type,
                "timestamp": event.time.astimezone(UTC).isoformat().replace("+00:00", "Z"),
                "data": event.data,
            }
    finally:
        receiver.stop()


def test_receiver_outage_and_gateway_crash_lose_no_event_and_keep_each_webhook_id(
    cluster: Cluster, http: httpx.Client
) -> None:
    gateway = cluster["gateway"]
    gateway.stop()
    gateway.start(SHORT_RETRIES)
    gateway.wait_ready()
    receiver = Receiver().start()
    try:
        office = token_for(http, "e2e-office")
        endpoint = create_endpoint(http, office, receiver.url, DocumentFormed.event_type())
        receiver.secrets.append(endpoint["secret"])
        wait_for(lambda: receiver.of_type("gov.efficiency.webhook-ping.v1"), what="ping")
        receiver.stop()

        documents = []
        for _ in range(2):
            r = http.post("/api/v1/disclosure/documents", json=document(DEPARTMENT), headers=office)
            assert r.status_code == 201, r.text
            documents.append(r.json()["id"])

        def failed_twice() -> list[dict[str, Any]]:
            r = http.get(f"/api/v1/webhooks/endpoints/{endpoint['id']}/deliveries", headers=office)
            items = [d for d in r.json()["items"] if d["event_type"] == DocumentFormed.event_type()]
            return items if len(items) == 2 and all(d["attempts"] >= 2 for d in items) else []

        first_ids = {d["message_id"] for d in wait_for(failed_twice, what="failed attempts")}

        gateway.kill()  # a crash, not a clean stop
        r = httpx.post(
            f"{cluster['disclosure'].url}/v1/documents", json=document(DEPARTMENT), headers=office, timeout=30
        )
        assert r.status_code == 201, r.text
        documents.append(r.json()["id"])

        gateway.start(SHORT_RETRIES)
        gateway.wait_ready()
        receiver.start()
        wait_for(
            lambda: all(formed(receiver, d) for d in documents), timeout=90, what="every event delivered"
        )
        received = {
            r.body["data"]["document_id"]: r.webhook_id for r in receiver.of_type(DocumentFormed.event_type())
        }
        assert set(received) == set(documents)
        assert first_ids <= set(received.values()), "an event kept the webhook-id it first had"
        assert all(r.verified_with == [endpoint["secret"]] for r in receiver.received)
    finally:
        receiver.stop()
        gateway.stop()
        gateway.start()
        gateway.wait_ready()
