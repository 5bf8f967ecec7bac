"""Evaluation end to end through the gateway on real Kafka (E1–E5).

Facts published by the other three services (as CloudEvents on their Kafka topics) appear in the
reference pack; 100 evaluators, registered as API clients, vote through the gateway in three
consecutive quarters; the tallies, the vice-mayor interviews and the designation with its public
bulletin follow, and the events reach Kafka.

Departments touched here (facts and interviews): tyj, rfb, gjj, dsjzx, zwb; rounds 2016-Q2..Q4.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest

from services.evaluation import trustee, verify
from shared.events import (
    DeadlinePassed,
    DepartmentDesignated,
    DocumentFormed,
    EventData,
    InterviewRequired,
    RankingPublished,
    RoundTallied,
    TaskAssigned,
    VoteCast,
    topic_for,
)
from shared.messaging.kafka import KafkaBus
from shared.reference import evaluable_departments
from tests.support.clusters import Cluster, token_of
from tests.support.evaluation import ballots_for, key_ceremony, panel_of, register_evaluators
from tests.support.events import message_of
from tests.support.kafka import read_all
from tests.support.waiting import until

pytestmark = [pytest.mark.e2e, pytest.mark.kafka]

API = "/api/v1/evaluation"
CANDIDATES = [d.code for d in evaluable_departments()]
OURS = ("tyj", "rfb", "gjj", "dsjzx", "zwb")
FILLERS = [d for d in CANDIDATES if d not in OURS]


async def gathered(calls: list[Awaitable[Any]], width: int = 8) -> list[Any]:
    gate = asyncio.Semaphore(width)

    async def one(call: Awaitable[Any]) -> Any:
        async with gate:
            return await call

    return await asyncio.gather(*(one(c) for c in calls))


def disclosure_facts(tag: str, due: datetime) -> list[tuple[EventData, datetime]]:
    at = datetime(2016, 5, 20, 2, tzinfo=UTC)
    formed = DocumentFormed(
        document_id=f"doc-{tag}",
        version=1,
        department="tyj",
        document_number="湖政办发〔2016〕88号",
        title="关于全民健身设施建设的通知",
        formed_on=date(2016, 5, 10),
        deadline=due,
    )
    overdue = DeadlinePassed(
        subject_kind="document-version",
        subject_id=f"doc-{tag}@1",
        department="tyj",
        deadline=due,
        consequence="overdue",
    )
    return [(formed, at), (overdue, at)]


def coordination_facts(tag: str, due: datetime) -> list[tuple[EventData, datetime]]:
    assigned = TaskAssigned(
        task_id=f"item-{tag}",
        kind="joint-item",
        parent_id=f"matter-{tag}",
        lead_department="fgw",
        department="tyj",
        deadline=due,
    )
    deemed = DeadlinePassed(
        subject_kind="joint-item",
        subject_id=f"item-{tag}",
        department="tyj",
        deadline=due,
        consequence="deemed-consent",
    )
    return [(assigned, datetime(2016, 5, 17, 2, tzinfo=UTC)), (deemed, datetime(2016, 5, 20, 2, tzinfo=UTC))]


def indicators_facts(tag: str) -> list[tuple[EventData, datetime]]:
    at = datetime(2016, 6, 15, 2, tzinfo=UTC)
    ranked = RankingPublished(
        bulletin_id=f"bulletin-{tag}",
        indicator="retail-sales-of-consumer-goods",
        period="2016-05",
        rank=8,
        cities=11,
        departments=["tyj"],
        worse_than_threshold=True,
    )
    interview = InterviewRequired(
        interview_id=f"iv-{tag}",
        department="tyj",
        reason="月度指标连续三次全省排名第5位以后",
        interviewers=["vm-social", "dsg-social"],
        indicator="retail-sales-of-consumer-goods",
        period="2016-05",
    )
    return [(ranked, at), (interview, at)]


def other_services_events(prefix: str) -> list[Any]:
    """What disclosure, coordination and indicators publish about tyj in 2016-Q2."""
    tag = uuid.uuid4().hex[:8]
    due = datetime(2016, 5, 20, 16, tzinfo=UTC)  # 24:00 of 2016-05-20 in Shanghai
    by_source = {
        "disclosure": disclosure_facts(tag, due),
        "coordination": coordination_facts(tag, due),
        "indicators": indicators_facts(tag),
    }
    return [
        message_of(data, source=f"/xiaoneng/{source}", at=at, prefix=prefix)
        for source, facts in by_source.items()
        for data, at in facts
    ]


def tyj(pack: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = next(d for d in pack["departments"] if d["code"] == "tyj")
    return found


PACK_FIELDS = (
    "documents_formed",
    "documents_overdue",
    "joint_items_assigned",
    "joint_items_deemed_consent",
    "rankings_worse_than_threshold",
)


async def kafka_events(cluster: Cluster, contract: type[EventData]) -> list[dict[str, Any]]:
    records = await read_all(cluster.kafka.bootstrap, topic_for(contract, cluster.topic_prefix))
    return [json.loads(r.value) for r in records]


@dataclass
class Gateway:
    """The office, the 100 evaluators and the 3 trustees, each with a token, on one client of the gateway."""

    client: httpx.AsyncClient
    office: dict[str, str]
    voters: dict[str, dict[str, str]]
    trustees: list[dict[str, str]]

    @property
    def someone(self) -> dict[str, str]:
        return next(iter(self.voters.values()))


async def run_round(
    gw: Gateway, quarter: str, counts: dict[str, int], named_on: str
) -> tuple[dict[str, Any], list[str]]:
    """Panel, trustees and their key ceremony, pack, 100 ballots through the gateway, close, two
    trustees' partial decryptions and tally; returns results and trackers."""
    client, office, voters = gw.client, gw.office, gw.voters
    r = await client.post(
        f"{API}/rounds/{quarter}/panel", json={"entries": panel_of(list(voters), named_on)}, headers=office
    )
    assert r.status_code == 201, r.text
    accounts = [trustee.account_of(h) for h in gw.trustees]
    body = {"threshold": 2, "trustees": [{"account": a, "name": a} for a in accounts]}
    r = await client.put(f"{API}/rounds/{quarter}/trustees", json=body, headers=office)
    assert r.status_code == 200, r.text
    secrets_ = await key_ceremony(client, quarter, gw.trustees, api=API)
    for step in ("publish-reference-pack", "open-voting"):
        r = await client.post(f"{API}/rounds/{quarter}/{step}", headers=office)
        assert r.status_code == 200, r.text
    ballots = ballots_for(counts, FILLERS)
    responses = await gathered(
        [
            client.post(
                f"{API}/rounds/{quarter}/ballots",
                json={"choices": [{"department": d} for d in names]},
                headers=headers,
            )
            for headers, names in zip(voters.values(), ballots, strict=True)
        ]
    )
    assert [r.status_code for r in responses] == [201] * len(ballots), [
        r.text for r in responses if r.status_code != 201
    ]
    receipts = [r.json()["tracker"] for r in responses]
    r = await client.get(f"{API}/rounds/{quarter}", headers=office)
    assert r.json()["turnout"] is None  # E5: published at the close only
    again = await client.post(
        f"{API}/rounds/{quarter}/ballots",
        json={"choices": [{"department": d} for d in ballots[0]]},
        headers=gw.someone,
    )
    assert again.status_code == 409 and again.json()["type"] == "/problems/already-voted"
    r = await client.post(f"{API}/rounds/{quarter}/close-voting", headers=office)
    assert r.status_code == 200 and r.json()["turnout"] == len(voters), r.text
    for secret, headers in list(zip(secrets_, gw.trustees, strict=True))[1:]:
        await trustee.decrypt(client, API, secret, headers)
    r = await client.post(f"{API}/rounds/{quarter}/tally", headers=office)
    assert r.status_code == 200, r.text
    return r.json(), receipts


