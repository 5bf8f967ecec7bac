"""Webhooks end to end on real Kafka: an action in each domain service reaches a subscribed
endpoint, signed as Standard Webhooks (verified with the `standardwebhooks` package), and a
receiver outage plus a gateway crash lose nothing.

Each domain service is driven through the gateway's API: a document registered, a joint matter
opened, a month's ranking published, a ballot cast.
"""

from __future__ import annotations

import asyncio
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from launcher.topology import SERVICES
from shared import reference
from shared.clock import utc_now
from shared.deadlines import local_date
from shared.events import (
    DocumentFormed,
    RankingPublished,
    TaskAssigned,
    VoteCast,
)
from shared.settings import CommonSettings
from tests.support.clusters import Cluster, token_for
from tests.support.evaluation import panel_of, register_evaluators, with_election_key
from tests.support.gateway import document
from tests.support.waiting import wait_for
from tests.support.webhooks import Receiver

pytestmark = [pytest.mark.e2e, pytest.mark.kafka]

SHANGHAI = ZoneInfo("Asia/Shanghai")
DEPARTMENT = "tyj"  # evaluation's e2e uses tyj only for 2016-Q2 facts; nothing here counts them
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


def open_joint_matter(http: httpx.Client, office: dict[str, str]) -> str:
    """Coordination: a routine joint matter with one item for DEPARTMENT; returns the item id."""
    today = local_date(utc_now()).isoformat()
    body = {
        "lead_department": "fgw",
        "basis": "市政府常务会议纪要（webhook 端到端测试）",
        "main_matter": "重点项目前期工作",
        "assigned_on": today,
        "items": [{"department": DEPARTMENT, "content": "提供项目意见"}],
        "contact_person": "王明",
        "contact_phone": "0572-2222222",
    }
    r = http.post("/api/v1/coordination/joint-matters", json=body, headers=office)
    assert r.status_code == 201, r.text
    item_id: str = r.json()["items"][0]["id"]
    return item_id


def publish_a_month(http: httpx.Client, office: dict[str, str]) -> tuple[str, str]:
    """Indicators: record every city's value of one monthly indicator and publish the bulletin."""
    code, period = reference.indicators("monthly")[0].code, "2020-02"
    values = [{"city": c.code, "value": f"{20 - n}.0"} for n, c in enumerate(reference.cities())]
    r = http.post(
        f"/api/v1/indicators/indicators/{code}/releases",
        json={"period": period, "values": values, "source": "省统计局"},
        headers=office,
    )
    assert r.status_code == 201, r.text
    r = http.post(
        f"/api/v1/indicators/bulletins/{period}/editions", json={"issued_on": "2020-03-16"}, headers=office
    )
    assert r.status_code == 201, r.text
    return code, period


async def election_key(cluster: Cluster, quarter: str) -> None:
    """Three trustees (tokens signed with the deployment's key) and their key ceremony (E5)."""
    common = CommonSettings(environment="test", jwt_secret=cluster.env["XN_JWT_SECRET"])
    async with httpx.AsyncClient(base_url=cluster.gateway, timeout=30) as client:
        await with_election_key(client, common, quarter, api="/api/v1/evaluation")


def cast_a_ballot(cluster: Cluster, http: httpx.Client, office: dict[str, str]) -> str:
    """Evaluation: a round with a full panel, voting open, one evaluator votes; returns the round."""
    quarter = "2015-Q3"  # a quarter no other test uses; its vote day is 2015-10-20
    accounts = [f"gw-voter-{n:03d}" for n in range(100)]
    r = http.post("/api/v1/evaluation/rounds", json={"quarter": quarter}, headers=office)
    assert r.status_code == 201, r.text
    r = http.post(
        f"/api/v1/evaluation/rounds/{quarter}/panel",
        json={"entries": panel_of(accounts, "2015-10-18")},
        headers=office,
    )
    assert r.status_code == 201, r.text
    asyncio.run(election_key(cluster, quarter))
    for step in ("publish-reference-pack", "open-voting"):
        r = http.post(f"/api/v1/evaluation/rounds/{quarter}/{step}", headers=office)
        assert r.status_code == 200, r.text
    asyncio.run(register_evaluators(cluster, accounts[:1]))
    voter = token_for(http, accounts[0])
    choices = [{"department": d.code} for d in reference.evaluable_departments()[:3]]
    r = http.post(f"/api/v1/evaluation/rounds/{quarter}/ballots", json={"choices": choices}, headers=voter)
    assert r.status_code == 201, r.text
    return quarter


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
        item_id = open_joint_matter(http, office)
        indicator, period = publish_a_month(http, office)
        quarter = cast_a_ballot(cluster, http, office)

        expected = {
            "disclosure": lambda: formed(receiver, document_id),
            "coordination": lambda: [
                m for m in receiver.of_type(TaskAssigned.event_type()) if m.body["data"]["task_id"] == item_id
            ],
            "indicators": lambda: [
                m
                for m in receiver.of_type(RankingPublished.event_type())
                if (m.body["data"]["indicator"], m.body["data"]["period"]) == (indicator, period)
            ],
            "evaluation": lambda: [
                m for m in receiver.of_type(VoteCast.event_type()) if m.body["data"]["round_id"] == quarter
            ],
        }
        for service, arrived in expected.items():
            message = wait_for(arrived, what=f"{service}'s event at the webhook")[0]
            assert message.verified_with == [endpoint["secret"]], service
            assert set(message.body) == {"type", "timestamp", "data"}, service
        assert formed(receiver, document_id)[0].body["data"]["department"] == DEPARTMENT
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
