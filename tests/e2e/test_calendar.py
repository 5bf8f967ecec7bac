"""The official holiday table of 2027 published through the gateway, on real Kafka.

A cluster of its own (the table it publishes is test data), with the business clock started at
2027-01-28 10:00 (``XN_CLOCK_START``) while 2027 has no official table yet: a document formed
that day and a 10-day joint-matter item assigned that day get provisional deadlines on the
statutory holidays (Tuesday 02-09 after the 春节 days). The administrator publishes the table,
which makes 02-08..02-12 holidays and Sunday 02-14 a working day: both deadlines move to 24:00 of
02-14, each announced once by deadline-changed. A service that was down at the time catches up,
and after a restart every service answers the same working-day question the same way.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from launcher.processes import register_client
from launcher.topology import SERVICES
from services.gateway.settings import DOMAIN_SERVICES
from shared.events import DeadlineChanged, topic_for
from tests.support.calendar import NOTICE_2027, official_2027_body
from tests.support.clusters import Cluster, gateway_client, running_cluster, token_for
from tests.support.infra import KafkaSource, PostgresSource
from tests.support.kafka import read_all
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.kafka]

PROVISIONAL = "2027-02-10T00:00:00+08:00"
OFFICIAL = "2027-02-15T00:00:00+08:00"


@pytest.fixture(scope="module")
async def calendar_cluster(
    kafka: KafkaSource, postgres: PostgresSource, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Cluster]:
    urls = {s: await postgres.new_database(f"cal_{s}") for s in SERVICES}
    clock = {"XN_CLOCK_START": "2027-01-28T10:00:00+08:00"}
    with running_cluster(kafka, urls, tmp_path_factory.mktemp("calendar-logs"), clock) as cluster:
        for client_id, roles, department in (
            ("cal-admin", "admin", "office"),
            ("cal-office", "office", "office"),
            ("cal-fgw", "department", "fgw"),
        ):
            register_client(cluster.env, client_id, roles, department)
        yield cluster


@pytest.fixture
def gw(calendar_cluster: Cluster) -> Iterator[httpx.Client]:
    with gateway_client(calendar_cluster) as client:
        yield client


def answers(cluster: Cluster, path: str) -> dict[str, Any]:
    """What each domain service's own copy of the calendar answers."""
    return {s: httpx.get(f"{cluster[s].url}{path}", timeout=10).json() for s in DOMAIN_SERVICES}


def deadline_changes(cluster: Cluster) -> list[dict[str, Any]]:
    topic = topic_for(DeadlineChanged, cluster.topic_prefix)
    try:
        records = asyncio.run(read_all(cluster.kafka.bootstrap, topic))
    except Exception:  # the topic does not exist before the first change
        return []
    return [json.loads(r.value) for r in records]


def open_items_on_the_provisional_table(
    gw: httpx.Client, fgw: dict[str, str], office: dict[str, str]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A document and a joint item formed 2027-01-28: both due on the provisional 02-09."""
    r = gw.post(
        "/api/v1/disclosure/documents",
        json={
            "document_number": "湖政办发〔2027〕3号",
            "title": "关于做好2027年春节期间政务服务工作的通知",
            "drafting_department": "fgw",
            "formed_on": "2027-01-28",
        },
        headers=fgw,
    )
    assert r.status_code == 201, r.text
    document = r.json()
    assert (document["deadline"], document["deadline_provisional"]) == (PROVISIONAL, True)

    r = gw.post(
        "/api/v1/coordination/joint-matters",
        json={
            "lead_department": "fgw",
            "basis": "市政府常务会议纪要（端到端测试）",
            "main_matter": "春节期间重点项目复工安排",
            "feedback_days": 10,
            "approvals": [{"level": "vice_mayor", "leader": "vm-executive", "approved_on": "2027-01-27"}],
            "items": [{"department": "jtj", "content": "提出交通保障意见"}],
            "contact_person": "王明",
            "contact_phone": "0572-2222222",
        },
        headers=office,
    )
    assert r.status_code == 201, r.text
    (item,) = r.json()["items"]
    assert (item["deadline"], item["deadline_provisional"]) == (PROVISIONAL, True)
    return document, item


def every_service_agrees_after_a_restart(cluster: Cluster) -> None:
    for name in DOMAIN_SERVICES:
        cluster[name].stop()
        cluster[name].start()
    for name in DOMAIN_SERVICES:
        cluster[name].wait_ready()
    days = answers(cluster, "/calendar/days/2027-02-14")
    assert all(
        d == {"date": "2027-02-14", "working": True, "status": "official", "revision": 1}
        for d in days.values()
    ), days
    counted = answers(cluster, "/calendar/deadline?start=2027-01-28&amount=10")
    assert all(
        c == {"start": "2027-01-28", "deadline": OFFICIAL, "provisional": False} for c in counted.values()
    ), counted


def test_publishing_2027_moves_provisional_deadlines_once_and_every_service_agrees(
    calendar_cluster: Cluster, gw: httpx.Client
) -> None:
    cluster = calendar_cluster
    office = token_for(gw, "cal-office")
    fgw = token_for(gw, "cal-fgw")
    admin = token_for(gw, "cal-admin")
    document, item = open_items_on_the_provisional_table(gw, fgw, office)

    listing = gw.get("/api/v1/calendar/years").json()
    assert {"year": 2027, "status": "provisional", "revision": 0, "notice": None} in listing["years"]

    # Only an administrator publishes.
    body = official_2027_body()
    assert gw.put("/api/v1/calendar/years/2027", json=body).status_code == 401
    for who in (fgw, office):
        r = gw.put("/api/v1/calendar/years/2027", json=body, headers=who)
        assert r.status_code == 403 and r.headers["content-type"] == "application/problem+json"

    # A service that is down when the year is published catches up when it comes back.
    cluster["indicators"].stop()
    r = gw.put("/api/v1/calendar/years/2027", json=body, headers=admin)
    assert r.status_code == 201, r.text
    assert (r.json()["status"], r.json()["notice"]) == ("official", NOTICE_2027)

    def moved() -> bool:
        doc = gw.get(f"/api/v1/disclosure/documents/{document['id']}", headers=fgw).json()
        joint = gw.get(f"/api/v1/coordination/joint-items/{item['id']}", headers=office).json()
        return all((x["deadline"], x["deadline_provisional"]) == (OFFICIAL, False) for x in (doc, joint))

    wait_for(moved, "both deadlines on the official table")
    subjects = {f"{document['id']}@1": "document-version", item["id"]: "joint-item"}
    wait_for(
        lambda: {c["subject_id"] for c in deadline_changes(cluster)} >= subjects.keys(), "deadline-changed"
    )
    cluster["indicators"].start()
    cluster["indicators"].wait_ready()
    wait_for(
        lambda: answers(cluster, "/calendar/days/2027-02-14")["indicators"]["status"] == "official",
        "indicators keeps the table published while it was down",
    )
    changes = [c for c in deadline_changes(cluster) if c["subject_id"] in subjects]
    assert sorted((c["subject_kind"], c["old_deadline"], c["new_deadline"]) for c in changes) == [
        ("document-version", PROVISIONAL, OFFICIAL),
        ("joint-item", PROVISIONAL, OFFICIAL),
    ]
    assert {(c["reason"], c["notice"], c["deadline_provisional"]) for c in changes} == {
        ("calendar-year-published", NOTICE_2027, False)
    }

    every_service_agrees_after_a_restart(cluster)
    # Nothing was announced twice, restarts included.
    assert len([c for c in deadline_changes(cluster) if c["subject_id"] in subjects]) == 2
