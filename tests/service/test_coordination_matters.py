"""Joint matters (C1–C4): the 附件2 sheet, the deadline tiers and approvals, who may do what, the
item lifecycle and deemed consent at exactly 24:00 of the last day."""

from __future__ import annotations

from datetime import timedelta

import httpx

from services.coordination.service import matters
from shared.events import DeadlinePassed, FeedbackSubmitted, TaskAssigned
from shared.settings import CommonSettings
from tests.support.clock import at
from tests.support.coordination import Coordination, coordination, problem, sheet, signed
from tests.support.infra import PostgresSource

# Assigned Thursday 2018-06-14: 3 days end on Sunday 06-17, inside the 端午 holiday (06-16..18),
# so the last day is Tuesday 06-19 and the deadline 24:00 of it.
ASSIGNED = at("2018-06-14 10:00")
DEADLINE = "2018-06-20T00:00:00+08:00"


async def test_C1_sheet_has_one_item_per_department_copies_supervision_and_assigns_each(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    async with coordination(postgres, common, ASSIGNED) as c:
        r = await c.client.post(
            "/v1/joint-matters", json=sheet("jsj", "nyj", "lyj", "rsj"), headers=c.dept("jsj")
        )
        assert r.status_code == 201, r.text
        matter = r.json()
        assert r.headers["location"] == f"/v1/joint-matters/{matter['id']}"
        assert matter["copied_to"] == ["supervision"]
        assert matter["lead_department_name"] == "市建设局"
        assert [(i["seq"], i["department"], i["department_name"]) for i in matter["items"]] == [
            (1, "nyj", "市农业局"),
            (2, "lyj", "市林业局"),
            (3, "rsj", "市人力社保局"),
        ]
        assert {(i["due_on"], i["deadline"], i["tier"], i["state"]) for i in matter["items"]} == {
            ("2018-06-19", DEADLINE, "routine", "assigned")
        }
        assert "会办单位须于2018年6月19日前" in matter["requirements"]
        assert "抄报市政府督查室" in matter["requirements"]

        assigned = await c.events(TaskAssigned)
        assert sorted((e["department"], e["kind"], e["parent_id"], e["deadline"]) for e in assigned) == [
            (d, "joint-item", matter["id"], DEADLINE) for d in ("lyj", "nyj", "rsj")
        ]
        assert {e["task_id"] for e in assigned} == {i["id"] for i in matter["items"]}

        url = f"/v1/joint-matters/{matter['id']}"
        for who in (c.auth("supervisor"), c.dept("supervision"), c.dept("nyj"), c.office()):
            assert (await c.client.get(url, headers=who)).status_code == 200
        problem(await c.client.get(url, headers=c.dept("gaj")), 403)
        problem(await c.client.get(url, headers=c.leader("dsg-urban")), 403)

        async def listed(headers: dict[str, str]) -> list[str]:
            page = await c.client.get("/v1/joint-matters", headers=headers)
            assert page.status_code == 200, page.text
            return [m["id"] for m in page.json()["items"]]

        assert await listed(c.dept("nyj")) == [matter["id"]]
        assert await listed(c.auth("supervisor")) == [matter["id"]]
        assert await listed(c.dept("gaj")) == []
        items = await c.client.get("/v1/joint-items", params={"department": "lyj"}, headers=c.office())
        assert [i["department"] for i in items.json()["items"]] == ["lyj"]


async def test_C1_printable_sheet_follows_the_annex2_layout(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    async with coordination(postgres, common, ASSIGNED) as c:
        body = sheet("jsj", "nyj", "lyj", basis="<script>alert(1)</script>会议纪要")
        matter = (await c.client.post("/v1/joint-matters", json=body, headers=c.dept("jsj"))).json()
        # The link is the gateway's path; this test calls the service behind it.
        assert matter["sheet_url"] == f"/api/v1/coordination/joint-matters/{matter['id']}/sheet"
        r = await c.client.get(f"/v1/joint-matters/{matter['id']}/sheet", headers=c.dept("lyj"))
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/html")
        html = r.text
        table = html[html.index('<table class="sheet">') :]
        labels = [
            "主办单位",
            "会办单位",
            "交办依据",
            "主办事项",
            "会办事项",
            "办理反馈时限",
            "附　　件",
            "联系人",
        ]
        labels += ["联系电话", "传真", "注：此交办单同时抄报市政府督查室。"]
        positions = [table.index(f"{label}") for label in labels]
        assert "<h1>部门会办事项交办单</h1>" in html
        assert positions == sorted(positions), "the sheet keeps 附件2's order"
        assert "市农业局：请nyj提供相关材料" in html and html.index("市农业局：") < html.index("市林业局：")
        assert "会办单位须于2018年6月19日前将会办情况（意见）以书面及电子文档形式报主办单位" in html
        assert "王明" in html and "0572-2222222" in html and "项目清单（2页）" in html
        assert html.rstrip().endswith("</html>") and "2018年6月14日" in html
        assert "<script>" not in html and "&lt;script&gt;" in html


async def test_C2_each_deadline_tier_needs_its_approval(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    async with coordination(postgres, common, ASSIGNED) as c:
        jsj = c.dept("jsj")
        vice_mayor = {"level": "vice_mayor", "leader": "vm-urban", "approved_on": "2018-06-13"}
        mayor = {"level": "mayor", "leader": "mayor", "approved_on": "2018-06-14", "reference": "市长签批件"}

        async def open_with(**kw: object) -> httpx.Response:
            return await c.client.post("/v1/joint-matters", json=sheet("jsj", "nyj", **kw), headers=jsj)

        r = await open_with(feedback_days=3)
        assert r.status_code == 201 and r.json()["items"][0]["tier"] == "routine"

        refused = problem(await open_with(feedback_days=4), 422)
        assert refused["rule"] == "C2" and refused["type"] == "/problems/approval-required"
        assert refused["field"] == "feedback_days" and "分管市长" in refused["detail"]

        r = await open_with(feedback_days=10, approvals=[vice_mayor])
        assert r.status_code == 201, r.text
        complex_ = r.json()
        assert complex_["items"][0]["tier"] == "complex"
        # 10 days from 06-14 is 06-24, a Sunday: the period ends on Monday 06-25.
        assert complex_["items"][0]["due_on"] == "2018-06-25"
        assert complex_["approvals"][0]["leader_title"] == "副市长（分管城建）"

        wrong = problem(
            await open_with(feedback_days=10, approvals=[{**vice_mayor, "leader": "vm-industry"}]),
            422,
        )
        assert wrong["rule"] == "C2" and wrong["field"] == "approvals.0.leader"

        beyond = problem(await open_with(feedback_days=11, approvals=[vice_mayor]), 422)
        assert beyond["rule"] == "C2" and "市长" in beyond["detail"] and "10" in beyond["detail"]

        r = await open_with(feedback_days=30, approvals=[mayor])
        assert r.status_code == 201, r.text
        assert r.json()["items"][0]["tier"] == "beyond"

        per_item = sheet("jsj", "nyj", "lyj")
        per_item["items"][1]["feedback_days"] = 10
        refused = problem(await c.client.post("/v1/joint-matters", json=per_item, headers=jsj), 422)
        assert refused["rule"] == "C2" and refused["field"] == "items.1.feedback_days"

        late_approval = problem(
            await open_with(feedback_days=10, approvals=[{**vice_mayor, "approved_on": "2018-06-15"}]),
            422,
        )
        assert late_approval["rule"] == "C2"

        tiers = (await c.client.get("/v1/deadline-tiers")).json()
        assert [(t["tier"], t["max_days"], t["approval"]) for t in tiers] == [
            ("routine", 3, None),
            ("complex", 10, "vice_mayor"),
            ("beyond", None, "mayor"),
        ]


async def test_C1_bad_sheets_are_refused_with_problem_details(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    async with coordination(postgres, common, ASSIGNED) as c:
        jsj = c.dept("jsj")
        post = c.client.post
        lead_too = problem(await post("/v1/joint-matters", json=sheet("jsj", "nyj", "jsj"), headers=jsj), 422)
        assert lead_too["type"] == "/problems/lead-among-cooperating" and lead_too["rule"] == "C1"
        assert lead_too["field"] == "items.1.department"
        twice = problem(await post("/v1/joint-matters", json=sheet("jsj", "nyj", "nyj"), headers=jsj), 422)
        assert twice["type"] == "/problems/duplicate-cooperating-department" and twice["rule"] == "C1"
        unknown = problem(await post("/v1/joint-matters", json=sheet("jsj", "nope"), headers=jsj), 422)
        assert unknown["type"] == "/problems/unknown-department" and unknown["field"] == "items.0.department"
        problem(await post("/v1/joint-matters", json=sheet("jsj", "nyj"), headers=c.dept("nyj")), 403)
        problem(await post("/v1/joint-matters", json=sheet("jsj", "nyj"), headers=c.auth("evaluator")), 403)
        problem(await post("/v1/joint-matters", json=sheet("jsj", "nyj")), 401)
        empty = problem(await post("/v1/joint-matters", json=sheet("jsj"), headers=jsj), 422)
        assert empty["type"] == "/problems/validation-error"
        backdated = sheet("jsj", "nyj", assigned_on="2018-06-01")
        problem(await post("/v1/joint-matters", json=backdated, headers=jsj), 403)
        assert (await post("/v1/joint-matters", json=backdated, headers=c.office())).status_code == 201
        future = problem(
            await post("/v1/joint-matters", json=sheet("jsj", "nyj", assigned_on="2018-06-15"), headers=jsj),
            422,
        )
        assert future["field"] == "assigned_on"
        problem(await c.client.get("/v1/joint-matters/matter-missing", headers=c.office()), 404)


async def test_C4_item_without_feedback_is_deemed_consent_exactly_at_2400_of_the_last_day(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    async with coordination(postgres, common, ASSIGNED) as c:
        silent, acknowledged, answered = await c.open_items("jsj", "nyj", "lyj", "rsj")
        await c.client.post(f"/v1/joint-items/{acknowledged}/acknowledgement", headers=c.dept("lyj"))
        c.clock.now = at("2018-06-19 16:00")
        assert (
            await c.client.post(f"/v1/joint-items/{answered}/feedback", json=signed(), headers=c.dept("rsj"))
        ).status_code == 201

        deadline = at("2018-06-20 00:00")
        assert await matters.sweep_deadlines(c.ctx, deadline - timedelta(microseconds=1)) == 0

        async def state(item: str) -> str:
            return (await c.client.get(f"/v1/joint-items/{item}", headers=c.office())).json()["state"]

        assert await state(silent) == "assigned"
        assert await matters.sweep_deadlines(c.ctx, deadline) == 2
        assert await state(silent) == "deemed-consent"
        assert await state(acknowledged) == "deemed-agreed-to-handle"
        assert await state(answered) == "answered"
        got = (await c.client.get(f"/v1/joint-items/{silent}", headers=c.office())).json()
        assert got["closed_at"] == DEADLINE and got["past_deadline"] is False

        assert await matters.sweep_deadlines(c.ctx, deadline + timedelta(days=3)) == 0
        passed = await c.events(DeadlinePassed)
        assert sorted(
            (e["subject_id"], e["department"], e["consequence"], e["deadline"]) for e in passed
        ) == sorted(
            [
                (silent, "nyj", "deemed-consent", DEADLINE),
                (acknowledged, "lyj", "deemed-agreed-to-handle", DEADLINE),
            ]
        )
        assert {e["subject_kind"] for e in passed} == {"joint-item"}


async def only_the_department_itself_signs_and_stamps(c: Coordination, nyj_item: str) -> None:
    feedback = f"/v1/joint-items/{nyj_item}/feedback"
    ack = await c.client.post(f"/v1/joint-items/{nyj_item}/acknowledgement", headers=c.dept("nyj"))
    assert ack.status_code == 200 and ack.json()["state"] == "acknowledged"
    assert (
        problem(await c.client.post(feedback, json=signed(), headers=c.dept("lyj")), 403)["type"]
        == "/problems/forbidden"
    )
    problem(await c.client.post(feedback, json=signed(), headers=c.dept("jsj")), 403)
    problem(await c.client.post(feedback, json=signed(), headers=c.office()), 403)
    unsigned = problem(await c.client.post(feedback, json=signed(signed_by=" "), headers=c.dept("nyj")), 422)
    assert unsigned["rule"] == "C3" and unsigned["field"] == "signed_by"
    unstamped = problem(await c.client.post(feedback, json=signed(stamped=False), headers=c.dept("nyj")), 422)
    assert unstamped["rule"] == "C3" and unstamped["field"] == "stamped"


async def answered_once_then_only_corrected(c: Coordination, nyj_item: str) -> None:
    feedback = f"/v1/joint-items/{nyj_item}/feedback"
    r = await c.client.post(feedback, json=signed(), headers=c.dept("nyj"))
    assert r.status_code == 201, r.text
    assert r.json()["state"] == "answered"
    (first,) = r.json()["feedback"]
    assert first["kind"] == "answer" and first["late"] is False and first["signed_by"] == "李华"

    closed = problem(await c.client.post(feedback, json=signed(), headers=c.dept("nyj")), 409)
    assert closed["type"] == "/problems/item-closed" and closed["rule"] == "C4"
    problem(await c.client.post(f"/v1/joint-items/{nyj_item}/acknowledgement", headers=c.dept("nyj")), 409)

    fixed = await c.client.post(
        f"/v1/joint-items/{nyj_item}/corrections",
        json=signed(content="更正：材料第2页有误"),
        headers=c.dept("nyj"),
    )
    assert fixed.status_code == 201, fixed.text
    original, correction = fixed.json()["feedback"]
    assert original == first and correction["kind"] == "correction" and correction["corrects"] == first["id"]
    assert fixed.json()["state"] == "answered"


async def test_C3_C4_feedback_is_signed_by_the_department_itself_and_final_states_are_not_reopened(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    async with coordination(postgres, common, ASSIGNED) as c:
        nyj_item, lyj_item = await c.open_items("jsj", "nyj", "lyj")
        await only_the_department_itself_signs_and_stamps(c, nyj_item)
        await answered_once_then_only_corrected(c, nyj_item)

        # Past the deadline, before any sweep: the item is deemed consent first, then the
        # department's feedback is kept once, as late, without reopening it.
        c.clock.now = at("2018-06-21 09:00")
        late = await c.client.post(
            f"/v1/joint-items/{lyj_item}/feedback",
            json=signed(delay_reason="等待省厅意见"),
            headers=c.dept("lyj"),
        )
        assert late.status_code == 201, late.text
        assert late.json()["state"] == "deemed-consent"
        assert late.json()["feedback"][0]["kind"] == "late" and late.json()["feedback"][0]["late"] is True
        again = problem(
            await c.client.post(f"/v1/joint-items/{lyj_item}/feedback", json=signed(), headers=c.dept("lyj")),
            409,
        )
        assert again["rule"] == "C4"
        assert await matters.sweep_deadlines(c.ctx, c.clock.now) == 0

        answered = await c.events(FeedbackSubmitted)
        assert sorted((e["task_id"], e["late"]) for e in answered) == sorted(
            [(nyj_item, False), (lyj_item, True)]
        )
        passed = await c.events(DeadlinePassed)
        assert [(e["subject_id"], e["consequence"]) for e in passed] == [(lyj_item, "deemed-consent")]


async def test_C1_a_corrected_sheet_is_a_new_sheet_linked_to_the_original(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    async with coordination(postgres, common, ASSIGNED) as c:
        jsj = c.dept("jsj")
        original = (await c.client.post("/v1/joint-matters", json=sheet("jsj", "nyj"), headers=jsj)).json()
        corrected = await c.client.post(
            "/v1/joint-matters", json=sheet("jsj", "nyj", "lyj", supersedes=original["id"]), headers=jsj
        )
        assert corrected.status_code == 201 and corrected.json()["supersedes"] == original["id"]
        again = (await c.client.get(f"/v1/joint-matters/{original['id']}", headers=jsj)).json()
        assert again["superseded_by"] == [corrected.json()["id"]] and len(again["items"]) == 1
        other = problem(
            await c.client.post(
                "/v1/joint-matters",
                json=sheet("kjj", "nyj", supersedes=original["id"]),
                headers=c.dept("kjj"),
            ),
            422,
        )
        assert other["field"] == "supersedes"


async def test_C1_sheets_and_items_page_by_cursor(postgres: PostgresSource, common: CommonSettings) -> None:
    async with coordination(postgres, common, ASSIGNED) as c:
        created = []
        for minute in range(3):
            c.clock.now = ASSIGNED + timedelta(minutes=minute)
            r = await c.client.post("/v1/joint-matters", json=sheet("jsj", "nyj"), headers=c.dept("jsj"))
            created.append(r.json()["id"])
        first = await c.client.get("/v1/joint-matters", params={"limit": 2}, headers=c.dept("nyj"))
        assert [m["id"] for m in first.json()["items"]] == created[:0:-1]
        assert first.json()["items"][0]["open_items"] == 1 and 'rel="next"' in first.headers["link"]
        second = await c.client.get(
            "/v1/joint-matters",
            params={"limit": 2, "cursor": first.json()["next_cursor"]},
            headers=c.dept("nyj"),
        )
        assert [m["id"] for m in second.json()["items"]] == created[:1] and second.json()[
            "next_cursor"
        ] is None
        items = await c.client.get(
            "/v1/joint-items", params={"limit": 2, "state": "assigned"}, headers=c.dept("nyj")
        )
        assert len(items.json()["items"]) == 2 and items.json()["next_cursor"]
        problem(await c.client.get("/v1/joint-matters", params={"cursor": "!!"}, headers=c.office()), 400)
