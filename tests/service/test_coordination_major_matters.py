"""Major matters (C8): the year's list (all or nothing), adjustments with their audit trail, who
sees what, monthly progress reports and their refusals, behind (进展迟缓) announced once, and
close-off (销号) refused then accepted."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from datetime import timedelta
from typing import Any

from openpyxl import load_workbook

from services.coordination import rendering
from services.coordination.service import major_progress
from shared.events import DeadlinePassed, MatterClosedOff, MatterListed, ProgressReported
from shared.settings import CommonSettings
from tests.support import coordination as support
from tests.support.clock import at
from tests.support.coordination import Coordination, answered, coordination, major_matter, problem
from tests.support.infra import PostgresSource

LIST = "/v1/major-matter-lists/2018"


async def _behind(c: Coordination, kind: str) -> list[dict[str, object]]:
    return [e for e in await c.events(DeadlinePassed) if e["subject_kind"] == kind]


async def test_C8_bulk_list_one_bad_row_refuses_all(postgres: PostgresSource, common: CommonSettings) -> None:
    async with coordination(postgres, common, at("2018-03-01 09:00")) as c:
        late_milestone = major_matter(2, milestones=[{"title": "竣工", "due_on": "2019-01-15"}])
        unknown_lead = major_matter(3, lead="nowhere")
        rows = [major_matter(1), late_milestone, unknown_lead, major_matter(1)]
        refused = problem(await c.client.post(LIST, json={"matters": rows}, headers=c.office()), 422)
        assert refused["rule"] == "C8" and refused["type"] == "/problems/list-refused"
        assert "2、3、4" in refused["detail"]
        errors = {(e["row"], e["field"], e["kind"]) for e in refused["errors"]}
        assert errors == {
            (2, "matters.1.milestones.0.due_on", "milestone-after-completion"),
            (3, "matters.2.lead_department", "unknown-department"),
            (4, "matters.3.number", "duplicate-matter-number"),
        }
        nothing = answered(await c.client.get(f"{LIST}/matters", headers=c.office()))
        assert nothing["items"] == [] and await c.events(MatterListed) == []

        # Only the office lists; then the good rows go in at once.
        problem(await c.client.post(LIST, json={"matters": [major_matter(1)]}, headers=c.dept("jsj")), 403)
        views = await support.listed(c, major_matter(1), major_matter(2, lead="jtj"))
        assert [v["number"] for v in views] == [1, 2]
        first = views[0]
        assert first["lead_department_name"] == "市建设局" and first["leader_title"] == "副市长（分管城建）"
        assert [m["deadline"] for m in first["milestones"]] == [
            "2018-05-01T00:00:00+08:00",
            "2018-07-01T00:00:00+08:00",
        ]
        assert [d["month"] for d in first["report_duties"]][:2] == ["2018-03", "2018-04"]
        assert first["report_duties"][0]["deadline"] == "2018-04-06T00:00:00+08:00"
        assert len(first["report_duties"]) == 10
        listed = await c.events(MatterListed)
        assert [(e["number"], e["lead_department"]) for e in listed] == [(1, "jsj"), (2, "jtj")]

        # One by one: a number taken in the year is refused.
        again = problem(await c.client.post(f"{LIST}/matters", json=major_matter(2), headers=c.office()), 409)
        assert (
            again["rule"] == "C8"
            and again["field"] == "number"
            and again["type"] == "/problems/duplicate-matter-number"
        )
        one = answered(await c.client.post(f"{LIST}/matters", json=major_matter(3), headers=c.office()), 201)
        assert one["number"] == 3
        after = problem(
            await c.client.post(
                f"{LIST}/matters",
                json=major_matter(
                    4, milestones=[{"title": "竣工", "due_on": "2018-12-31"}], completion_due="2018-10-31"
                ),
                headers=c.office(),
            ),
            422,
        )
        assert after["field"] == "milestones.0.due_on" and after["rule"] == "C8"


async def test_C8_adjustments_keep_an_audit_trail_and_who_sees_what(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    async with coordination(postgres, common, at("2018-03-01 09:00")) as c:
        (matter,) = await support.listed(c, major_matter(1, cooperating_departments=["gtj", "jtj"]))
        url = f"/v1/major-matters/{matter['id']}"
        first, second = matter["milestones"]
        c.clock.now = at("2018-03-10 10:00")
        change = {
            "reason": "市政府第20次常务会议调整",
            "completion_due": "2018-11-30",
            "milestones": [
                {"id": first["id"], "title": "完成初步设计", "due_on": "2018-05-15"},
                {"title": "完成施工图设计", "due_on": "2018-06-15"},
                {"id": second["id"], "title": "主体工程开工", "due_on": "2018-07-31"},
            ],
        }
        adjusted = answered(await c.client.patch(url, json=change, headers=c.office()))
        assert adjusted["completion_due"] == "2018-11-30" and len(adjusted["report_duties"]) == 9
        live = [m for m in adjusted["milestones"] if m["state"] == "open"]
        assert [(m["title"], m["due_on"]) for m in live] == [
            ("完成初步设计", "2018-05-15"),
            ("主体工程开工", "2018-07-31"),
            ("完成施工图设计", "2018-06-15"),
        ]
        no_reason = problem(await c.client.patch(url, json={"title": "x"}, headers=c.office()), 422)
        assert no_reason["type"] == "/problems/validation-error"
        beyond = problem(
            await c.client.patch(
                url, json={"reason": "提前", "completion_due": "2018-06-30"}, headers=c.office()
            ),
            422,
        )
        assert beyond["rule"] == "C8" and beyond["field"] == "milestones.1.due_on"
        trail = answered(await c.client.get(f"{url}/history", headers=c.dept("jtj")))
        assert [(t["action"], t["changed_by"], t["reason"]) for t in trail] == [
            ("listed", "office-office", None),
            ("adjusted", "office-office", "市政府第20次常务会议调整"),
        ]
        assert trail[1]["changed_at"] == "2018-03-10T10:00:00+08:00"
        assert trail[1]["changes"]["completion_due"] == "2018-11-30"

        # Lead, cooperating, leader in charge, office and supervision office see it; nobody else.
        for headers in (
            c.dept("jsj"),
            c.dept("gtj"),
            c.leader("vm-urban"),
            c.auth("supervisor", "supervision"),
        ):
            assert (await c.client.get(url, headers=headers)).status_code == 200
        for headers in (c.dept("kjj"), c.leader("vm-industry")):
            problem(await c.client.get(url, headers=headers), 403)
        other = answered(await c.client.get(f"{LIST}/matters", headers=c.dept("kjj")))
        assert other["items"] == []
        mine = answered(await c.client.get(f"{LIST}/matters", headers=c.leader("vm-urban")))
        assert [m["id"] for m in mine["items"]] == [matter["id"]]


async def test_C8_milestone_plan_backwards_from_completion(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    async with coordination(postgres, common, at("2018-03-01 09:00")) as c:
        body = {
            "completion_due": "2018-12-31",
            "steps": [
                {"title": "完成初步设计", "days": 0},
                {"title": "完成施工图设计", "days": 61},
                {"title": "竣工验收", "days": 30},
            ],
        }
        planned = answered(await c.client.post("/v1/major-matter-plans", json=body, headers=c.dept("jsj")))
        assert [p["due_on"] for p in planned] == ["2018-10-01", "2018-12-01", "2018-12-31"]


async def test_C8_monthly_report_refusals(postgres: PostgresSource, common: CommonSettings) -> None:
    async with coordination(postgres, common, at("2018-03-01 09:00")) as c:
        (matter,) = await support.listed(c, major_matter(1))
        url = f"/v1/major-matters/{matter['id']}/progress-reports"
        first = matter["milestones"][0]["id"]
        c.clock.now = at("2018-03-31 23:00")
        early = problem(
            await c.client.post(url, json=support.progress("2018-03"), headers=c.dept("jsj")), 422
        )
        assert (early["rule"], early["field"], early["type"]) == ("C8", "month", "/problems/month-not-ended")
        c.clock.now = at("2018-04-02 09:00")
        other = problem(
            await c.client.post(url, json=support.progress("2018-03"), headers=c.dept("gtj")), 403
        )
        assert other["rule"] == "C8" and other["type"] == "/problems/not-lead-department"
        future_done = support.progress("2018-03", (first, "2018-04-01"))
        refused = problem(await c.client.post(url, json=future_done, headers=c.dept("jsj")), 422)
        assert refused["field"] == "milestones.0.done_on"
        filed = answered(
            await c.client.post(
                url, json=support.progress("2018-03", (first, "2018-03-28")), headers=c.dept("jsj")
            ),
            201,
        )
        assert filed["late"] is False and filed["evidence"][0]["name"] == "现场照片"
        twice = problem(
            await c.client.post(url, json=support.progress("2018-03"), headers=c.dept("jsj")), 409
        )
        assert twice["rule"] == "C8"
        (reported,) = await c.events(ProgressReported)
        assert (reported["month"], reported["milestones_done"], reported["milestones_total"]) == (
            "2018-03",
            1,
            2,
        )


async def test_C8_milestone_missed_is_behind_once_and_not_before_2400(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    async with coordination(postgres, common, at("2018-03-01 09:00")) as c:
        (matter,) = await support.listed(c, major_matter(1))
        first, second = matter["milestones"]
        base = f"/v1/major-matters/{matter['id']}"
        reports = f"{base}/progress-reports"
        c.clock.now = at("2018-04-30 23:00")
        done = {"done_on": "2018-04-28", "evidence": [{"name": "初步设计批复"}]}
        completion = f"{base}/milestones/{first['id']}/completion"
        problem(await c.client.post(completion, json=done, headers=c.dept("gtj")), 403)
        finished = answered(await c.client.post(completion, json=done, headers=c.dept("jsj")))
        assert finished["state"] == "done" and finished["done_reported_at"] == "2018-04-30T23:00:00+08:00"
        problem(await c.client.post(completion, json=done, headers=c.dept("jsj")), 409)
        for month, on in (("2018-03", "2018-04-02"), ("2018-04", "2018-05-02"), ("2018-05", "2018-06-02")):
            c.clock.now = at(f"{on} 09:00")
            answered(await c.client.post(reports, json=support.progress(month), headers=c.dept("jsj")), 201)

        await major_progress.sweep_behind(c.ctx, at("2018-07-01 00:00") - timedelta(microseconds=1))
        assert await _behind(c, "major-milestone") == []
        await major_progress.sweep_behind(c.ctx, at("2018-07-01 00:00"))
        await major_progress.sweep_behind(c.ctx, at("2018-07-02 08:00"))
        (event,) = await _behind(c, "major-milestone")
        assert event == {
            "subject_kind": "major-milestone",
            "subject_id": second["id"],
            "department": "jsj",
            "deadline": "2018-07-01T00:00:00+08:00",
            "consequence": "overdue",
            "deadline_provisional": False,
            "parent_id": matter["id"],
        }
        c.clock.now = at("2018-07-02 09:00")
        chase = answered(await c.client.get("/v1/major-matters-behind?year=2018", headers=c.office()))
        assert [(i["kind"], i["subject_id"]) for i in chase] == [("major-milestone", second["id"])]
        view = answered(await c.client.get(f"/v1/major-matters/{matter['id']}", headers=c.dept("jsj")))
        assert view["behind"] is True
        assert view["milestones"][1]["behind_at"] == "2018-07-01T00:00:00+08:00"

        # Reported done in the June report: no longer listed for chasing; the record stays.
        done = support.progress("2018-06", (second["id"], "2018-07-01"), delay_reason="征地延误")
        problem(await c.client.post(reports, json=done, headers=c.dept("jsj")), 422)
        done = support.progress("2018-06", (second["id"], "2018-06-30"), delay_reason="征地延误")
        answered(await c.client.post(reports, json=done, headers=c.dept("jsj")), 201)
        assert answered(await c.client.get("/v1/major-matters-behind", headers=c.office())) == []
        view = answered(await c.client.get(f"/v1/major-matters/{matter['id']}", headers=c.dept("jsj")))
        assert view["behind"] is False and view["milestones"][1]["behind_at"] == "2018-07-01T00:00:00+08:00"
        await major_progress.sweep_behind(c.ctx, at("2018-07-05 08:00"))
        assert len(await _behind(c, "major-milestone")) == 1


async def test_C8_missing_monthly_report_is_behind_once(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    async with coordination(postgres, common, at("2018-03-01 09:00")) as c:
        (matter,) = await support.listed(c, major_matter(1))
        await major_progress.sweep_behind(c.ctx, at("2018-04-06 00:00") - timedelta(microseconds=1))
        assert await _behind(c, "major-monthly-report") == []
        await major_progress.sweep_behind(c.ctx, at("2018-04-06 00:00"))
        await major_progress.sweep_behind(c.ctx, at("2018-04-06 10:00"))
        (event,) = await _behind(c, "major-monthly-report")
        assert (event["subject_id"], event["department"], event["parent_id"], event["deadline"]) == (
            f"{matter['id']}@2018-03",
            "jsj",
            matter["id"],
            "2018-04-06T00:00:00+08:00",
        )
        c.clock.now = at("2018-04-07 09:00")
        chase = answered(await c.client.get("/v1/major-matters-behind", headers=c.dept("jsj")))
        assert [(i["kind"], i["what"]) for i in chase] == [("major-monthly-report", "2018-03 月报未按期报送")]
        assert answered(await c.client.get("/v1/major-matters-behind", headers=c.dept("kjj"))) == []
        url = f"/v1/major-matters/{matter['id']}/progress-reports"
        late = answered(
            await c.client.post(url, json=support.progress("2018-03"), headers=c.dept("jsj")), 201
        )
        assert late["late"] is True
        assert answered(await c.client.get("/v1/major-matters-behind", headers=c.dept("jsj"))) == []


async def test_C8_close_off_refused_then_accepted(postgres: PostgresSource, common: CommonSettings) -> None:
    async with coordination(postgres, common, at("2018-03-01 09:00")) as c:
        (matter,) = await support.listed(c, major_matter(1))
        base = f"/v1/major-matters/{matter['id']}"
        ask = {"statement": "各节点均已完成", "evidence": [{"name": "竣工验收报告", "pages": 12}]}
        c.clock.now = at("2018-05-02 09:00")
        unfinished = problem(
            await c.client.post(f"{base}/close-off-requests", json=ask, headers=c.dept("jsj")), 422
        )
        assert (unfinished["rule"], unfinished["field"], unfinished["type"]) == (
            "C8",
            "milestones",
            "/problems/milestones-unfinished",
        )
        assert "完成初步设计" in unfinished["detail"]
        ids = [m["id"] for m in matter["milestones"]]
        both = support.progress("2018-04", (ids[0], "2018-04-20"), (ids[1], "2018-04-25"))
        answered(await c.client.post(f"{base}/progress-reports", json=both, headers=c.dept("jsj")), 201)
        problem(await c.client.post(f"{base}/close-off-requests", json=ask, headers=c.dept("gtj")), 403)
        answered(await c.client.post(f"{base}/close-off-requests", json=ask, headers=c.dept("jsj")), 201)
        problem(await c.client.post(f"{base}/close-off-requests", json=ask, headers=c.dept("jsj")), 409)
        no_reason = problem(
            await c.client.post(
                f"{base}/close-off-decision", json={"decision": "refused"}, headers=c.office()
            ),
            422,
        )
        assert no_reason["field"] == "reason" and no_reason["rule"] == "C8"
        problem(
            await c.client.post(
                f"{base}/close-off-decision", json={"decision": "closed-off"}, headers=c.dept("jsj")
            ),
            403,
        )
        refusal = {"decision": "refused", "reason": "缺少竣工验收备案表"}
        refused = answered(
            await c.client.post(f"{base}/close-off-decision", json=refusal, headers=c.office())
        )
        assert refused["decision"] == "refused" and refused["reason"] == "缺少竣工验收备案表"
        assert answered(await c.client.get(base, headers=c.office()))["state"] == "listed"
        assert await c.events(MatterClosedOff) == []

        c.clock.now = at("2018-05-10 09:00")
        ask["evidence"].append({"name": "竣工验收备案表", "pages": 1})
        answered(await c.client.post(f"{base}/close-off-requests", json=ask, headers=c.dept("jsj")), 201)
        accepted = answered(
            await c.client.post(
                f"{base}/close-off-decision", json={"decision": "closed-off"}, headers=c.office()
            )
        )
        assert (
            accepted["decided_at"] == "2018-05-10T09:00:00+08:00"
            and accepted["decided_by"] == "office-office"
        )
        view = answered(await c.client.get(base, headers=c.dept("jsj")))
        assert view["state"] == "closed-off" and view["closed_off_at"] == "2018-05-10T09:00:00+08:00"
        assert all(d["cancelled_at"] for d in view["report_duties"] if d["month"] >= "2018-05")
        (closed,) = await c.events(MatterClosedOff)
        assert closed["matter_id"] == matter["id"] and closed["lead_department"] == "jsj"
        # It stays on the year's list; later months ask for no report.
        year = answered(await c.client.get(f"{LIST}/matters?state=closed-off", headers=c.office()))
        assert [m["id"] for m in year["items"]] == [matter["id"]]
        await major_progress.sweep_behind(c.ctx, at("2018-12-31 10:00"))
        assert [e["subject_id"] for e in await _behind(c, "major-monthly-report")] == [
            f"{matter['id']}@2018-03"
        ]
        history = answered(await c.client.get(f"{base}/history", headers=c.office()))
        assert [h["action"] for h in history] == [
            "listed",
            "close-off-requested",
            "refused",
            "close-off-requested",
            "closed-off",
        ]


async def _three_matters(c: Coordination) -> list[dict[str, Any]]:
    """jsj's matter 1 on time (done by its dates, every report filed), jtj's matter 2 behind on its
    June milestone with a reason, kjj's matter 3 behind too and without its May and June reports;
    all listed on 2018-03-01, every first milestone done on 04-29."""
    views = await support.listed(c, major_matter(1), major_matter(2, lead="jtj"), major_matter(3, lead="kjj"))
    one, two, three = views
    for month, on in (("2018-03", "2018-04-02"), ("2018-04", "2018-05-02"), ("2018-05", "2018-06-02")):
        c.clock.now = at(f"{on} 09:00")
        body = support.progress(month, public_summary=f"{month} 按计划推进")
        answered(await c.client.post(_reports(one), json=body, headers=c.dept("jsj")), 201)
        answered(await c.client.post(_reports(two), json=support.progress(month), headers=c.dept("jtj")), 201)
        if month != "2018-05":
            answered(
                await c.client.post(_reports(three), json=support.progress(month), headers=c.dept("kjj")), 201
            )
    for view, lead in ((one, "jsj"), (two, "jtj"), (three, "kjj")):
        c.clock.now = at("2018-04-29 10:00")
        url = f"/v1/major-matters/{view['id']}/milestones/{view['milestones'][0]['id']}/completion"
        answered(await c.client.post(url, json={"done_on": "2018-04-29"}, headers=c.dept(lead)))
    c.clock.now = at("2018-06-30 15:00")
    url = f"/v1/major-matters/{one['id']}/milestones/{one['milestones'][1]['id']}/completion"
    answered(await c.client.post(url, json={"done_on": "2018-06-30"}, headers=c.dept("jsj")))
    c.clock.now = at("2018-07-03 09:00")
    late = support.progress("2018-06", public_summary="征地推进中", delay_reason="征地协议尚未签订")
    answered(await c.client.post(_reports(two), json=late, headers=c.dept("jtj")), 201)
    answered(await c.client.post(_reports(one), json=support.progress("2018-06"), headers=c.dept("jsj")), 201)
    return views


def _reports(view: dict[str, Any]) -> str:
    return f"/v1/major-matters/{view['id']}/progress-reports"


async def test_C8_monthly_bulletin_has_one_row_per_matter(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    async with coordination(postgres, common, at("2018-03-01 09:00")) as c:
        await _three_matters(c)
        c.clock.now = at("2018-07-10 09:00")
        problem(await c.client.get("/v1/major-matter-bulletins/2018-06", headers=c.dept("jsj")), 403)
        bulletin = answered(await c.client.get("/v1/major-matter-bulletins/2018-06", headers=c.office()))
        assert bulletin["title"] == "2018年6月重大事项进展情况月度通报"
        rows = {r["number"]: r for r in bulletin["rows"]}
        assert [r["number"] for r in bulletin["rows"]] == [1, 2, 3]
        assert (rows[1]["behind"], rows[1]["report"], rows[1]["behind_reasons"]) == (False, "已报送", [])
        assert rows[1]["milestones"] == [
            "完成初步设计：已完成（2018-04-29）",
            "主体工程开工：已完成（2018-06-30）",
        ]
        assert rows[2]["behind"] is True and rows[2]["reason_given"] == "征地协议尚未签订"
        assert rows[2]["behind_reasons"] == ["节点“主体工程开工”（2018-06-30）逾期未完成"]
        assert rows[2]["milestones"][1] == "主体工程开工：逾期未完成（2018-06-30）"
        assert rows[2]["report"] == "已报送"
        assert (rows[3]["behind"], rows[3]["report"]) == (True, "未报送")
        assert rows[3]["behind_reasons"] == [
            "节点“主体工程开工”（2018-06-30）逾期未完成",
            "2018-05 月报逾期未报",
            "2018-06 月报逾期未报",
        ]
        # The March bulletin judges March as it stood when March's reports were due.
        march = answered(
            await c.client.get("/v1/major-matter-bulletins/2018-03", headers=c.leader("vm-urban"))
        )
        assert [(r["behind"], r["report"]) for r in march["rows"]] == [(False, "已报送")] * 3
        assert march["rows"][0]["milestones"][0] == "完成初步设计：未到期（2018-04-30）"

        html = await c.client.get("/v1/major-matter-bulletins/2018-06/bulletin.html", headers=c.office())
        assert html.status_code == 200 and "征地协议尚未签订" in html.text and "进展迟缓：" in html.text
        xlsx = await c.client.get("/v1/major-matter-bulletins/2018-06/bulletin.xlsx", headers=c.office())
        assert xlsx.headers["content-type"] == rendering.XLSX_MEDIA_TYPE
        sheet = load_workbook(io.BytesIO(xlsx.content)).active
        assert sheet is not None
        values = [[cell.value for cell in row] for row in sheet.iter_rows()]
        assert values[1] == list(bulletin["headers"])
        assert len(values) == 5 and values[3][1] == "2. 重大事项2" and values[3][6] == "征地协议尚未签订"


async def test_C8_public_quarterly_page_hides_non_public_fields(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    async with coordination(postgres, common, at("2018-03-01 09:00")) as c:
        one, _, _ = await _three_matters(c)
        c.clock.now = at("2018-06-30 20:00")
        checks = f"/v1/major-matters/{one['id']}/checks"
        check = {
            "checked_on": "2018-06-28",
            "inspectors": "市政府督查室 张三",
            "findings": "现场核查发现围挡未到位",
        }
        problem(await c.client.post(checks, json=check, headers=c.dept("jsj")), 403)
        supervision = c.auth("supervisor", "supervision")
        recorded = answered(await c.client.post(checks, json=check, headers=supervision), 201)
        assert recorded["recorded_by"] == "supervisor-supervision"
        assert [x["findings"] for x in answered(await c.client.get(checks, headers=c.dept("jsj")))] == [
            "现场核查发现围挡未到位"
        ]
        early = problem(await c.client.post("/v1/major-matter-publications/2018-Q2", headers=c.office()), 422)
        assert early["rule"] == "C8" and early["type"] == "/problems/quarter-not-ended"
        c.clock.now = at("2018-07-10 09:00")
        problem(await c.client.post("/v1/major-matter-publications/2018-Q2", headers=c.dept("jsj")), 403)
        answered(await c.client.post("/v1/major-matter-publications/2018-Q2", headers=c.office()), 201)
        problem(await c.client.post("/v1/major-matter-publications/2018-Q2", headers=c.office()), 409)

        public = await c.client.get("/v1/major-matter-publications/2018-Q2")  # no token
        page = answered(public)
        assert [(m["number"], m["status"]) for m in page["matters"]] == [
            (1, "按计划推进"),
            (2, "进展迟缓"),
            (3, "进展迟缓"),
        ]
        first = page["matters"][0]
        assert first["progress"] == "2018-05 按计划推进" and first["quarter_target"] == "主体工程开工"
        assert [m["status"] for m in first["milestones"]] == ["已完成", "已完成"]
        text = public.text
        for hidden in (
            "王明",
            "0572-2222222",
            "征地协议尚未签订",
            "现场照片",
            "内部进展",
            "围挡未到位",
            "responsible_person",
        ):
            assert hidden not in text
        assert set(first) == {
            "number",
            "title",
            "task",
            "lead_department_name",
            "cooperating_department_names",
            "leader_title",
            "completion_due",
            "quarter_target",
            "milestones",
            "progress",
            "status",
        }
        html = await c.client.get("/v1/major-matter-publications/2018-Q2/page.html")
        assert html.status_code == 200 and "进展迟缓" in html.text and "王明" not in html.text
        feed = await c.client.get("/v1/major-matter-publications/feed.atom")
        assert feed.headers["content-type"].startswith("application/atom+xml")
        root = ET.fromstring(feed.content)
        entries = root.findall("{http://www.w3.org/2005/Atom}entry")
        assert [e.findtext("{http://www.w3.org/2005/Atom}title") for e in entries] == [
            "2018年第二季度重大事项进展情况"
        ]
        assert "进展迟缓 2 件" in (entries[0].findtext("{http://www.w3.org/2005/Atom}summary") or "")
        problem(await c.client.get("/v1/major-matter-publications/2018-Q3"), 404)


async def test_C8_year_end_scores_by_the_executive_meeting(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    async with coordination(postgres, common, at("2018-03-01 09:00")) as c:
        one, two = await support.listed(c, major_matter(1), major_matter(2, lead="jtj"))
        url = "/v1/major-matter-lists/2018/scores"
        body = {
            "meeting": "市政府第30次常务会议",
            "scored_on": "2018-11-28",
            "scores": [{"matter_id": one["id"], "score": 92.5}, {"matter_id": two["id"], "score": 78}],
        }
        c.clock.now = at("2018-11-30 10:00")
        early = problem(await c.client.post(url, json=body, headers=c.office()), 422)
        assert early["rule"] == "C8" and early["type"] == "/problems/scoring-not-open"
        c.clock.now = at("2018-12-20 10:00")
        body["scored_on"] = "2018-12-20"
        problem(await c.client.post(url, json=body, headers=c.dept("jsj")), 403)
        too_high = {**body, "scores": [{"matter_id": one["id"], "score": 101}]}
        refused = problem(await c.client.post(url, json=too_high, headers=c.office()), 422)
        assert refused["field"] == "scores.0.score" and refused["rule"] == "C8"
        other_year = {**body, "scores": [{"matter_id": "mm-nope", "score": 90}]}
        assert problem(await c.client.post(url, json=other_year, headers=c.office()), 422)["field"] == (
            "scores.0.matter_id"
        )
        scored = answered(await c.client.post(url, json=body, headers=c.office()))
        assert scored["score_max"] == 100
        assert [(s["number"], s["score"], s["meeting"]) for s in scored["scores"]] == [
            (1, 92.5, "市政府第30次常务会议"),
            (2, 78.0, "市政府第30次常务会议"),
        ]
        mine = answered(await c.client.get(url, headers=c.dept("jtj")))
        assert [(s["number"], s["score"]) for s in mine["scores"]] == [(2, 78.0)]
        trail = answered(await c.client.get(f"/v1/major-matters/{one['id']}/history", headers=c.office()))
        assert trail[-1]["action"] == "scored" and trail[-1]["changes"]["score"] == 92.5
