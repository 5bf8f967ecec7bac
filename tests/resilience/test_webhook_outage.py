"""A webhook receiver that is unwell, then down, then back: every event still arrives.

The receiver first answers 503 (it records each failed attempt), then is taken down for real
(connections refused, visible only in the gateway's attempt log), then comes back on the same
port. Every event raised meanwhile is delivered, and every attempt for one event, failed or not,
carried the same ``webhook-id`` (the id the gateway shows for the delivery), with a valid
signature each time. The retry schedule is shortened with
``XN_GATEWAY_WEBHOOK_RETRY_SCHEDULE_SECONDS`` (see conftest) so the outage lasts seconds.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from shared.events import DocumentFormed
from tests.support.resilience import ResilientCluster, document
from tests.support.waiting import wait_for
from tests.support.webhooks import Receiver

pytestmark = [pytest.mark.e2e, pytest.mark.kafka]

DEPARTMENT = "gtj"
PREFIX = "湖政钩发"
EVENTS = 3
PING = "gov.efficiency.webhook-ping.v1"


FORMED = DocumentFormed.event_type()


def deliveries(http: httpx.Client, office: dict[str, str], endpoint_id: str) -> dict[str, dict[str, Any]]:
    r = http.get(f"/api/v1/webhooks/endpoints/{endpoint_id}/deliveries", headers=office)
    assert r.status_code == 200, r.text
    return {d["id"]: d for d in r.json()["items"] if d["event_type"] == FORMED}


def attempt_log(http: httpx.Client, office: dict[str, str], delivery_id: str) -> list[dict[str, Any]]:
    r = http.get(f"/api/v1/webhooks/deliveries/{delivery_id}", headers=office)
    assert r.status_code == 200, r.text
    log: list[dict[str, Any]] = r.json()["attempt_log"]
    return log


def attempts_of(receiver: Receiver, document_id: str) -> list[Any]:
    return [m for m in receiver.of_type(FORMED) if m.body["data"]["document_id"] == document_id]


def each_event_kept_one_webhook_id(
    http: httpx.Client,
    office: dict[str, str],
    receiver: Receiver,
    endpoint: dict[str, Any],
    documents: list[str],
) -> None:
    for delivery_id, delivery in deliveries(http, office, endpoint["id"]).items():
        log = attempt_log(http, office, delivery_id)
        codes = [a["status_code"] for a in log]
        assert codes[-1] == 204 and codes.count(204) == 1, codes
        assert 503 in codes and None in codes, codes
        assert codes.index(503) < codes.index(None), "unwell, then down, then back"
        seen = receiver.with_id(delivery["message_id"])
        assert len(seen) == codes.count(503) + 1, "every answered attempt carried this webhook-id"
        assert {m.body["data"]["document_id"] for m in seen} <= set(documents)
        assert len({m.body["data"]["document_id"] for m in seen}) == 1
    for document_id in documents:
        ids = {m.webhook_id for m in attempts_of(receiver, document_id)}
        assert len(ids) == 1, f"{document_id} arrived under several webhook-ids: {ids}"
        assert [m.verified_with for m in attempts_of(receiver, document_id)][-1] == [endpoint["secret"]]
    assert all(m.verified_with == [endpoint["secret"]] for m in receiver.received)


def test_receiver_down_for_a_while_still_gets_every_event_with_one_webhook_id(
    cluster: ResilientCluster, http: httpx.Client, office: dict[str, str]
) -> None:
    receiver = Receiver().start()
    try:
        r = http.post(
            "/api/v1/webhooks/endpoints", json={"url": receiver.url, "event_types": [FORMED]}, headers=office
        )
        assert r.status_code == 201, r.text
        endpoint = r.json()
        receiver.secrets.append(endpoint["secret"])
        wait_for(lambda: receiver.of_type(PING), timeout=60, what="the endpoint's ping")

        # Unwell: every attempt is answered 503.
        receiver.status = 503
        documents = []
        for serial in range(1, EVENTS + 1):
            r = http.post(
                "/api/v1/disclosure/documents", json=document(PREFIX, serial, DEPARTMENT), headers=office
            )
            assert r.status_code == 201, r.text
            documents.append(r.json()["id"])
        wait_for(
            lambda: all(len(attempts_of(receiver, d)) >= 2 for d in documents),
            timeout=60,
            what="two refused attempts of every event at the receiver",
        )

        # Down for real: attempts now fail to connect, and only the gateway knows of them.
        receiver.stop()
        wait_for(
            lambda: (
                len(found := deliveries(http, office, endpoint["id"])) == EVENTS
                and all(any(a["status_code"] is None for a in attempt_log(http, office, i)) for i in found)
            ),
            timeout=60,
            what="a refused connection in the attempt log of every delivery",
        )
        assert all(d["status"] == "pending" for d in deliveries(http, office, endpoint["id"]).values()), (
            "still being retried"
        )

        # Back on the same port, healthy.
        receiver.status = 204
        receiver.start()
        wait_for(
            lambda: all(
                d["status"] == "succeeded" for d in deliveries(http, office, endpoint["id"]).values()
            ),
            timeout=60,
            what="every delivery succeeded after the receiver returned",
        )
        each_event_kept_one_webhook_id(http, office, receiver, endpoint, documents)
    finally:
        receiver.stop()
