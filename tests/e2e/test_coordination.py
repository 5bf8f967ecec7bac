"""Coordination end to end through the gateway on real Kafka: a joint matter with three items,
one answered, one backdated past its deadline, one still open. Every item's task-assigned reaches
evaluation, and the sweeper's deemed consent is counted once for the right department.

This module uses departments whose codes start with i–r (jsj leads; kjj, nyj, lyj cooperate),
so its facts never mix with other modules' on the shared cluster.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import httpx
import pytest

from launcher.processes import register_client
from shared.calendar import default_calendar
from shared.clock import utc_now
from shared.deadlines import local_date
from tests.support.clusters import Cluster, fact_counts, restarted_with, token_for
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.kafka]

LEAD, ANSWERS, SILENT, PENDING = "jsj", "kjj", "nyj", "lyj"
BACKDATED_DAYS = 20


@pytest.fixture(scope="module")
def fast_sweeps(cluster: Cluster) -> Iterator[None]:
    """The coordination process sweeps every second for this module, then gets its default back."""
    with restarted_with(cluster["coordination"], {"XN_SWEEP_INTERVAL_SECONDS": "1"}):
        yield


def open_limit(assigned_on: date, today: date) -> int:
    """Days from ``assigned_on`` to a working day just ahead, so that item is still open."""
    calendar = default_calendar()
    for ahead in range(1, 11):
        day = today + timedelta(days=ahead)
        if calendar.is_working_day(day):
            return (day - assigned_on).days
    return (today - assigned_on).days


def backdated_matter() -> dict[str, Any]:
    """Assigned BACKDATED_DAYS ago: SILENT's item (10 days) is past its deadline, the others not."""
    today = local_date(utc_now())
    assigned_on = today - timedelta(days=BACKDATED_DAYS)
    longer = open_limit(assigned_on, today)
    return {
        "lead_department": LEAD,
        "basis": "市政府常务会议纪要（端到端测试）",
        "main_matter": "城市有机更新项目前期工作",
        "assigned_on": assigned_on.isoformat(),
        "approvals": [{"level": "mayor", "leader": "mayor", "approved_on": assigned_on.isoformat()}],
        "items": [
            {"department": ANSWERS, "content": "提供项目用地清单", "feedback_days": longer},
            {"department": SILENT, "content": "提供农业用地意见"},
            {"department": PENDING, "content": "提供林地占用意见", "feedback_days": longer},
        ],
        "contact_person": "王明",
        "contact_phone": "0572-2222222",
    }


def test_C4_joint_matter_events_reach_evaluation_and_deemed_consent_is_counted_once(
    cluster: Cluster, http: httpx.Client, fast_sweeps: None
) -> None:
    register_client(cluster.env, f"e2e-coord-{ANSWERS}", "department", ANSWERS)
    office = token_for(http, "e2e-office")
    answerer = token_for(http, f"e2e-coord-{ANSWERS}")
    before = {d: fact_counts(http, office, d) for d in (ANSWERS, SILENT, PENDING)}

    r = http.post("/api/v1/coordination/joint-matters", json=backdated_matter(), headers=office)
    assert r.status_code == 201, r.text
    matter = r.json()
    assert r.headers["location"] == f"/api/v1/coordination/joint-matters/{matter['id']}"
    items = {i["department"]: i for i in matter["items"]}
    assert items[SILENT]["past_deadline"] is True and items[ANSWERS]["past_deadline"] is False

    def assigned_everywhere() -> bool:
        return all(
            fact_counts(http, office, d).get("joint-item-assigned", 0)
            == before[d].get("joint-item-assigned", 0) + 1
            for d in (ANSWERS, SILENT, PENDING)
        )

    wait_for(assigned_everywhere, "task-assigned facts for all three items")

    answered = http.post(
        f"/api/v1/coordination/joint-items/{items[ANSWERS]['id']}/feedback",
        json={"content": "同意，用地清单见附件", "signed_by": "李华", "stamped": True},
        headers=answerer,
    )
    assert answered.status_code == 201, answered.text
    assert answered.json()["state"] == "answered"

    def deemed() -> bool:
        item = http.get(f"/api/v1/coordination/joint-items/{items[SILENT]['id']}", headers=office).json()
        return item["state"] == "deemed-consent"  # type: ignore[no-any-return]

    wait_for(deemed, "the sweeper's deemed consent")
    consent = "joint-item-deemed-consent"
    wait_for(
        lambda: fact_counts(http, office, SILENT).get(consent, 0) == before[SILENT].get(consent, 0) + 1,
        "the deemed-consent fact",
    )
    wait_for(
        lambda: (
            fact_counts(http, office, ANSWERS).get("joint-item-answered", 0)
            == before[ANSWERS].get("joint-item-answered", 0) + 1
        ),
        "the answered fact",
    )
    time.sleep(3)  # a few more sweeps: the item was announced once and stays announced once
    after = {d: fact_counts(http, office, d) for d in (ANSWERS, SILENT, PENDING)}
    assert after[SILENT].get(consent, 0) == before[SILENT].get(consent, 0) + 1
    assert after[ANSWERS].get(consent, 0) == before[ANSWERS].get(consent, 0)
    assert after[PENDING].get(consent, 0) == before[PENDING].get(consent, 0)
    pending = http.get(f"/api/v1/coordination/joint-items/{items[PENDING]['id']}", headers=office).json()
    assert pending["state"] == "assigned"

    sheet = http.get(f"/api/v1/coordination/joint-matters/{matter['id']}/sheet", headers=office)
    assert sheet.status_code == 200 and sheet.headers["content-type"].startswith("text/html")
    assert "部门会办事项交办单" in sheet.text and "市建设局" in sheet.text