def run(results: dict[str, Any], code: str) -> tuple[int, list[str]]:
    s = next(s for s in results["standings"] if s["department"] == code)
    return s["consecutive_quarters"], s["consequences"]


async def other_services_publish_into_the_pack(cluster: Cluster, gw: Gateway, preview: str) -> dict[str, Any]:
    """E2: the pack gathers what the other services published about the quarter; tyj's part before."""
    client, office = gw.client, gw.office
    before = tyj((await client.get(preview, headers=office)).json())
    bus = KafkaBus(cluster.kafka.bootstrap, client_id="e2e-other-services")
    await bus.start()
    try:
        await bus.publish(other_services_events(cluster.topic_prefix))
    finally:
        await bus.stop()

    async def arrived() -> bool:
        now = tyj((await client.get(preview, headers=office)).json())
        return (
            all(now[f] == before[f] + 1 for f in PACK_FIELDS)
            and len(now["interviews_required"]) == len(before["interviews_required"]) + 1
        )

    await until(
        arrived, "facts of disclosure, coordination and indicators in the pack", timeout=60, interval=0.3
    )
    return before


async def published_ballots(gw: Gateway, quarter: str) -> list[dict[str, Any]]:
    published: list[dict[str, Any]] = []
    cursor = None
    while True:
        params = {"limit": 40, **({"cursor": cursor} if cursor else {})}
        page = (
            await gw.client.get(f"{API}/rounds/{quarter}/ballots", params=params, headers=gw.someone)
        ).json()
        published += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            return published


