"""Assessment schemes (E6) end to end through the gateway on real Kafka: a supervised leader
instruction goes overdue in coordination (its sweeper announces deadline-passed); evaluation
proposes the −1 of 责任型(1) for the assigned department; the assessing unit (市委市政府督查室)
confirms it; the published results show it with its source, and assessment-published reaches Kafka.

Departments touched here: wqb and lfw (assessed units of this module's year only).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, time, timedelta
from typing import Any

import httpx
import pytest

from services.gateway.clients import register_client
from shared.clock import utc_now
from shared.db import Database
from shared.deadlines import SHANGHAI, local_date
from shared.events import AssessmentPublished, topic_for
from tests.support.assessment import SCHEME, fill_everything
from tests.support.clusters import Cluster, token_of
from tests.support.kafka import read_all
from tests.support.waiting import until

pytestmark = [pytest.mark.e2e, pytest.mark.kafka]

COORDINATION, EVALUATION = "/api/v1/coordination", "/api/v1/evaluation/assessment"
UNIT, OTHER = "wqb", "lfw"
UNITS = [{"code": UNIT, "class": "B", "group": "industry"}, {"code": OTHER, "class": "B", "group": "social"}]
DAYS_AGO = 10
DUE_DAYS_AGO = 3


def account(assessor: str) -> str:
    return f"e2e-assess-{assessor}"


async def register_assessors(cluster: Cluster) -> None:
    """One API client per assessing unit of the scheme (its token names that unit)."""
    db = Database(cluster.env["XN_GATEWAY_DATABASE_URL"])
    try:
        for assessor in SCHEME.assessors:
            role = "supervisor" if assessor.code == "supervision" else "department"
            await register_client(
                db,
                client_id=account(assessor.code),
                name=assessor.name,
                roles=[role],
                department=assessor.code,
                secret=f"{account(assessor.code)}-secret",
            )
    finally:
        await db.dispose()


async def overdue_instruction(client: httpx.AsyncClient, office: dict[str, str]) -> str:
    """A supervised instruction of the mayor received DAYS_AGO on paper and assigned to UNIT with
    feedback due DUE_DAYS_AGO, never answered: the assignment id (the deduction's matter)."""
    today = local_date(utc_now())
    received = datetime.combine(today - timedelta(days=DAYS_AGO), time(9), tzinfo=SHANGHAI)
    body = {
        "leader": "mayor",
        "category": "supervised",
        "title": "关于外事接待工作的批示（端到端测试）",
        "content": "请市外侨办抓紧落实并反馈。",
        "received_at": received.isoformat(),
    }
    r = await client.post(f"{COORDINATION}/instructions", json=body, headers=office)
    assert r.status_code == 201, r.text
    url = f"{COORDINATION}/instructions/{r.json()['id']}"
    proposal = {"proposal": "拟请市外侨办办理", "proposed_at": (received + timedelta(minutes=10)).isoformat()}
    r = await client.post(f"{url}/proposal", json=proposal, headers=office)
    assert r.status_code == 200, r.text
    assignments = {
        "assignments": [{"department": UNIT, "due_on": (today - timedelta(days=DUE_DAYS_AGO)).isoformat()}],
        "assigned_at": (received + timedelta(minutes=20)).isoformat(),
    }
    r = await client.post(f"{url}/assignments", json=assignments, headers=office)
    assert r.status_code == 200, r.text
    (assignment,) = (a for a in r.json()["assignments"] if a["department"] == UNIT)
    return str(assignment["id"])


async def test_E6_an_overdue_instruction_is_proposed_confirmed_and_published_with_its_source(
    cluster: Cluster,
) -> None:
    await register_assessors(cluster)
    year = (local_date(utc_now()) - timedelta(days=DUE_DAYS_AGO)).year
    base = f"{EVALUATION}/years/{year}"
    async with httpx.AsyncClient(base_url=cluster.gateway, timeout=60) as client:
        office = await token_of(client, "e2e-office")
        tokens = {a.code: await token_of(client, account(a.code)) for a in SCHEME.assessors}
        headers_for: Callable[[str], dict[str, str]] = tokens.__getitem__
        r = await client.put(f"{base}/scheme", json={"based_on": SCHEME.id, "units": UNITS}, headers=office)
        assert r.status_code == 200, r.text

        matter = await overdue_instruction(client, office)
        supervision = tokens["supervision"]
        proposals: list[dict[str, Any]] = []

        async def proposed() -> bool:
            nonlocal proposals
            r = await client.get(f"{base}/proposals", headers=supervision)
            assert r.status_code == 200, r.text
            proposals = [p for p in r.json() if p["matter"] == matter]
            return bool(proposals)

        # The coordination sweeper runs every 30 s by default; then Kafka carries deadline-passed.
        await until(proposed, "the overdue instruction proposed as a deduction", timeout=120, interval=1)
        (proposal,) = proposals
        assert (proposal["unit"], proposal["item"], proposal["reason"], proposal["amount"]) == (
            UNIT,
            "leader-instructions",
            "feedback-missing",
            "1",
        )
        assert proposal["fact"]["kind"] == "instruction-overdue"
        r = await client.post(
            f"{base}/proposals/{proposal['id']}/confirm",
            json={"note": "逾期未反馈，经核实"},
            headers=supervision,
        )
        assert r.status_code == 200, r.text
        assert (r.json()["state"], r.json()["decided_by"]) == ("confirmed", account("supervision"))

        await fill_everything(client, base, [u["code"] for u in UNITS], headers_for)
        r = await client.post(f"{base}/publish", headers=office)
        assert r.status_code == 200, r.text

        results = (await client.get(f"{base}/results")).json()
        by_unit = {u["unit"]: u for u in results["units"]}
        assert by_unit[UNIT]["items"]["leader-instructions"] == "4"
        assert by_unit[OTHER]["items"]["leader-instructions"] == "5"
        breakdown = (await client.get(f"{base}/units/{UNIT}")).json()
        (item,) = (i for i in breakdown["items"] if i["item"] == "leader-instructions")
        (deduction,) = item["entries"]
        assert (deduction["amount"], deduction["source_kind"], deduction["source"]) == (
            "1",
            "proposed",
            proposal["id"],
        )
        assert (deduction["entered_by"], deduction["confirmed_by"]) == ("platform", account("supervision"))
        assert (deduction["source_detail"]["kind"], deduction["source_detail"]["subject_id"]) == (
            "instruction-overdue",
            matter,
        )
        page = await client.get(f"{base}/units/{UNIT}.html")
        assert page.status_code == 200 and f"instruction-overdue {matter}" in page.text

        async def announced() -> bool:
            records = await read_all(
                cluster.kafka.bootstrap, topic_for(AssessmentPublished, cluster.topic_prefix)
            )
            events = [json.loads(r.value) for r in records]
            return any(e["assessment_id"] == f"{SCHEME.id}@{year}" for e in events)

        await until(announced, "assessment-published on Kafka", timeout=60, interval=0.5)
