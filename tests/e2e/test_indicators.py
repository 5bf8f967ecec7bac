"""Indicators end to end: a month recorded and published through the gateway reaches evaluation's
department facts over real Kafka (I3), and so do the interview it completes (I5)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from launcher.processes import register_client
from shared import reference
from tests.support.clusters import Cluster, department_facts, fact_counts, token_for
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.kafka]

# 社会消费品零售总额 and 进出口总额: both led by 市商务局 (swj), a department no other e2e test uses.
RETAIL = "retail-sales-of-consumer-goods"
TRADE = "imports-and-exports"
DEPARTMENT = "swj"
CLIENT = "e2e-indicators-swj"


def values_for_rank(rank: int) -> list[dict[str, str]]:
    """All cities' values with Huzhou at ``rank`` (the others hold 20, 19, … 11)."""
    others = [c.code for c in reference.cities() if c.code != "huzhou"]
    ours = 20.5 - (rank - 1)
    return [{"city": "huzhou", "value": f"{ours:.1f}"}] + [
        {"city": c, "value": f"{20 - i}.0"} for i, c in enumerate(others)
    ]


@pytest.fixture(scope="module")
def department_client(cluster: Cluster) -> Iterator[str]:
    register_client(cluster.env, CLIENT, "department", DEPARTMENT)
    yield CLIENT


def counts(http: httpx.Client, headers: dict[str, str]) -> dict[str, int]:
    return fact_counts(http, headers, DEPARTMENT)


def grew(before: dict[str, int], after: dict[str, int], kind: str) -> int:
    return after.get(kind, 0) - before.get(kind, 0)


def test_I3_published_month_reaches_evaluation_facts_of_the_responsible_department(
    cluster: Cluster, http: httpx.Client, department_client: str
) -> None:
    office = token_for(http, "e2e-office")
    swj = token_for(http, department_client)
    before = counts(http, office)

    r = http.post(
        f"/api/v1/indicators/indicators/{RETAIL}/releases",
        json={"period": "2018-07", "values": values_for_rank(7), "source": "省统计局"},
        headers=office,
    )
    assert r.status_code == 201, r.text
    assert r.headers["location"] == f"/api/v1/indicators/indicators/{RETAIL}/releases/2018-07"
    assert r.json()["current"]["rank"] == 7
    r = http.post(
        f"/api/v1/indicators/indicators/{TRADE}/releases",
        json={"period": "2018-07", "rank": 2},
        headers=office,
    )
    assert r.status_code == 201, r.text
    r = http.post(
        "/api/v1/indicators/bulletins/2018-07/editions", json={"issued_on": "2018-08-15"}, headers=office
    )
    assert r.status_code == 201, r.text
    bulletin = r.json()

    wait_for(
        lambda: (
            grew(before, counts(http, office), "ranking-worse-than-threshold") == 1
            and grew(before, counts(http, office), "ranking-published") == 1
        ),
        what="ranking-published facts for swj",
        timeout=45,
    )
    facts: list[dict[str, Any]] = department_facts(http, office, DEPARTMENT, limit=200)["facts"]
    subjects = {f["subject_id"]: f for f in facts}
    worse = subjects[f"{RETAIL}@2018-07"]
    assert worse["kind"] == "ranking-worse-than-threshold"
    assert worse["detail"]["rank"] == 7 and worse["detail"]["bulletin_id"] == bulletin["id"]
    assert subjects[f"{TRADE}@2018-07"]["kind"] == "ranking-published"

    # The bulletin is public through the gateway; the department files its head's report.
    public = http.get("/api/v1/indicators/bulletins/2018-07/bulletin.html")
    assert public.status_code == 200 and "<svg" in public.text and "社会消费品零售总额" in public.text
    assert http.get("/api/v1/indicators/bulletins/2018-07").json()["id"] == bulletin["id"]
    duties = http.get("/api/v1/indicators/report-duties", params={"indicator": RETAIL}, headers=swj).json()
    (duty,) = [d for d in duties["items"] if d["period"] == "2018-07"]
    assert duty["due_at"] == "2018-08-28T00:00:00+08:00"  # 10 days from Wed 08-15: Sat 08-25 → Mon 08-27
    r = http.post(
        f"/api/v1/indicators/report-duties/{duty['id']}/report",
        json={"causes": "汽车类消费下降", "targets": "年底前回到全省前五", "measures": "开展促消费专项活动"},
        headers=swj,
    )
    assert r.status_code == 200 and r.json()["status"] == "filed", r.text


def test_I5_third_consecutive_miss_reaches_evaluation_as_an_interview(
    cluster: Cluster, http: httpx.Client
) -> None:
    office = token_for(http, "e2e-office")
    before = counts(http, office)
    for period, issued in (("2018-09", "2018-10-15"), ("2018-10", "2018-11-15"), ("2018-11", "2018-12-14")):
        r = http.post(
            f"/api/v1/indicators/indicators/{TRADE}/releases",
            json={"period": period, "rank": 9},
            headers=office,
        )
        assert r.status_code == 201, r.text
        r = http.post(
            f"/api/v1/indicators/bulletins/{period}/editions", json={"issued_on": issued}, headers=office
        )
        assert r.status_code == 201, r.text
    wait_for(
        lambda: (
            grew(before, counts(http, office), "interview-required") == 1
            and grew(before, counts(http, office), "ranking-worse-than-threshold") == 3
        ),
        what="interview-required fact for swj",
        timeout=45,
    )
    interviews = http.get("/api/v1/indicators/interviews", params={"indicator": TRADE}, headers=office).json()
    (interview,) = interviews["items"]
    assert interview["period"] == "2018-11" and interview["interviewers"] == ["vm-industry", "dsg-industry"]