async def ballots_recount_to_the_tally(gw: Gateway, results: dict[str, Any], receipts: list[str]) -> None:
    """E3: ties at third place add a seat; the verifier recounts the published encrypted ballots
    to the official tally (E5: no ballot is decrypted)."""
    assert sorted(results["selected"]) == ["dsjzx", "gjj", "rfb", "tyj"]
    assert results["ballots"] == 100
    published = await published_ballots(gw, "2016-Q2")
    assert sorted(b["tracker"] for b in published) == sorted(receipts)
    data = (await gw.client.get(f"{API}/rounds/2016-Q2/verification", headers=gw.someone)).json()
    recount = {d: n for d, n in verify.recount(data).items() if n}
    assert {s["department"]: s["votes"] for s in results["standings"] if s["votes"]} == recount


async def three_quarters_running(gw: Gateway) -> None:
    """E4: runs of two and three quarters, and a broken run."""
    for quarter in ("2016-Q3", "2016-Q4"):
        r = await gw.client.post(f"{API}/rounds", json={"quarter": quarter}, headers=gw.office)
        assert r.status_code == 201, r.text
    q3, _ = await run_round(gw, "2016-Q3", {"tyj": 100, "rfb": 70, "gjj": 50}, "2016-10-18")
    assert run(q3, "tyj") == (2, ["working-group-interview", "vice-mayor-interview"])
    assert run(q3, "rfb") == (2, ["working-group-interview", "vice-mayor-interview"])
    assert run(q3, "dsjzx") == (0, [])
    q4, _ = await run_round(gw, "2016-Q4", {"tyj": 100, "dsjzx": 70, "zwb": 50}, "2017-01-18")
    assert run(q4, "tyj") == (3, ["working-group-interview", "designated"])
    assert run(q4, "dsjzx") == (1, ["working-group-interview"])
    assert run(q4, "rfb") == (0, [])


async def results_and_bulletin_become_public(gw: Gateway) -> None:
    client = gw.client
    assert (await client.get(f"{API}/rounds/2016-Q4/results")).status_code == 401
    r = await client.post(f"{API}/rounds/2016-Q4/publish-results", headers=gw.office)
    assert r.status_code == 200
    public = (await client.get(f"{API}/rounds/2016-Q4/results")).json()
    assert public["designations"] == ["dsg-2016-Q4-tyj"]
    bulletin = (await client.get(f"{API}/designations/dsg-2016-Q4-tyj")).json()
    assert bulletin["title"] == "关于确定市体育局为“低效能”部门的通报"
    assert bulletin["text"].splitlines()[2].startswith("市委领导、市人大常委会领导、市政府领导、市政协领导")


