"""Assessment schemes (E6) through the evaluation API: the year's scheme, scores and deductions with
their sources, bulk import, closing items, deductions proposed from platform facts, results."""

from __future__ import annotations

import asyncio
import io
from datetime import datetime
from decimal import Decimal
from typing import Any

import httpx
from openpyxl import load_workbook

from services.evaluation.assessment_domain import shipped_scheme
from shared.deadlines import SHANGHAI
from shared.events import AssessmentPublished, DeadlinePassed, DeadlinePassedWithdrawn
from shared.settings import CommonSettings
from tests.support import assessment as support
from tests.support.apps import bearer
from tests.support.evaluation import consumed, evaluation, office, problem
from tests.support.events import committed, message_of
from tests.support.infra import PostgresSource

YEAR = 2013
BASE = f"/v1/assessment/years/{YEAR}"
UNITS = [
    {"code": "fgw", "class": "B", "group": "executive"},
    {"code": "czj", "class": "B", "group": "executive"},
    {"code": "jxw", "class": "B", "group": "industry"},
    {"code": "gsj", "class": "A", "group": "vertical"},
]
SCHEME = shipped_scheme("wenzhou-2013")


def assessor(common: CommonSettings, code: str) -> dict[str, str]:
    role = "supervisor" if code == "supervision" else "department"
    return bearer(common, role, department=code, client_id=f"{code}-clerk")


async def set_scheme(
    client: httpx.AsyncClient, common: CommonSettings, units: list[dict[str, str]] = UNITS
) -> None:
    r = await client.put(
        f"{BASE}/scheme", json={"based_on": "wenzhou-2013", "units": units}, headers=office(common)
    )
    assert r.status_code == 200, r.text


def deadline_passed(subject: str, department: str, day: int = 10) -> DeadlinePassed:
    return DeadlinePassed(
        subject_kind="instruction",
        subject_id=subject,
        department=department,
        deadline=datetime(YEAR, 5, day, tzinfo=SHANGHAI),
        consequence="overdue",
    )


