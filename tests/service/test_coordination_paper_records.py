"""Leader instructions handled on paper and entered later (补录, C7): the office states the instant
of a receipt, proposal, assignment or paper feedback; the same-day rule, supervised deadlines, the
overdue sweep and the half-month tally judge the stated instant; who entered it and when are kept
beside it, and every instant is answered in +08:00."""

from __future__ import annotations

from typing import Any

from services.coordination.service import instructions
from shared.events import FeedbackSubmitted, TaskAssigned
from shared.settings import CommonSettings
from tests.support import coordination as support
from tests.support.clock import at
from tests.support.coordination import Coordination, coordination, problem
from tests.support.infra import PostgresSource

OFFICE_CLIENT = "office-office"


def backfilled(stated: str, recorded_at: str) -> dict[str, Any]:
    """The record of a step the office entered at ``recorded_at`` from paper stating ``stated``."""
    return {"at": stated, "recorded_by": OFFICE_CLIENT, "recorded_at": recorded_at, "backfilled": True}


async def on_paper(
    c: Coordination, received_at: str, proposed_at: str, category: str = "supervised"
) -> dict[str, Any]:
    """An instruction the office registers and proposes from its paper records."""
    return await support.registered_and_proposed(
        c, category=category, received_at=received_at, proposed_at=proposed_at
    )