async def the_events_are_on_kafka(cluster: Cluster, receipts: list[str]) -> None:
    async def on_kafka() -> bool:
        tallied = [e for e in await kafka_events(cluster, RoundTallied) if e["round_id"].startswith("2016-")]
        designated = [
            e for e in await kafka_events(cluster, DepartmentDesignated) if e["department"] == "tyj"
        ]
        return len(tallied) == 3 and designated == [
            {"round_id": "2016-Q4", "department": "tyj", "consecutive_quarters": 3}
        ]

    await until(on_kafka, "round-tallied and department-designated on Kafka", timeout=60, interval=0.3)
    interviews = [e for e in await kafka_events(cluster, InterviewRequired) if e["period"] == "2016-Q3"]
    assert {e["department"] for e in interviews} == {"tyj", "rfb", "gjj"}
    casts = [e for e in await kafka_events(cluster, VoteCast) if e["round_id"].startswith("2016-")]
    assert len(casts) == 300 and all(set(e) == {"round_id", "tracker"} for e in casts)
    assert {e["tracker"] for e in casts if e["round_id"] == "2016-Q2"} == set(receipts)


async def test_E1_E5_facts_from_other_services_reach_the_pack_and_100_evaluators_vote_through_the_gateway(
    cluster: Cluster,
) -> None:
    accounts = [f"e2e-ev-{uuid.uuid4().hex[:6]}-{n:03d}" for n in range(100)]
    await register_evaluators(cluster, accounts)
    members = [f"e2e-wg-{uuid.uuid4().hex[:6]}-{n}" for n in range(3)]
    await register_evaluators(cluster, members, roles=["supervisor"])
    async with httpx.AsyncClient(base_url=cluster.gateway, timeout=60) as client:
        office = await token_of(client, "e2e-office")
        voters = dict(zip(accounts, await gathered([token_of(client, a) for a in accounts]), strict=True))
        gw = Gateway(client, office, voters, [await token_of(client, m) for m in members])

        r = await client.post(f"{API}/rounds", json={"quarter": "2016-Q2"}, headers=office)
        assert r.status_code == 201, r.text
        assert r.headers["location"] == f"{API}/rounds/2016-Q2"
        preview = f"{API}/rounds/2016-Q2/reference-pack"
        before = await other_services_publish_into_the_pack(cluster, gw, preview)

        results, receipts = await run_round(
            gw, "2016-Q2", {"tyj": 100, "rfb": 70, "gjj": 50, "dsjzx": 50}, "2016-07-18"
        )
        pack = (await client.get(preview, headers=gw.someone)).json()
        assert pack["published"] and all(tyj(pack)[f] == before[f] + 1 for f in PACK_FIELDS)
        printable = await client.get(f"{API}/rounds/2016-Q2/reference-pack.html", headers=gw.someone)
        assert printable.status_code == 200 and "市体育局" in printable.text and "视作同意" in printable.text
        await ballots_recount_to_the_tally(gw, results, receipts)

        before_rfb = (await client.get(f"{API}/departments/rfb/facts", headers=office)).json()["counts"]
        await three_quarters_running(gw)
        await results_and_bulletin_become_public(gw)
        # The events are on Kafka; our own interview-required events come back as facts.
        await the_events_are_on_kafka(cluster, receipts)

        async def interview_fact() -> bool:
            counts = (await client.get(f"{API}/departments/rfb/facts", headers=office)).json()["counts"]
            return counts.get("interview-required", 0) == before_rfb.get("interview-required", 0) + 1

        await until(interview_fact, "the vice-mayor interview as a fact of rfb", timeout=60, interval=0.3)

    # E5: neither the evaluation service nor the gateway logged who voted.
    for service in ("evaluation", "gateway"):
        log = cluster[service].log_path.read_text(errors="replace")
        assert not [a for a in accounts if a in log], f"{service} log names an evaluator"
        assert not [rc for rc in receipts if rc in log], f"{service} log names a tracker"
        assert "/ballots" not in log, f"{service} logs a ballot request"
