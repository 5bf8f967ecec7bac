"""Foundation end to end: five processes, real Kafka, a document-formed event crossing once."""

from __future__ import annotations

import asyncio
import uuid
from zoneinfo import ZoneInfo

import httpx
import pytest

from launcher.topology import SERVICES
from shared.clock import utc_now
from shared.deadlines import local_date
from shared.events import DocumentFormed, topic_for
from tests.support.clusters import Cluster, department_facts, token_for
from tests.support.kafka import group_caught_up, republish_all
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.kafka]

SHANGHAI = ZoneInfo("Asia/Shanghai")


def document(department: str) -> dict[str, str]:
    return {
        "document_number": f"湖政办发〔2018〕{uuid.uuid4().int % 90000 + 1}号",
        "title": "关于进一步优化营商环境的通知",
        "drafting_department": department,
        # Formed today, so the publication deadline cannot pass while the test runs.
        "formed_on": local_date(utc_now()).isoformat(),
    }


def test_every_service_is_healthy_and_ready(cluster: Cluster) -> None:
    for service in SERVICES:
        for probe in ("/healthz", "/readyz"):
            r = httpx.get(f"{cluster[service].url}{probe}", timeout=10)
            assert r.status_code == 200, f"{service}{probe}: {r.text}"


def test_portal_lists_operations_of_all_five_services(cluster: Cluster, http: httpx.Client) -> None:
    doc = http.get("/openapi.json").json()
    assert doc["openapi"].startswith("3.1")
    assert "x-missing-services" not in doc
    prefixes = {path.split("/")[3] for path in doc["paths"]}
    assert {"disclosure", "coordination", "indicators", "evaluation", "oauth"} <= prefixes
    page = http.get("/docs")
    assert page.status_code == 200 and "/openapi.json" in page.text
    assert http.get("/static/swagger-ui-bundle.js").status_code == 200


def test_a_proxied_answer_carries_one_date_and_one_server_header(
    cluster: Cluster, http: httpx.Client
) -> None:
    office = token_for(http, "e2e-office")
    r = http.get("/api/v1/disclosure/documents", headers=office)
    assert r.status_code == 200, r.text
    assert len(r.headers.get_list("date")) == 1, r.headers
    assert len(r.headers.get_list("server")) == 1, r.headers


def test_document_formed_crosses_kafka_and_is_recorded_once_despite_a_duplicate(
    cluster: Cluster, http: httpx.Client
) -> None:
    department = "jtj"
    drafter = token_for(http, "e2e-jtj")
    office = token_for(http, "e2e-office")
    r = http.post("/api/v1/disclosure/documents", json=document(department), headers=drafter)
    assert r.status_code == 201, r.text
    assert r.headers["location"].startswith("/api/v1/disclosure/documents/")
    doc_id = r.json()["id"]
    wait_for(
        lambda: department_facts(http, office, department)["counts"].get("document-formed") == 1,
        what="fact recorded",
        timeout=45,
    )

    topic = topic_for(DocumentFormed, cluster.topic_prefix)
    group = f"{cluster.topic_prefix}evaluation.department-facts"
    assert asyncio.run(republish_all(cluster.kafka.bootstrap, topic)) >= 1
    wait_for(
        lambda: asyncio.run(group_caught_up(cluster.kafka.bootstrap, group, topic)),
        what="duplicate consumed",
        timeout=45,
    )

    body = department_facts(http, office, department)
    assert body["counts"] == {"document-formed": 1}
    assert body["facts"][0]["subject_id"] == f"{doc_id}@1"


def test_outbox_delivers_after_a_crash_between_commit_and_send(cluster: Cluster, http: httpx.Client) -> None:
    department = "sfj"
    office = token_for(http, "e2e-office")
    disclosure = cluster["disclosure"]
    disclosure.stop()
    # Sweepers off: the only outbox row written while the fault is armed is this test's own.
    disclosure.start(
        {"XN_DISCLOSURE_FAULT_CRASH_BEFORE_SEND": "true", "XN_DISCLOSURE_SWEEPERS_ENABLED": "false"}
    )
    disclosure.wait_ready()
    body = document(department)
    try:
        r = http.post("/api/v1/disclosure/documents", json=body, headers=office)
        assert r.status_code in (201, 502), r.text  # the process may die before it answers
    except httpx.HTTPError:
        pass
    assert disclosure.exited(timeout=30) == 137, "the relay should have died between commit and send"
    assert department_facts(http, office, department)["counts"] == {}

    disclosure.start()
    disclosure.wait_ready()
    wait_for(
        lambda: department_facts(http, office, department)["counts"].get("document-formed") == 1,
        what="event after restart",
        timeout=45,
    )
    recorded = department_facts(http, office, department)["facts"][0]["detail"]
    assert recorded["document_number"] == body["document_number"]