async def test_E6_the_office_sets_the_years_scheme_and_a_bad_scheme_is_refused(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    async with evaluation(postgres, common) as (client, _, _):
        shipped = (await client.get("/v1/assessment/schemes", headers=office(common))).json()
        assert [(s["id"], s["base"], s["units"]) for s in shipped] == [("wenzhou-2013", "12", 44)]
        r = await client.put(f"{BASE}/scheme", json={"based_on": "wenzhou-2013"}, headers=office(common))
        assert r.status_code == 200, r.text
        assert (r.json()["version"], r.json()["created_by"]) == (1, "office-clerk")
        assert r.json()["created_at"].endswith("+08:00")
        document = r.json()["document"]
        document["parts"][0]["weight_percent"] = "60"
        body = problem(
            await client.put(f"{BASE}/scheme", json={"document": document}, headers=office(common)),
            422,
            "assessment-scheme-invalid",
        )
        assert (body["rule"], body["field"]) == ("E6", "parts.weight_percent")
        assert "权重之和不等于100%" in body["detail"]
        document["parts"][0]["weight_percent"] = "70"
        document["parts"][0]["sections"][1]["items"][0]["points"] = "6"
        document["parts"][0]["sections"][1]["points"] = "21"
        body = problem(
            await client.put(f"{BASE}/scheme", json={"document": document}, headers=office(common)),
            422,
            "assessment-scheme-invalid",
        )
        assert body["field"] == "parts[0].sections" and "不等于基本分×10 = 120" in body["detail"]
        unknown = problem(
            await client.put(f"{BASE}/scheme", json={"based_on": "nowhere-1999"}, headers=office(common)),
            422,
            "assessment-refused",
        )
        assert (unknown["field"], unknown["rule"]) == ("based_on", "E6")
        refused = await client.put(
            f"{BASE}/scheme", json={"based_on": "wenzhou-2013"}, headers=assessor(common, "tjj")
        )
        assert refused.status_code == 403
        await set_scheme(client, common)
        current = (await client.get(f"{BASE}/scheme", headers=assessor(common, "tjj"))).json()
        assert current["version"] == 2 and [u["code"] for u in current["document"]["units"]] == [
            u["code"] for u in UNITS
        ]
        assert (
            await client.get("/v1/assessment/years/2014/scheme", headers=office(common))
        ).status_code == 404
        versions = (await client.get(f"{BASE}/scheme/versions", headers=office(common))).json()
        assert [(v["version"], v["based_on"], len(v["document"]["units"])) for v in versions] == [
            (1, "wenzhou-2013", 44),
            (2, "wenzhou-2013", len(UNITS)),
        ]


async def test_E6_deductions_are_capped_one_per_matter_and_kept_with_their_source(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    async with evaluation(postgres, common) as (client, _, _):
        await set_scheme(client, common)
        supervision = assessor(common, "supervision")

        async def deduct(reason: str, matter: str, **more: Any) -> httpx.Response:
            entry = {"unit": "jxw", "item": "leader-instructions", "reason": reason, "matter": matter, **more}
            return await client.post(f"{BASE}/entries", json=entry, headers=supervision)

        first = await deduct("feedback-missing", "li-1", source="督查通报〔2013〕5号")
        assert first.status_code == 201, first.text
        entry = first.json()
        assert (entry["amount"], entry["capped"], entry["notice"]) == ("1", False, None)
        assert (entry["source_kind"], entry["source"], entry["assessor"]) == (
            "entered",
            "督查通报〔2013〕5号",
            "supervision",
        )
        assert entry["entered_by"] == "supervision-clerk" and entry["entered_at"].endswith("+08:00")
        again = problem(await deduct("criticised", "li-1"), 409, "assessment-same-matter")
        assert (again["rule"], again["field"]) == ("E6", "matter")
        assert (await deduct("criticised", "li-2")).json()["amount"] == "3"
        capped = (await deduct("criticised", "li-3")).json()
        assert (capped["requested"], capped["amount"], capped["capped"]) == ("3", "1", True)
        assert "只扣 1 分" in capped["notice"]
        nowhere = problem(
            await client.post(
                f"{BASE}/entries",
                json={
                    "unit": "gtj",
                    "item": "leader-instructions",
                    "reason": "feedback-missing",
                    "matter": "x",
                },
                headers=supervision,
            ),
            422,
            "assessment-unit-not-assessed",
        )
        assert (nowhere["rule"], nowhere["field"]) == ("E6", "unit")
        not_theirs = problem(
            await client.post(
                f"{BASE}/entries",
                json={
                    "unit": "jxw",
                    "item": "leader-instructions",
                    "reason": "feedback-missing",
                    "matter": "y",
                },
                headers=assessor(common, "tjj"),
            ),
            403,
            "assessment-not-assessor",
        )
        assert not_theirs["rule"] == "E6"
        out_of_range = problem(
            await client.post(
                f"{BASE}/entries",
                json={"unit": "jxw", "item": "satisfaction-survey", "amount": "5.5"},
                headers=assessor(common, "tjj"),
            ),
            422,
            "assessment-refused",
        )
        assert out_of_range["field"] == "amount"
        listed = (await client.get(f"{BASE}/entries", params={"unit": "jxw"}, headers=office(common))).json()
        assert [e["amount"] for e in listed["items"]] == ["1", "3", "1"]


async def test_E6_a_bulk_import_is_all_or_nothing(postgres: PostgresSource, common: CommonSettings) -> None:
    async with evaluation(postgres, common) as (client, _, _):
        await set_scheme(client, common)
        tjj = assessor(common, "tjj")
        good = [{"unit": u["code"], "item": "satisfaction-survey", "amount": "4.25"} for u in UNITS[:3]]
        bad = [*good, {"unit": "nowhere", "item": "satisfaction-survey", "amount": "4"}]
        body = problem(
            await client.post(
                f"{BASE}/entries/import", json={"source": "满意度调查", "entries": bad}, headers=tjj
            ),
            422,
            "assessment-unit-not-assessed",
        )
        assert body["field"] == "entries[3].unit" and body["detail"].startswith("第4条")
        assert (await client.get(f"{BASE}/entries", headers=office(common))).json()["items"] == []
        r = await client.post(
            f"{BASE}/entries/import", json={"source": "满意度调查", "entries": good}, headers=tjj
        )
        assert r.status_code == 201, r.text
        batch = r.json()["batch"]
        listed = (await client.get(f"{BASE}/entries", headers=office(common))).json()["items"]
        assert {(e["unit"], e["amount"], e["source_kind"], e["source"]) for e in listed} == {
            (u["code"], "4.25", "imported", batch) for u in UNITS[:3]
        }


async def fill_everything(client: httpx.AsyncClient, common: CommonSettings) -> None:
    await support.fill_everything(client, BASE, [u["code"] for u in UNITS], lambda a: assessor(common, a))


async def test_E6_a_deduction_proposed_from_an_overdue_instruction_is_confirmed_and_published_with_its_source(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    async with evaluation(postgres, common) as (client, bus, app):
        await set_scheme(client, common)
        overdue = deadline_passed("li-7", "jxw")
        second = deadline_passed("li-8", "jxw", day=20)
        withdrawn_fact = deadline_passed("li-9", "fgw")
        withdrawal = DeadlinePassedWithdrawn(
            **withdrawn_fact.model_dump(exclude={"parent_id"}),
            reason="backfilled-feedback",
            stated_at=datetime(YEAR, 5, 9, tzinfo=SHANGHAI),
            withdrawn_by="city-office",
            withdrawn_at=datetime(YEAR, 5, 15, tzinfo=SHANGHAI),
        )
        not_assessed = deadline_passed("li-10", "gtj")
        next_year = DeadlinePassed(
            **{
                **overdue.model_dump(),
                "subject_id": "li-11",
                "deadline": datetime(YEAR + 1, 2, 1, tzinfo=SHANGHAI),
            }
        )
        events = [overdue, second, withdrawn_fact, withdrawal, not_assessed, next_year]
        await bus.publish([message_of(e) for e in events])
        await consumed(app, len(events))
        supervision = assessor(common, "supervision")
        proposals = (await client.get(f"{BASE}/proposals", headers=supervision)).json()
        assert [
            (p["unit"], p["item"], p["reason"], p["amount"], p["matter"], p["state"]) for p in proposals
        ] == [
            ("jxw", "leader-instructions", "feedback-missing", "1", "li-7", "proposed"),
            ("jxw", "leader-instructions", "feedback-missing", "1", "li-8", "proposed"),
        ]
        assert (await client.get(f"{BASE}/proposals", headers=assessor(common, "tjj"))).json() == []
        first, other = proposals
        confirm = f"{BASE}/proposals/{first['id']}/confirm"
        assert (await client.post(confirm, headers=assessor(common, "tjj"))).status_code == 403
        r = await client.post(confirm, json={"note": "经核实未按要求反馈"}, headers=supervision)
        assert r.status_code == 200, r.text
        assert (r.json()["state"], r.json()["decided_by"]) == ("confirmed", "supervision-clerk")
        problem(await client.post(confirm, headers=supervision), 409, "assessment-proposal-decided")
        dismissed = problem(
            await client.post(f"{BASE}/proposals/{other['id']}/dismiss", json={}, headers=supervision),
            422,
            "validation-error",
        )
        assert "reason" in dismissed["detail"]
        r = await client.post(
            f"{BASE}/proposals/{other['id']}/dismiss",
            json={"reason": "已书面反馈，系统未登记"},
            headers=supervision,
        )
        assert (r.json()["state"], r.json()["note"]) == ("dismissed", "已书面反馈，系统未登记")

        preview = (await client.get(f"{BASE}/results", headers=office(common))).json()
        assert preview["state"] == "preview" and not preview["complete"]
        problem(await client.post(f"{BASE}/publish", headers=office(common)), 409, "assessment-incomplete")
        assert (await client.get(f"{BASE}/results")).status_code == 401
        await fill_everything(client, common)
        published = await client.post(f"{BASE}/publish", headers=office(common))
        assert published.status_code == 200, published.text

        results = (await client.get(f"{BASE}/results")).json()
        assert results["state"] == "published" and results["published_at"].endswith("+08:00")
        jxw = next(u for u in results["units"] if u["unit"] == "jxw")
        assert jxw["items"]["leader-instructions"] == "4"
        breakdown = (await client.get(f"{BASE}/units/jxw")).json()
        item = next(i for i in breakdown["items"] if i["item"] == "leader-instructions")
        [deduction] = item["entries"]
        assert (deduction["source_kind"], deduction["source"]) == ("proposed", first["id"])
        assert (deduction["entered_by"], deduction["confirmed_by"]) == ("platform", "supervision-clerk")
        assert deduction["source_detail"]["kind"] == "instruction-overdue"
        assert deduction["source_detail"]["subject_id"] == "li-7"
        assert deduction["note"] == "经核实未按要求反馈"
        (tiers,) = (i for i in breakdown["items"] if i["item"] == "party-building")
        assert tiers["closed_by"] == "organs-committee-clerk" and tiers["closed_at"].endswith("+08:00")
        assert tiers["entries"][0]["kind"] == "measure"
        page = (await client.get(f"{BASE}/units/jxw.html")).text
        assert "平台事件提出、考核单位确认：instruction-overdue li-7" in page
        assert "organs-committee-clerk" in page and "结项计算" in page
        [event] = await committed(app, AssessmentPublished)
        assert event["assessment_id"] == f"wenzhou-2013@{YEAR}" and event["scores"]["jxw"] == jxw["final"]
        problem(
            await client.post(
                f"{BASE}/entries",
                json={"unit": "jxw", "item": "leader-instructions", "reason": "criticised", "matter": "z"},
                headers=supervision,
            ),
            409,
            "assessment-item-closed",
        )


async def test_E6_results_follow_the_003_formula_and_render_as_html_and_xlsx(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    """Four units, every item at 80% of its points except: party building (4 units: 20% → 1 place
    优秀 5, 50% → 2 places up to the 3rd 良好 3, the 4th 合格 1 — half-up of 0.8 and 2.8), the
    integrity rank within each group (fgw 1st of executive 20, czj 2nd 19.40, jxw and gsj alone
    20), the panel (16 + 17) ÷ 2 = 16.50 and no deduction (deduction items full: 5 + 5 + 20 + 5 + 5).

    fgw daily = 40 (responsibility: 5 + 5 + 20 + 5 + tier 5) + 17 (service: 4 + 4 + 4 + checks 5)
    + 16 (efficiency: 8 + 4 + 4) + 16.50 + 20 = 109.50; year-end 0.8 × 120 = 96;
    final (109.5 × 0.7 + 96 × 0.3) ÷ 10 = (76.65 + 28.8) ÷ 10 = 10.545 → 10.55 (half-up).
    czj: tier 3, integrity 19.40: daily 38 + 17 + 16 + 16.5 + 19.4 = 106.90: (74.83 + 28.8) ÷ 10
    = 10.363 → 10.36.
    jxw: tier 3, integrity 20: daily 107.50: (75.25 + 28.8) ÷ 10 = 10.405 → 10.41.
    gsj (class A): tier 1, integrity 20: daily 105.50: (73.85 + 28.8) ÷ 10 = 10.265 → 10.27, passes 9.
    Class B ranks: fgw 1, jxw 2, czj 3. Prizes of 4 units: 5% → 0.2 → 0 places, 10% → 0.4 → 0: none."""
    async with evaluation(postgres, common) as (client, _, _):
        await set_scheme(client, common)
        await fill_everything(client, common)
        results = (await client.get(f"{BASE}/results", headers=office(common))).json()
        assert results["complete"]
        by_unit = {u["unit"]: u for u in results["units"]}
        assert {u: (r["final"], r["class_rank"], r["passed"], r["prize"]) for u, r in by_unit.items()} == {
            "fgw": ("10.55", 1, None, None),
            "jxw": ("10.41", 2, None, None),
            "czj": ("10.36", 3, None, None),
            "gsj": ("10.27", None, True, None),
        }
        assert by_unit["fgw"]["parts"] == {"daily": "109.50", "year-end": "96.0"}
        assert by_unit["czj"]["items"]["integrity"] == "19.40"
        html = await client.get(f"{BASE}/results.html", headers=office(common))
        assert html.status_code == 200 and "市发改委" in html.text and "10.55" in html.text
        xlsx = await client.get(f"{BASE}/results.xlsx", headers=office(common))
        assert xlsx.headers["content-type"].startswith("application/vnd.openxmlformats")
        sheet = load_workbook(io.BytesIO(xlsx.content)).active
        assert sheet is not None
        rows = list(sheet.iter_rows(values_only=True))
        assert rows[2][1] == "市发改委" and Decimal(str(rows[2][-3])) == Decimal("10.55")


async def test_E6_an_unpublished_document_and_a_missed_report_duty_are_proposed_as_the_scheme_maps_them(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    """wenzhou-2013 maps document-version-overdue (D1) to 服务型(4) 公共服务查访 (1 or 2 points, stated
    by the inspectors) and report-duty-overdue (I4) to 责任型(2) (amount stated by the 督查室)."""
    async with evaluation(postgres, common) as (client, bus, app):
        await set_scheme(client, common)
        due = datetime(YEAR, 6, 20, tzinfo=SHANGHAI)
        events = [
            DeadlinePassed(
                subject_kind="document-version",
                subject_id="doc-1@1",
                department="fgw",
                deadline=due,
                consequence="overdue",
            ),
            DeadlinePassed(
                subject_kind="report-duty",
                subject_id="rd-1",
                department="czj",
                deadline=due,
                consequence="overdue",
            ),
        ]
        await bus.publish([message_of(e) for e in events])
        await consumed(app, len(events))
        everything = (await client.get(f"{BASE}/proposals", headers=office(common))).json()
        assert [(p["unit"], p["item"], p["reason"], p["amount"], p["matter"]) for p in everything] == [
            ("czj", "major-decisions", "implementation-accident", None, "rd-1"),
            ("fgw", "public-service-visits", None, None, "doc-1@1"),
        ]
        inspectors, supervision = assessor(common, "inspectors"), assessor(common, "supervision")
        (visit,) = (await client.get(f"{BASE}/proposals", headers=inspectors)).json()
        confirm = f"{BASE}/proposals/{visit['id']}/confirm"
        missing = problem(await client.post(confirm, headers=inspectors), 422, "assessment-refused")
        assert (missing["field"], missing["rule"]) == ("amount", "E6")
        problem(
            await client.post(confirm, json={"amount": "3"}, headers=inspectors), 422, "assessment-refused"
        )
        assert (await client.post(confirm, json={"amount": "2"}, headers=inspectors)).json()[
            "state"
        ] == "confirmed"
        # The 督查室 is also an organizer: it sees every proposal, and decides those of its items.
        (report,) = (
            await client.get(f"{BASE}/proposals", params={"state": "proposed"}, headers=supervision)
        ).json()
        r = await client.post(
            f"{BASE}/proposals/{report['id']}/confirm", json={"amount": "1.5"}, headers=supervision
        )
        assert r.status_code == 200, r.text
        entries = (await client.get(f"{BASE}/entries", headers=office(common))).json()["items"]
        assert sorted((e["unit"], e["item"], e["amount"], e["source_kind"]) for e in entries) == [
            ("czj", "major-decisions", "1.5", "proposed"),
            ("fgw", "public-service-visits", "2", "proposed"),
        ]


async def test_E6_concurrent_deductions_keep_the_cap_and_one_per_matter(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    """Six deductions of 3 at once under the 5 points of 责任型(1): they are judged one after the
    other, so 5 are taken in all (3 + 2 capped + 0 …); three at once for one matter: one is taken."""
    async with evaluation(postgres, common) as (client, _, _):
        await set_scheme(client, common)
        supervision = assessor(common, "supervision")

        def deduct(unit: str, matter: str) -> Any:
            entry = {"unit": unit, "item": "leader-instructions", "reason": "criticised", "matter": matter}
            return client.post(f"{BASE}/entries", json=entry, headers=supervision)

        answers = await asyncio.gather(*(deduct("jxw", f"c-{n}") for n in range(6)))
        assert [r.status_code for r in answers] == [201] * 6
        assert sum(Decimal(r.json()["amount"]) for r in answers) == 5
        same = await asyncio.gather(*(deduct("fgw", "one-matter") for _ in range(3)))
        assert sorted(r.status_code for r in same) == [201, 409, 409]


async def test_E6_a_wrong_deduction_is_withdrawn_with_its_reason_and_the_matter_can_be_deducted_again(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    async with evaluation(postgres, common) as (client, _, _):
        await set_scheme(client, common)
        supervision = assessor(common, "supervision")
        entry = {"unit": "jxw", "item": "leader-instructions", "reason": "criticised", "matter": "li-1"}
        first = (await client.post(f"{BASE}/entries", json=entry, headers=supervision)).json()
        withdraw = f"{BASE}/entries/{first['id']}/withdraw"
        body = {"reason": "应为未按要求反馈"}
        assert (await client.post(withdraw, json=body, headers=assessor(common, "tjj"))).status_code == 403
        r = await client.post(withdraw, json=body, headers=supervision)
        assert r.status_code == 200, r.text
        assert (r.json()["withdrawn_by"], r.json()["withdrawn_reason"]) == (
            "supervision-clerk",
            "应为未按要求反馈",
        )
        assert r.json()["withdrawn_at"].endswith("+08:00")
        problem(
            await client.post(withdraw, json=body, headers=supervision), 409, "assessment-entry-withdrawn"
        )
        again = {**entry, "reason": "feedback-missing"}
        assert (await client.post(f"{BASE}/entries", json=again, headers=supervision)).status_code == 201
        preview = (await client.get(f"{BASE}/results", headers=office(common))).json()
        (jxw,) = (u for u in preview["units"] if u["unit"] == "jxw")
        assert jxw["items"]["leader-instructions"] == "4"
        listed = (await client.get(f"{BASE}/entries", params={"unit": "jxw"}, headers=office(common))).json()
        assert [(e["reason"], e["withdrawn_by"]) for e in listed["items"]] == [
            ("criticised", "supervision-clerk"),
            ("feedback-missing", None),
        ]
        page = (await client.get(f"{BASE}/units/jxw.html", headers=office(common))).text
        assert "已撤销" in page and "应为未按要求反馈" in page
        problem(
            await client.post(f"{BASE}/entries/nope/withdraw", json=body, headers=supervision),
            404,
            "assessment-entry-not-found",
        )


async def test_E6_the_breakdown_of_a_unit_not_assessed_is_not_found(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    async with evaluation(postgres, common) as (client, _, _):
        await set_scheme(client, common)
        body = problem(
            await client.get(f"{BASE}/units/gtj", headers=office(common)), 404, "assessment-unit-not-assessed"
        )
        assert body["rule"] == "E6"