async def assign(c: Coordination, view: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    r = await c.client.post(f"/v1/instructions/{view['id']}/assignments", json=body, headers=c.office())
    return support.answered(r)


async def defaults_counted_from_the_stated_day(c: Coordination) -> None:
    """The default 不过夜 limit is counted from the stated day, not from the day entered; events
    carry +08:00 instants; a step entered as it happens is not backfilled."""
    letter = await on_paper(c, "2018-06-14T09:00:00+08:00", "2018-06-14T09:10:00+08:00", "citizen-letter")
    handed = await assign(
        c, letter, {"assignments": [{"department": "xfj"}], "assigned_at": "2018-06-14T09:20:00+08:00"}
    )
    assert (
        support.assignment_of(handed, "xfj")["due_on"],
        support.assignment_of(handed, "xfj")["deadline"],
    ) == (
        "2018-06-14",
        "2018-06-15T00:00:00+08:00",
    )
    assert handed["held_overnight"] is False
    tasks = await c.events(TaskAssigned)
    assert {t["deadline"] for t in tasks} == {"2018-07-01T00:00:00+08:00", "2018-06-15T00:00:00+08:00"}

    # Entered as it happens, a step's instant is the instant it was recorded.
    live = (await c.client.post("/v1/instructions", json=support.instruction(), headers=c.office())).json()
    assert live["received_record"]["backfilled"] is False
    assert live["received_record"]["at"] == live["received_record"]["recorded_at"] == live["received_at"]


async def test_C7_backfilled_instructions_are_judged_by_the_same_day_rule_on_their_stated_instants(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    async with coordination(postgres, common, at("2018-07-02 10:00")) as c:
        in_time = await on_paper(c, "2018-06-14T23:50:00+08:00", "2018-06-14T23:55:00+08:00")
        overnight = await on_paper(c, "2018-06-14T23:50:00+08:00", "2018-06-14T23:56:00+08:00")
        assert in_time["assignment_due"] == "2018-06-15T00:00:00+08:00"
        assert in_time["proposed_at"] == "2018-06-14T23:55:00+08:00"
        assert in_time["received_record"] == backfilled(
            "2018-06-14T23:50:00+08:00", "2018-07-02T10:00:00+08:00"
        )
        assert in_time["proposed_record"]["at"] == "2018-06-14T23:55:00+08:00"
        assert in_time["proposed_record"]["recorded_at"] == "2018-07-02T10:00:00+08:00"

        # Entered on 07-02, assigned on paper one second before and exactly at 24:00 of the 14th;
        # an instant sent in UTC is answered in +08:00.
        to_jsj = {"assignments": [{"department": "jsj", "due_on": "2018-06-30"}]}
        kept = await assign(c, in_time, to_jsj | {"assigned_at": "2018-06-14T15:59:59Z"})
        assert (kept["held_overnight"], kept["assigned_at"]) == (False, "2018-06-14T23:59:59+08:00")
        late = await assign(c, overnight, to_jsj | {"assigned_at": "2018-06-15T00:00:00+08:00"})
        assert late["held_overnight"] is True
        assert late["assigned_record"] == backfilled("2018-06-15T00:00:00+08:00", "2018-07-02T10:00:00+08:00")
        assert support.assignment_of(late, "jsj")["assigned_record"]["at"] == "2018-06-15T00:00:00+08:00"

        # A later paper sheet of the same instruction stated earlier moves its first assignment.
        c.clock.now = at("2018-07-02 11:00")
        earlier = await assign(
            c,
            overnight,
            {
                "assignments": [{"department": "czj", "due_on": "2018-06-30"}],
                "assigned_at": "2018-06-14T23:58:00+08:00",
            },
        )
        assert (earlier["held_overnight"], earlier["assigned_at"]) == (False, "2018-06-14T23:58:00+08:00")
        assert earlier["assigned_record"]["recorded_at"] == "2018-07-02T11:00:00+08:00"

        await defaults_counted_from_the_stated_day(c)


async def a_half_month_on_paper(c: Coordination) -> dict[str, str]:
    """Entered on 07-03: a supervised instruction received and assigned on 06-05, jsj and czj due
    06-15, nyj due 06-20; jsj answered on paper on 06-14, czj on 06-18, nyj never."""
    view = await on_paper(c, "2018-06-05T09:00:00+08:00", "2018-06-05T10:00:00+08:00")
    due = {"jsj": "2018-06-15", "czj": "2018-06-15", "nyj": "2018-06-20"}
    assigned = await assign(
        c,
        view,
        {
            "assignments": [{"department": d, "due_on": on} for d, on in due.items()],
            "assigned_at": "2018-06-05T11:00:00+08:00",
        },
    )
    ids = {d: support.assignment_of(assigned, d)["id"] for d in due}
    for department, received in (("jsj", "2018-06-14T10:00:00+08:00"), ("czj", "2018-06-18T10:00:00+08:00")):
        r = await c.client.post(
            f"/v1/instruction-assignments/{ids[department]}/feedback",
            json={"content": "已办结（纸质反馈）", "feedback_at": received},
            headers=c.office(),
        )
        assert r.status_code == 201, r.text
    return ids


async def test_C7_half_month_tallies_over_backfilled_instructions_use_the_stated_instants(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    async with coordination(postgres, common, at("2018-07-03 10:00")) as c:
        ids = await a_half_month_on_paper(c)

        first = await support.instruction_tally(c, "2018-06-1")
        assert {r["department"]: r["status"] for r in first["rows"]} == {"jsj": "on-time", "czj": "missing"}
        (jsj,) = (r for r in first["rows"] if r["department"] == "jsj")
        assert jsj["assigned_at"] == "2018-06-05T11:00:00+08:00"
        assert jsj["feedback_at"] == "2018-06-14T10:00:00+08:00"
        assert jsj["feedback_record"] == backfilled("2018-06-14T10:00:00+08:00", "2018-07-03T10:00:00+08:00")
        assert jsj["assigned_record"]["recorded_at"] == "2018-07-03T10:00:00+08:00"

        second = await support.instruction_tally(c, "2018-06-2")
        assert {r["department"]: r["status"] for r in second["rows"]} == {"czj": "late", "nyj": "missing"}
        assert sorted(r["department"] for r in second["slow"]) == ["czj", "nyj"]

        # Only nyj is overdue: the stated feedback instants, not the day they were entered, count.
        assert await instructions.sweep_overdue(c.ctx, at("2018-07-03 10:00")) == 1
        feedback = await c.events(FeedbackSubmitted)
        assert sorted((f["task_id"], f["submitted_at"], f["late"]) for f in feedback) == sorted(
            [
                (ids["jsj"], "2018-06-14T10:00:00+08:00", False),
                (ids["czj"], "2018-06-18T10:00:00+08:00", True),
            ]
        )
        seen = await c.client.get("/v1/instructions", headers=c.dept("jsj"))
        (listed,) = seen.json()["items"]
        assert support.assignment_of(listed, "jsj")["feedback_late"] is False
        assert support.assignment_of(listed, "jsj")["feedback_record"]["recorded_by"] == OFFICE_CLIENT


async def test_C7_a_stated_instant_in_the_future_or_before_the_step_it_follows_is_422(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    async with coordination(postgres, common, at("2018-06-20 10:00")) as c:

        async def refused(url: str, body: dict[str, Any], field: str, kind: str) -> None:
            answer = problem(await c.client.post(url, json=body, headers=c.office()), 422)
            assert (answer["rule"], answer["field"], answer["type"]) == ("C7", field, f"/problems/{kind}")

        future, future_kind = "2018-06-20T10:00:01+08:00", "instant-in-future"
        before = "instant-before-previous-step"
        await refused("/v1/instructions", support.instruction(received_at=future), "received_at", future_kind)
        r = await c.client.post(
            "/v1/instructions",
            json=support.instruction(received_at="2018-06-14T09:00:00+08:00"),
            headers=c.office(),
        )
        base = f"/v1/instructions/{r.json()['id']}"
        proposal = {"proposal": "拟请市建设局牵头办理"}
        await refused(f"{base}/proposal", proposal | {"proposed_at": future}, "proposed_at", future_kind)
        early = proposal | {"proposed_at": "2018-06-14T08:59:59+08:00"}
        await refused(f"{base}/proposal", early, "proposed_at", before)
        ok = await c.client.post(
            f"{base}/proposal",
            json=proposal | {"proposed_at": "2018-06-14T09:30:00+08:00"},
            headers=c.office(),
        )
        assert ok.status_code == 200, ok.text

        sheet: dict[str, Any] = {"assignments": [{"department": "jsj", "due_on": "2018-06-30"}]}
        await refused(f"{base}/assignments", sheet | {"assigned_at": future}, "assigned_at", future_kind)
        await refused(
            f"{base}/assignments", sheet | {"assigned_at": "2018-06-14T09:29:00+08:00"}, "assigned_at", before
        )
        assert (await c.client.get(base, headers=c.office())).json()["state"] == "proposed"
        assigned = await c.client.post(
            f"{base}/assignments",
            json=sheet | {"assigned_at": "2018-06-14T10:00:00+08:00"},
            headers=c.office(),
        )
        url = f"/v1/instruction-assignments/{support.assignment_of(assigned.json(), 'jsj')['id']}/feedback"
        paper = {"content": "已办结"}
        await refused(url, paper | {"feedback_at": future}, "feedback_at", future_kind)
        await refused(url, paper | {"feedback_at": "2018-06-14T09:59:59+08:00"}, "feedback_at", before)
        answered = await c.client.post(
            url, json=paper | {"feedback_at": "2018-06-14T10:00:00+08:00"}, headers=c.office()
        )
        assert answered.status_code == 201, answered.text
        assert support.assignment_of(answered.json(), "jsj")["feedback_at"] == "2018-06-14T10:00:00+08:00"


async def test_C7_a_department_token_giving_a_stated_instant_gets_403(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    async with coordination(postgres, common, at("2018-06-14 09:00")) as c:
        received = "2018-06-14T08:00:00+08:00"
        problem(
            await c.client.post(
                "/v1/instructions", json=support.instruction(received_at=received), headers=c.dept("jsj")
            ),
            403,
        )
        view = await on_paper(c, received, "2018-06-14T08:30:00+08:00")
        sheet = {
            "assignments": [
                {"department": "jsj", "due_on": "2018-06-30"},
                {"department": "czj", "due_on": "2018-06-30"},
            ]
        }
        problem(
            await c.client.post(
                f"/v1/instructions/{view['id']}/assignments",
                json=sheet | {"assigned_at": "2018-06-14T08:40:00+08:00"},
                headers=c.dept("jsj"),
            ),
            403,
        )
        assigned = await assign(c, view, sheet)
        url = f"/v1/instruction-assignments/{support.assignment_of(assigned, 'jsj')['id']}/feedback"
        stated = {"content": "已办结", "feedback_at": "2018-06-14T08:50:00+08:00"}
        own = problem(await c.client.post(url, json=stated, headers=c.dept("jsj")), 403)
        assert (own["rule"], own["field"], own["type"]) == ("C7", "feedback_at", "/problems/forbidden")
        problem(await c.client.post(url, json=stated, headers=c.auth("supervisor", "supervision")), 403)
        problem(await c.client.post(url, json={"content": "已办结"}, headers=c.dept("czj")), 403)

        # Nothing was stored: the department answers as it happens.
        answered = await c.client.post(url, json={"content": "已办结"}, headers=c.dept("jsj"))
        assert answered.status_code == 201, answered.text
        record = support.assignment_of(answered.json(), "jsj")["feedback_record"]
        assert (record["recorded_by"], record["backfilled"]) == ("department-jsj", False)
        # The office enters a paper feedback received now without stating an instant.
        czj_url = f"/v1/instruction-assignments/{support.assignment_of(assigned, 'czj')['id']}/feedback"
        entered = await c.client.post(czj_url, json={"content": "已办结（纸质）"}, headers=c.office())
        assert entered.status_code == 201, entered.text
        assert support.assignment_of(entered.json(), "czj")["feedback_record"]["recorded_by"] == OFFICE_CLIENT
