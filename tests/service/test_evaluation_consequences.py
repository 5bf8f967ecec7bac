"""Consequences of consecutive quarters in the top 3 (E4): interviews, designation and its bulletin."""

from __future__ import annotations

from typing import Any

import httpx

from shared.events import DepartmentDesignated, InterviewRequired
from shared.reference import department
from shared.settings import CommonSettings
from tests.support.apps import bearer
from tests.support.evaluation import (
    CANDIDATES,
    ballots_for,
    evaluation,
    eventually_events,
    office,
    open_round,
    problem,
    run_round,
)
from tests.support.infra import PostgresSource
from tests.support.waiting import until

FILLERS = [d for d in CANDIDATES if d not in ("jxw", "fgw", "jtj", "czj")]


def outcome(results: dict, code: str) -> tuple[int, list[str]]:  # type: ignore[type-arg]
    standing = next(s for s in results["standings"] if s["department"] == code)
    return standing["consecutive_quarters"], standing["consequences"]


async def the_designation_bulletin_is_public_once_published(
    client: httpx.AsyncClient, common: CommonSettings
) -> None:
    # The bulletin is for leaders until the results are published, then for everyone.
    leader = bearer(common, "leader", client_id="mayor")
    assert (await client.get("/v1/designations")).json()["items"] == []
    problem(await client.get("/v1/designations/dsg-2018-Q4-jxw"), 404, "designation-not-found")
    assert (await client.get("/v1/designations/dsg-2018-Q4-jxw", headers=leader)).status_code == 200
    r = await client.post("/v1/rounds/2018-Q4/publish-results", headers=office(common))
    assert r.status_code == 200
    bulletin = (await client.get("/v1/designations/dsg-2018-Q4-jxw")).json()
    assert bulletin["title"] == "关于确定市经信委为“低效能”部门的通报"
    assert bulletin["addressed_to"] == [
        "市委领导",
        "市人大常委会领导",
        "市政府领导",
        "市政协领导",
        "各县区政府",
        "市级各部门和单位",
    ]
    assert bulletin["quarters"] == ["2018-Q2", "2018-Q3", "2018-Q4"]
    assert "2018年第二季度、2018年第三季度、2018年第四季度" in bulletin["body"]
    assert "市经信委为“低效能”部门" in bulletin["body"]
    assert bulletin["text"].splitlines()[-2] == "湖州市人民政府办公室“低效能”部门评定工作小组"
    listed = (await client.get("/v1/designations", params={"department": "jxw"})).json()["items"]
    assert [d["id"] for d in listed] == ["dsg-2018-Q4-jxw"]


async def test_E4_runs_of_two_and_three_quarters_and_a_broken_run(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    async with evaluation(postgres, common) as (client, bus, _app):
        q2 = await run_round(
            client, common, "2018-Q2", ballots_for({"jxw": 20, "fgw": 15, "jtj": 12}, FILLERS)
        )
        assert sorted(q2["selected"]) == ["fgw", "jtj", "jxw"]
        assert outcome(q2, "jxw") == (1, ["working-group-interview"])

        q3 = await run_round(
            client, common, "2018-Q3", ballots_for({"jxw": 20, "fgw": 15, "czj": 12}, FILLERS)
        )
        assert outcome(q3, "jxw") == (2, ["working-group-interview", "vice-mayor-interview"])
        assert outcome(q3, "fgw") == (2, ["working-group-interview", "vice-mayor-interview"])
        assert outcome(q3, "jtj") == (0, [])  # out of the top: the run is broken
        assert outcome(q3, "czj") == (1, ["working-group-interview"])
        interviews = await eventually_events(bus, InterviewRequired, common, 2)
        assert {(i["department"], tuple(i["interviewers"]), i["period"]) for i in interviews} == {
            ("jxw", (department("jxw").vice_mayor,), "2018-Q3"),
            ("fgw", (department("fgw").vice_mayor,), "2018-Q3"),
        }
        assert "连续2个季度" in interviews[0]["reason"]

        q4 = await run_round(
            client, common, "2018-Q4", ballots_for({"jxw": 20, "jtj": 15, "czj": 12}, FILLERS)
        )
        assert outcome(q4, "jxw") == (3, ["working-group-interview", "designated"])
        assert outcome(q4, "jtj") == (1, ["working-group-interview"])  # restarted after the break
        assert outcome(q4, "fgw") == (0, [])
        assert outcome(q4, "czj") == (2, ["working-group-interview", "vice-mayor-interview"])
        designated = await eventually_events(bus, DepartmentDesignated, common, 1)
        assert designated == [{"round_id": "2018-Q4", "department": "jxw", "consecutive_quarters": 3}]
        assert q4["designations"] == ["dsg-2018-Q4-jxw"]

        await the_designation_bulletin_is_public_once_published(client, common)

        # Our own interview-required events come back as facts for the next quarter's pack.
        async def interview_fact() -> dict[str, Any]:
            facts: dict[str, Any] = (
                await client.get("/v1/departments/jxw/facts", headers=office(common))
            ).json()
            return facts if facts["counts"].get("interview-required") else {}

        facts = await until(interview_fact, "the interview-required fact of jxw", timeout=10)
        assert facts["counts"]["interview-required"] == 1


async def test_E4_rounds_are_tallied_in_quarter_order(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    async with evaluation(postgres, common) as (client, _bus, _app):
        await open_round(client, common, "2018-Q2")
        await open_round(client, common, "2018-Q3")
        assert (
            await client.post("/v1/rounds/2018-Q3/close-voting", headers=office(common))
        ).status_code == 200
        body = problem(
            await client.post("/v1/rounds/2018-Q3/tally", headers=office(common)),
            409,
            "previous-round-not-tallied",
        )
        assert "2018年第二季度" in body["detail"] and body["rule"] == "E4"
