"""Leader instructions (C7): the same-day rule across midnight, supervised deadlines, written
explanations, feedback, archive, the overdue sweeper and the half-month tally."""

from __future__ import annotations

import functools
from datetime import timedelta
from typing import Any

from services.coordination.service import instructions
from shared.events import DeadlinePassed, FeedbackSubmitted, TaskAssigned
from shared.settings import CommonSettings
from tests.support import coordination as support
from tests.support.clock import at
from tests.support.coordination import Coordination, coordination, problem
from tests.support.infra import PostgresSource


async def test_C7_same_day_rule_holds_until_2400_and_flags_assignment_after_midnight(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    async with coordination(postgres, common, at("2018-06-14 23:58")) as c:
        received = "2018-06-14T23:50:00+08:00"
        in_time = await support.registered_and_proposed(c, received_at=received)
        overnight = await support.registered_and_proposed(c, received_at=received)
        assert in_time["assignment_due"] == "2018-06-15T00:00:00+08:00"
        assert in_time["held_overnight"] is None and in_time["state"] == "proposed"

        to_jsj = {"assignments": [{"department": "jsj", "due_on": "2018-06-30"}]}
        c.clock.now = at("2018-06-15 00:00") - timedelta(microseconds=1)
        r = await c.client.post(
            f"/v1/instructions/{in_time['id']}/assignments", json=to_jsj, headers=c.office()
        )
        assert r.status_code == 200, r.text
        assert r.json()["held_overnight"] is False and r.json()["state"] == "assigned"

        c.clock.now = at("2018-06-15 00:00")
        r = await c.client.post(
            f"/v1/instructions/{overnight['id']}/assignments", json=to_jsj, headers=c.office()
        )
        assert r.json()["held_overnight"] is True

        # The day that counts is the Shanghai day: 16:30 UTC on the 14th is 00:30 on the 15th.
        c.clock.now = at("2018-06-15 08:00")
        late_night = await c.client.post(
            "/v1/instructions",
            json=support.instruction("citizen-letter", received_at="2018-06-14T16:30:00Z"),
            headers=c.office(),
        )
        assert late_night.json()["assignment_due"] == "2018-06-16T00:00:00+08:00"
        naive = problem(
            await c.client.post(
                "/v1/instructions",
                json=support.instruction(received_at="2018-06-14T10:00:00"),
                headers=c.office(),
            ),
            422,
        )
        assert naive["type"] == "/problems/validation-error"


async def registered_then_proposed_once(c: Coordination) -> dict[str, Any]:
    problem(await c.client.post("/v1/instructions", json=support.instruction(), headers=c.dept("jsj")), 403)
    problem(
        await c.client.post(
            "/v1/instructions", json=support.instruction(leader="nobody"), headers=c.office()
        ),
        422,
    )
    registered = (
        await c.client.post("/v1/instructions", json=support.instruction(), headers=c.office())
    ).json()
    base = f"/v1/instructions/{registered['id']}"
    early = problem(
        await c.client.post(
            f"{base}/assignments", json={"assignments": [{"department": "jsj"}]}, headers=c.office()
        ),
        409,
    )
    assert early["rule"] == "C7" and early["type"] == "/problems/instruction-out-of-order"
    assert (
        await c.client.post(f"{base}/proposal", json={"proposal": "拟请市建设局牵头"}, headers=c.office())
    ).status_code == 200
    problem(await c.client.post(f"{base}/proposal", json={"proposal": "再拟"}, headers=c.office()), 409)
    return registered  # type: ignore[no-any-return]


async def assigned_with_supervised_deadlines(
    c: Coordination, base: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    no_deadline = problem(
        await c.client.post(
            f"{base}/assignments",
            json={"assignments": [{"department": "jsj", "due_on": "2018-06-30"}, {"department": "czj"}]},
            headers=c.office(),
        ),
        422,
    )
    assert no_deadline["rule"] == "C7" and no_deadline["field"] == "assignments.1.due_on"
    past = problem(
        await c.client.post(
            f"{base}/assignments",
            json={"assignments": [{"department": "jsj", "due_on": "2018-06-13"}]},
            headers=c.office(),
        ),
        422,
    )
    assert past["field"] == "assignments.0.due_on"
    assigned = await c.client.post(
        f"{base}/assignments",
        json={
            "assignments": [
                {"department": "jsj", "due_on": "2018-06-30", "requirement": "牵头办理"},
                {"department": "czj", "due_on": "2018-06-30"},
            ]
        },
        headers=c.office(),
    )
    assert assigned.status_code == 200, assigned.text
    jsj_a, czj_a = (support.assignment_of(assigned.json(), d) for d in ("jsj", "czj"))
    assert (jsj_a["department"], jsj_a["deadline"], jsj_a["supervised"]) == (
        "jsj",
        "2018-07-01T00:00:00+08:00",
        True,
    )
    tasks = await c.events(TaskAssigned)
    assert sorted((t["task_id"], t["kind"], t["department"], t["lead_department"]) for t in tasks) == sorted(
        [(jsj_a["id"], "instruction", "jsj", None), (czj_a["id"], "instruction", "czj", None)]
    )
    dup = await c.client.post(
        f"{base}/assignments",
        json={"assignments": [{"department": "jsj", "due_on": "2018-06-30"}]},
        headers=c.office(),
    )
    assert dup.status_code == 409
    return jsj_a, czj_a


async def czj_explains_and_jsj_answers(
    c: Coordination, base: str, jsj_a: dict[str, Any], czj_a: dict[str, Any]
) -> None:
    explain = f"/v1/instruction-assignments/{czj_a['id']}/explanations"
    problem(await c.client.post(explain, json={"reason": "需待省厅批复"}, headers=c.dept("jsj")), 403)
    c.clock.now = at("2018-06-25 10:00")
    explained = await c.client.post(explain, json={"reason": "需待省厅批复"}, headers=c.dept("czj"))
    assert explained.status_code == 201
    assert support.assignment_of(explained.json(), "czj")["explanations"][0]["reason"] == "需待省厅批复"

    answered = await c.client.post(
        f"/v1/instruction-assignments/{jsj_a['id']}/feedback",
        json={"content": "方案已报送"},
        headers=c.dept("jsj"),
    )
    assert (
        answered.status_code == 201
        and support.assignment_of(answered.json(), "jsj")["feedback_late"] is False
    )
    problem(
        await c.client.post(
            f"/v1/instruction-assignments/{jsj_a['id']}/feedback",
            json={"content": "再报"},
            headers=c.dept("jsj"),
        ),
        409,
    )
    outstanding = problem(await c.client.post(f"{base}/archive", headers=c.office()), 409)
    assert outstanding["type"] == "/problems/feedback-outstanding" and "市财政局" in outstanding["detail"]


async def overdue_once_and_late_feedback_marked(
    c: Coordination, base: str, jsj_a: dict[str, Any], czj_a: dict[str, Any]
) -> None:
    # The supervised deadline passes: announced once, and the late feedback is marked late.
    deadline = at("2018-07-01 00:00")
    assert await instructions.sweep_overdue(c.ctx, deadline - timedelta(microseconds=1)) == 0
    assert await instructions.sweep_overdue(c.ctx, deadline) == 1
    assert await instructions.sweep_overdue(c.ctx, deadline + timedelta(days=2)) == 0
    overdue = await c.events(DeadlinePassed)
    assert [(e["subject_kind"], e["subject_id"], e["department"], e["consequence"]) for e in overdue] == [
        ("instruction", czj_a["id"], "czj", "overdue")
    ]
    c.clock.now = at("2018-07-03 09:00")
    seen = await c.client.get(base, headers=c.dept("czj"))
    assert support.assignment_of(seen.json(), "czj")["overdue"] is True
    late = await c.client.post(
        f"/v1/instruction-assignments/{czj_a['id']}/feedback",
        json={"content": "已办结"},
        headers=c.dept("czj"),
    )
    assert support.assignment_of(late.json(), "czj")["feedback_late"] is True
    feedback = await c.events(FeedbackSubmitted)
    assert sorted((f["task_id"], f["kind"], f["late"]) for f in feedback) == sorted(
        [(jsj_a["id"], "instruction", False), (czj_a["id"], "instruction", True)]
    )


async def test_C7_instruction_flow_supervised_deadline_explanation_feedback_and_archive(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    async with coordination(postgres, common, at("2018-06-14 09:00")) as c:
        registered = await registered_then_proposed_once(c)
        base = f"/v1/instructions/{registered['id']}"
        jsj_a, czj_a = await assigned_with_supervised_deadlines(c, base)
        await czj_explains_and_jsj_answers(c, base, jsj_a, czj_a)
        await overdue_once_and_late_feedback_marked(c, base, jsj_a, czj_a)

        archived = await c.client.post(f"{base}/archive", headers=c.office())
        assert archived.status_code == 200 and archived.json()["state"] == "archived"
        problem(await c.client.post(f"{base}/archive", headers=c.office()), 409)
        explain = f"/v1/instruction-assignments/{czj_a['id']}/explanations"
        problem(await c.client.post(explain, json={"reason": "补充"}, headers=c.dept("czj")), 409)

        assert (await c.client.get(base, headers=c.leader("vm-urban"))).status_code == 200
        problem(await c.client.get(base, headers=c.leader("vm-industry")), 403)
        problem(await c.client.get(base, headers=c.dept("gaj")), 403)
        listed = await c.client.get("/v1/instructions", headers=c.dept("jsj"))
        assert [i["id"] for i in listed.json()["items"]] == [registered["id"]]


async def test_C7_not_overnight_kinds_default_to_the_end_of_the_assignment_day(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    async with coordination(postgres, common, at("2018-06-14 09:00")) as c:
        letter = await support.registered_and_proposed(c, category="citizen-letter")
        r = await c.client.post(
            f"/v1/instructions/{letter['id']}/assignments",
            json={"assignments": [{"department": "xfj"}]},
            headers=c.office(),
        )
        (a,) = r.json()["assignments"]
        assert (a["due_on"], a["deadline"], a["supervised"]) == (
            "2018-06-14",
            "2018-06-15T00:00:00+08:00",
            False,
        )
        # Only supervised instructions are swept as overdue.
        assert await instructions.sweep_overdue(c.ctx, at("2018-06-20 00:00")) == 0


async def a_month_of_supervised_assignments(c: Coordination) -> None:
    """Due on the 15th and the 16th of June and at the month's ends; lyj explains early, nyj
    answers in time, mzj and rsj late, kjj and jyj never."""
    supervised = await support.registered_and_proposed(c)
    due = {"nyj": "2018-06-15", "lyj": "2018-06-15", "mzj": "2018-06-15", "rsj": "2018-06-16"}
    due |= {"kjj": "2018-06-30", "jyj": "2018-07-01"}
    r = await c.client.post(
        f"/v1/instructions/{supervised['id']}/assignments",
        json={"assignments": [{"department": d, "due_on": on} for d, on in due.items()]},
        headers=c.office(),
    )
    ids = {a["department"]: a["id"] for a in r.json()["assignments"]}

    async def act(when: str, department: str, what: str, body: dict[str, str]) -> None:
        c.clock.now = at(when)
        url = f"/v1/instruction-assignments/{ids[department]}/{what}"
        assert (await c.client.post(url, json=body, headers=c.dept(department))).status_code == 201

    await act("2018-06-10 10:00", "lyj", "explanations", {"reason": "需待省厅批复"})
    await act("2018-06-14 10:00", "nyj", "feedback", {"content": "已办"})
    await act("2018-06-18 10:00", "mzj", "feedback", {"content": "已办"})
    await act("2018-06-20 10:00", "rsj", "feedback", {"content": "已办"})


def departments(rows: list[dict[str, Any]]) -> list[str]:
    return sorted(row["department"] for row in rows)


async def test_C7_half_month_tally_splits_on_the_15th_and_16th_and_ends_with_the_month(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    async with coordination(postgres, common, at("2018-06-01 09:00")) as c:
        await a_month_of_supervised_assignments(c)
        c.clock.now = at("2018-07-03 10:00")
        tally = functools.partial(support.instruction_tally, c)

        first = await tally("2018-06-1")
        assert (first["start"], first["end"], first["as_of"]) == (
            "2018-06-01",
            "2018-06-15",
            "2018-06-16T00:00:00+08:00",
        )
        assert {r["department"]: r["status"] for r in first["rows"]} == {
            "nyj": "on-time",
            "lyj": "missing",
            "mzj": "missing",
        }
        assert departments(first["missing"]) == ["lyj", "mzj"] and departments(first["late"]) == []
        assert departments(first["slow"]) == ["mzj"], "lyj explained in writing before its deadline"

        second = await tally("2018-06-2")
        assert (second["start"], second["end"]) == ("2018-06-16", "2018-06-30")
        assert {r["department"]: r["status"] for r in second["rows"]} == {
            "lyj": "missing",
            "mzj": "late",
            "rsj": "late",
            "kjj": "missing",
        }
        assert departments(second["slow"]) == ["kjj", "mzj", "rsj"]
        assert second["counts"] == {"on-time": 0, "late": 2, "missing": 2, "pending": 0}

        july = await tally("2018-07-1")
        assert {r["department"]: r["status"] for r in july["rows"]} == {
            "jyj": "missing",
            "lyj": "missing",
            "kjj": "missing",
        }
        assert july["as_of"] == "2018-07-03T10:00:00+08:00"

        assert ((await tally("2018-02-2"))["start"], (await tally("2018-02-2"))["end"]) == (
            "2018-02-16",
            "2018-02-28",
        )
        assert (await tally("2020-02-2"))["end"] == "2020-02-29"
        assert (await tally("2018-07-2"))["end"] == "2018-07-31"
        for bad in ("2018-06-3", "2018-13-1", "2018-06"):
            assert (
                problem(await c.client.get(f"/v1/instruction-tallies/{bad}", headers=c.office()), 422)["rule"]
                == "C7"
            )
        problem(await c.client.get("/v1/instruction-tallies/2018-06-1", headers=c.dept("jsj")), 403)
