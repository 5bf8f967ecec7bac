"""Major matters end to end through the gateway on real Kafka (C8, E2): a matter listed with a
milestone due yesterday falls behind when the coordination sweeper comes by; the deadline-passed
travels to evaluation, whose reference pack for that quarter lists the matter under its lead
department, once.

Departments touched here: sjj leads, hbj cooperates (no other module uses them).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from shared.clock import utc_now
from shared.deadlines import local_date
from shared.periods import quarter_of
from tests.support.clusters import Cluster, fact_counts, restarted_with, token_for
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.kafka]

LEAD, COOPERATING = "sjj", "hbj"
NUMBER = 901


@pytest.fixture(scope="module")
def fast_sweeps(cluster: Cluster) -> Iterator[None]:
    """The coordination process sweeps every second for this module, then gets its default back."""
    with restarted_with(cluster["coordination"], {"XN_SWEEP_INTERVAL_SECONDS": "1"}):
        yield


def test_C8_a_matter_behind_is_listed_in_the_quarters_reference_pack_under_its_lead_department(
    cluster: Cluster, http: httpx.Client, fast_sweeps: None
) -> None:
    office = token_for(http, "e2e-office")
    yesterday = local_date(utc_now()) - timedelta(days=1)
    year = yesterday.year
    matter: dict[str, Any] = {
        "number": NUMBER,
        "title": "审计整改闭环管理（端到端测试）",
        "task": "建立审计整改清单并逐项销号",
        "lead_department": LEAD,
        "cooperating_departments": [COOPERATING],
        "leader": "vm-executive",
        "responsible_person": "赵六",
        "completion_due": f"{year}-12-31",
        "milestones": [{"title": "印发整改方案", "due_on": yesterday.isoformat()}],
    }
    r = http.post(
        f"/api/v1/coordination/major-matter-lists/{year}", json={"matters": [matter]}, headers=office
    )
    assert r.status_code == 201, r.text
    (listed,) = r.json()["matters"]
    milestone = listed["milestones"][0]["id"]

    def behind() -> list[dict[str, Any]]:
        chase = http.get("/api/v1/coordination/major-matters-behind", params={"year": year}, headers=office)
        return [i for i in chase.json() if i["matter_id"] == listed["id"]]

    (item,) = wait_for(behind, "the sweeper finding the missed milestone")
    assert (item["kind"], item["subject_id"], item["lead_department"]) == ("major-milestone", milestone, LEAD)

    quarter = str(quarter_of(yesterday))
    created = http.post("/api/v1/evaluation/rounds", json={"quarter": quarter}, headers=office)
    assert created.status_code in (201, 409), created.text

    def listed_in_pack() -> dict[str, Any] | None:
        pack = http.get(f"/api/v1/evaluation/rounds/{quarter}/reference-pack", headers=office).json()
        (department,) = [d for d in pack["departments"] if d["code"] == LEAD]
        found = [m for m in department["major_matters"] if m["matter_id"] == listed["id"]]
        return found[0] if found and found[0]["behind"] else None

    entry = wait_for(listed_in_pack, "the reference pack listing the matter behind under its lead department")
    assert entry["behind"] == [milestone]
    assert entry["title"] == matter["title"] and entry["number"] == NUMBER
    time.sleep(3)  # a few more sweeps: announced once, counted once
    assert fact_counts(http, office, LEAD).get("major-milestone-overdue") == 1
    assert fact_counts(http, office, COOPERATING).get("major-matter-cooperating") == 1
    assert "major-milestone-overdue" not in fact_counts(http, office, COOPERATING)


def test_C8_the_gateway_serves_the_quarterly_publications_without_a_token(
    cluster: Cluster, http: httpx.Client
) -> None:
    feed = http.get("/api/v1/coordination/major-matter-publications/feed.atom")
    assert feed.status_code == 200, feed.text
    assert feed.headers["content-type"].startswith("application/atom+xml")
    missing = http.get("/api/v1/coordination/major-matter-publications/2000-Q1")
    assert missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"
    assert http.get("/api/v1/coordination/major-matters-behind").status_code == 401
