"""Disclosure end to end, through the gateway on real Kafka: a backdated document goes overdue (D3),
deadline-passed reaches evaluation's department facts, a late publication follows it there, and
the public finds the document without a token (D5).

The department ``gxs`` (市供销社) is used by no other test, so its facts are this module's alone.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from launcher.processes import register_client
from tests.support.clusters import Cluster, department_facts, fact_counts, restarted_with, token_for
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.kafka]

DEPARTMENT = "gxs"


def counts(http: httpx.Client, headers: dict[str, str]) -> dict[str, int]:
    return fact_counts(http, headers, DEPARTMENT)


def facts(http: httpx.Client, headers: dict[str, str]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = department_facts(http, headers, DEPARTMENT)["facts"]
    return found


@pytest.fixture(scope="module")
def fast_sweeper(cluster: Cluster) -> Iterator[None]:
    """The disclosure process with a 1-second sweep interval, restored afterwards."""
    with restarted_with(cluster["disclosure"], {"XN_SWEEP_INTERVAL_SECONDS": "1"}):
        yield


def register_backdated(http: httpx.Client, drafter: dict[str, str]) -> tuple[str, dict[str, Any]]:
    """A document formed long before its 10-day deadline; its number and the registered document."""
    number = f"湖政办发〔2018〕{uuid.uuid4().int % 90000 + 1}号"
    r = http.post(
        "/api/v1/disclosure/documents",
        json={
            "document_number": number,
            "title": "关于推进供销合作社综合改革的通知",
            "drafting_department": DEPARTMENT,
            "formed_on": "2018-06-14",  # long past its 10-day deadline
            "subject_words": ["供销合作"],
            "body": "深化供销合作社综合改革，服务乡村振兴。",
        },
        headers=drafter,
    )
    assert r.status_code == 201, r.text
    doc: dict[str, Any] = r.json()
    assert doc["index_number"].startswith("330500000/2018-")
    return number, doc


def test_D3_a_backdated_document_goes_overdue_and_reaches_evaluation_facts(
    cluster: Cluster, http: httpx.Client, fast_sweeper: None
) -> None:
    register_client(cluster.env, "e2e-gxs", "department", DEPARTMENT)
    drafter = token_for(http, "e2e-gxs")
    office = token_for(http, "e2e-office")
    before = counts(http, office)
    number, doc = register_backdated(http, drafter)

    def overdue() -> bool:
        return (
            counts(http, office).get("document-version-overdue", 0)
            == before.get("document-version-overdue", 0) + 1
        )

    wait_for(overdue, what="document-version-overdue fact")
    recorded = [f for f in facts(http, office) if f["kind"] == "document-version-overdue"]
    assert recorded[0]["subject_id"] == f"{doc['id']}@1"
    assert recorded[0]["detail"]["deadline"] == "2018-06-26T00:00:00+08:00"
    got = http.get(f"/api/v1/disclosure/documents/{doc['id']}", headers=office)
    assert got.json()["status"] == "overdue"

    r = http.post(
        f"/api/v1/disclosure/documents/{doc['id']}/versions/1/publication",
        json={
            "url": "https://www.huzhou.gov.cn/art/2018/7/2/art_1.html",
            "published_at": "2018-07-02T09:00:00+08:00",
        },
        headers=office,
    )
    assert r.status_code == 201, r.text
    assert r.json()["versions"][0]["publication"]["on_time"] is False
    wait_for(
        lambda: (
            counts(http, office).get("document-published-late", 0)
            == before.get("document-published-late", 0) + 1
        ),
        what="document-published-late fact",
    )
    # Overdue once per version: the sweeper ran many times meanwhile.
    assert counts(http, office)["document-version-overdue"] == before.get("document-version-overdue", 0) + 1

    public = http.get("/api/v1/disclosure/catalogue", params={"q": number})
    assert public.status_code == 200, public.text
    assert [d["id"] for d in public.json()["items"]] == [doc["id"]]
    listed = http.get("/api/v1/disclosure/catalogue", params={"department": DEPARTMENT, "q": "供销合作社"})
    assert doc["id"] in [d["id"] for d in listed.json()["items"]]
    feed = http.get("/api/v1/disclosure/catalogue/feed.atom")
    assert feed.status_code == 200 and number in feed.text
