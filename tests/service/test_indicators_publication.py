"""Publishing bulletins (I3) and their consequences: report duties (I4) and interviews (I5)."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from openpyxl import load_workbook

from services.indicators.service.duties import sweep_overdue_report_duties
from shared import reference
from shared.events import DeadlinePassed, InterviewRequired, RankingPublished
from shared.settings import CommonSettings
from tests.support.apps import bearer
from tests.support.events import committed
from tests.support.indicators import Office, at, indicators, set_clock, values_for_rank
from tests.support.infra import PostgresSource


def by(key: Callable[[dict[str, Any]], Any], items: list[dict[str, Any]]) -> list[Any]:
    return sorted(key(i) for i in items)


def may_bulletin_ranks_and_standings(published: dict[str, Any]) -> None:
    assert published["id"] == "bulletin-2018-05-e1" and published["edition"] == 1
    assert published["title"] == "湖州市重要指标全省排名“保五争三”通报（2018年5月）"
    entries = {e["indicator"]: e for e in published["entries"]}
    assert [e["indicator"] for e in published["entries"]] == [
        "retail-sales-of-consumer-goods",
        "npl-ratio",
        "pm25-average-concentration",
    ]
    retail = entries["retail-sales-of-consumer-goods"]
    assert retail["rank"] == 2 and retail["previous_period"] == "2018-04" and retail["previous_rank"] == 4
    assert retail["change"] == 2 and retail["within_top3"] and retail["standing_label"] == "争三达标"
    assert retail["departments"] == [{"code": "swj", "name": "市商务局"}]
    assert [p["rank"] for p in retail["trend"]] == [4, 2]
    npl = entries["npl-ratio"]
    assert npl["rank"] == 6 and npl["worse_than_threshold"] and not npl["within_top5"]
    assert npl["previous_rank"] is None and npl["change"] is None
    assert [d["code"] for d in npl["departments"]] == ["jrb", "yjj"]
    assert npl["report_duty"]["department"] == "jrb"
    pm25 = entries["pm25-average-concentration"]
    assert pm25["rank"] == 5 and pm25["within_top5"] and not pm25["within_top3"]
    assert pm25["report_duty"] is None
    assert published["summary"] == {
        "released": 3,
        "within_top3": 1,
        "within_top5": 2,
        "worse_than_threshold": 1,
        "not_released": 21,
    }


async def bulletin_is_public_as_json_html_and_xlsx(
    client: httpx.AsyncClient, published: dict[str, Any]
) -> None:
    # Published bulletins are public in JSON, HTML (with a trend chart per indicator) and XLSX.
    r = await client.get("/v1/bulletins/2018-05")
    assert r.status_code == 200 and r.json() == published
    html = await client.get("/v1/bulletins/2018-05/bulletin.html")
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    assert html.text.count("<svg") == 3 and "不良贷款率" in html.text and "第6位" in html.text
    assert "争三" in html.text and "保五" in html.text and "市金融办主要负责人" in html.text
    xlsx = await client.get("/v1/bulletins/2018-05/bulletin.xlsx")
    assert xlsx.status_code == 200 and "attachment" in xlsx.headers["content-disposition"]
    book = load_workbook(io.BytesIO(xlsx.content))
    assert book.sheetnames == ["通报", "各市数据", "排名走势"]
    rows = [list(r) for r in book["通报"].iter_rows(min_row=4, max_row=6, values_only=True)]
    assert [(r[1], r[4], r[5]) for r in rows] == [
        ("社会消费品零售总额", "第2位", "↑2"),
        ("不良贷款率", "第6位", "—"),
        ("设区市PM2.5平均浓度", "第5位", "—"),
    ]


async def test_I3_a_published_month_emits_ranking_published_and_a_public_bulletin(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    async with indicators(postgres, common, "2018-06-20") as (client, app, office):
        await office.record("retail-sales-of-consumer-goods", "2018-04", values=values_for_rank(4))
        await office.publish("2018-04", "2018-05-15")
        await office.record("retail-sales-of-consumer-goods", "2018-05", values=values_for_rank(2))
        await office.record("npl-ratio", "2018-05", values=values_for_rank(6, higher_is_better=False))
        await office.record("pm25-average-concentration", "2018-05", values=values_for_rank(5, tie=True))

        r = await client.get("/v1/bulletins/2018-05/preview", headers=office.headers)
        assert r.status_code == 200 and r.json()["draft"] is True
        assert (await client.get("/v1/bulletins/2018-05")).status_code == 404

        published = await office.publish("2018-05", "2018-06-14")
        may_bulletin_ranks_and_standings(published)

        ranking = await committed(app, RankingPublished)
        may = [e for e in ranking if e["period"] == "2018-05"]
        assert by(
            lambda e: (e["indicator"], e["rank"], e["worse_than_threshold"], tuple(e["departments"])), may
        ) == [
            ("npl-ratio", 6, True, ("jrb", "yjj")),
            ("pm25-average-concentration", 5, False, ("hbj",)),
            ("retail-sales-of-consumer-goods", 2, False, ("swj",)),
        ]
        assert {e["bulletin_id"] for e in may} == {"bulletin-2018-05-e1"} and {e["cities"] for e in may} == {
            11
        }

        await bulletin_is_public_as_json_html_and_xlsx(client, published)
        listing = (await client.get("/v1/bulletins")).json()["items"]
        assert [b["id"] for b in listing] == ["bulletin-2018-05-e1", "bulletin-2018-04-e1"]


async def test_I3_publication_problems(postgres: PostgresSource, common: CommonSettings) -> None:
    async with indicators(postgres, common, "2018-06-20") as (client, _app, office):
        r = await client.post("/v1/bulletins/2018-05/editions", json={}, headers=office.headers)
        assert r.status_code == 409 and r.json()["type"] == "/problems/nothing-to-publish"
        await office.record("exports", "2018-05", rank=3)
        r = await client.post(
            "/v1/bulletins/2018-05/editions", headers=bearer(common, "department", department="swj")
        )
        assert r.status_code == 403
        r = await client.post(
            "/v1/bulletins/2018-05/editions", json={"issued_on": "2018-06-21"}, headers=office.headers
        )
        assert r.status_code == 422 and r.json()["type"] == "/problems/issued-in-future"
        r = await client.post("/v1/bulletins/2018-5/editions", json={}, headers=office.headers)
        assert r.status_code == 422 and r.json()["type"] == "/problems/invalid-period"
        r = await client.post("/v1/bulletins/2018-05/editions", headers=office.headers)
        assert r.status_code == 201 and r.json()["issued_on"] == "2018-06-20"
        r = await client.post("/v1/bulletins/2018-05/editions", headers=office.headers)
        assert r.status_code == 409 and r.json()["type"] == "/problems/bulletin-unchanged"
        assert (await client.get("/v1/bulletins/2018-05", params={"edition": 2})).status_code == 404


NPL_REPORT = {
    "causes": "不良贷款处置滞后",
    "targets": "年底前回到全省前五",
    "measures": "加快不良资产处置",
}


async def only_jrb_reads_and_files_its_report(
    client: httpx.AsyncClient,
    app: FastAPI,
    office: Office,
    common: CommonSettings,
    npl: dict[str, Any],
    jrb: dict[str, str],
    swj: dict[str, str],
) -> None:
    report = NPL_REPORT
    mine = (await client.get("/v1/report-duties", headers=jrb)).json()["items"]
    assert [d["indicator"] for d in mine] == ["npl-ratio"]
    r = await client.get("/v1/report-duties", params={"department": "swj"}, headers=jrb)
    assert r.status_code == 403
    assert (await client.get(f"/v1/report-duties/{npl['id']}", headers=swj)).status_code == 403
    assert (await client.get("/v1/report-duties", headers=bearer(common, "leader"))).status_code == 200
    assert (await client.get("/v1/report-duties", headers=bearer(common, "evaluator"))).status_code == 403

    url = f"/v1/report-duties/{npl['id']}/report"
    assert (await client.post(url, json=report, headers=swj)).status_code == 403
    assert (await client.post(url, json=report, headers=office.headers)).status_code == 403
    r = await client.post(url, json={"causes": "只有原因"}, headers=jrb)
    assert r.status_code == 422
    set_clock(app, at("2018-06-22"))
    r = await client.post(url, json=report, headers=jrb)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "filed" and r.json()["late"] is False
    assert r.json()["measures"] == "加快不良资产处置"
    r = await client.post(url, json=report, headers=jrb)
    assert r.status_code == 409 and r.json()["type"] == "/problems/report-already-filed"


async def the_missed_exports_report_is_announced_once(
    client: httpx.AsyncClient, app: FastAPI, exports: dict[str, Any], swj: dict[str, str]
) -> None:
    report = NPL_REPORT
    # The exports report is not filed: the sweeper announces the missed due date once.
    due = datetime.fromisoformat(exports["due_at"])
    ctx = app.state.ctx
    assert await sweep_overdue_report_duties(ctx, due - timedelta(seconds=1)) == 0
    assert await sweep_overdue_report_duties(ctx, due) == 1
    assert await sweep_overdue_report_duties(ctx, due + timedelta(days=3)) == 0
    passed = await committed(app, DeadlinePassed)
    assert passed == [
        {
            "subject_kind": "report-duty",
            "subject_id": exports["id"],
            "department": "swj",
            "deadline": "2018-06-26T00:00:00+08:00",
            "consequence": "overdue",
            "deadline_provisional": False,
            "parent_id": None,
        }
    ]
    overdue = (await client.get(f"/v1/report-duties/{exports['id']}", headers=swj)).json()
    assert overdue["status"] == "overdue"
    # Filed late it is still taken, marked late, and not announced a second time.
    set_clock(app, at("2018-06-28"))
    r = await client.post(f"/v1/report-duties/{exports['id']}/report", json=report, headers=swj)
    assert r.status_code == 200 and r.json()["status"] == "filed" and r.json()["late"] is True
    assert len(await committed(app, DeadlinePassed)) == 1


async def test_I4_worse_than_fifth_owes_a_report_due_by_the_profile_and_filing_closes_it(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    async with indicators(postgres, common, "2018-06-20") as (client, app, office):
        await office.record("npl-ratio", "2018-05", values=values_for_rank(6, higher_is_better=False))
        await office.record("exports", "2018-05", rank=9)
        await office.record("gdp", "2018-Q1", rank=6)
        await office.publish("2018-05", "2018-06-14")
        duties = {d["indicator"]: d for d in await office.duties()}
        assert set(duties) == {"npl-ratio", "exports"}  # the quarterly bulletin is not published yet
        npl = duties["npl-ratio"]
        # Issued Thursday 2018-06-14; 10 days end on Sunday 06-24, a rest day: 24:00 of Monday 06-25.
        assert npl["due_at"] == "2018-06-26T00:00:00+08:00" and npl["deadline_provisional"] is False
        assert npl["department"] == "jrb" and npl["status"] == "open" and npl["rank"] == 6
        assert npl["reason"] == "月度指标全省排名第6位（第5位以后）"

        jrb = bearer(common, "department", department="jrb")
        swj = bearer(common, "department", department="swj")
        await only_jrb_reads_and_files_its_report(client, app, office, common, npl, jrb, swj)
        await the_missed_exports_report_is_announced_once(client, app, duties["exports"], swj)

        # Quarterly releases are reported in the quarterly bulletin.
        quarterly = await office.publish("2018-Q1", "2018-04-20")
        assert quarterly["period_label"] == "2018年第一季度" and quarterly["summary"]["not_released"] == 6
        (gdp,) = await office.duties(indicator="gdp")
        assert gdp["reason"] == "季度指标全省排名第6位（第5位以后）" and gdp["department"] == "fgw"
        assert gdp["due_at"] == "2018-05-03T00:00:00+08:00"  # 04-29 to 05-01 is the 劳动节 holiday
        assert await office.interviews() == []


async def test_I4_a_report_filed_after_the_due_date_before_any_sweep_is_announced_once(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    async with indicators(postgres, common, "2018-06-20") as (client, app, office):
        await office.record("exports", "2018-05", rank=7)
        await office.publish("2018-05", "2018-06-14")
        (duty,) = await office.duties()
        set_clock(app, at("2018-06-27"))
        r = await client.post(
            f"/v1/report-duties/{duty['id']}/report",
            json={"causes": "出口订单下滑", "targets": "三季度回到前五", "measures": "稳外贸专项行动"},
            headers=bearer(common, "department", department="swj"),
        )
        assert r.status_code == 200 and r.json()["late"] is True
        assert await sweep_overdue_report_duties(app.state.ctx, at("2018-07-30")) == 0
        assert [e["subject_id"] for e in await committed(app, DeadlinePassed)] == [duty["id"]]


async def test_I5_three_consecutive_releases_worse_than_fifth_with_a_skipped_release_call_an_interview(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    async with indicators(postgres, common, "2018-08-20") as (client, app, office):
        # Exports: 6th in March, not released in April, 7th in May, 8th in June.
        plan = {"2018-03": 6, "2018-04": None, "2018-05": 7, "2018-06": 8}
        for n, (period, rank) in enumerate(plan.items()):
            if rank is not None:
                await office.record("exports", period, rank=rank)
            await office.record("retail-sales-of-consumer-goods", period, rank=1)
            bulletin = await office.publish(period, f"2018-0{4 + n}-15")
            if period == "2018-04":
                assert "exports" in {x["indicator"] for x in bulletin["not_released"]}
            if period == "2018-05":
                assert await office.interviews() == []
        (interview,) = await office.interviews()
        assert interview["indicator"] == "exports" and interview["period"] == "2018-06"
        assert interview["run"] == ["2018-03", "2018-05", "2018-06"]
        assert interview["department"] == "swj" and interview["kind"] == "consecutive"
        swj = reference.department("swj")
        assert interview["interviewers"] == [swj.vice_mayor, swj.deputy_secretary_general]
        assert interview["reason"] == "月度指标连续3次全省排名第5位以后"
        assert await committed(app, InterviewRequired) == [
            {
                "interview_id": interview["id"],
                "department": "swj",
                "reason": "月度指标连续3次全省排名第5位以后",
                "interviewers": ["vm-industry", "dsg-industry"],
                "indicator": "exports",
                "period": "2018-06",
            }
        ]
        june = (await client.get("/v1/bulletins/2018-06")).json()
        entry = next(e for e in june["entries"] if e["indicator"] == "exports")
        assert entry["interview"]["id"] == interview["id"] and entry["previous_period"] == "2018-05"
        assert [p["period"] for p in entry["trend"]] == ["2018-03", "2018-05", "2018-06"]
        assert (
            await client.get("/v1/interviews", headers=bearer(common, "department", department="jrb"))
        ).json()["items"] == []


async def test_I5_annual_assessment_worse_than_fifth_or_graded_low_calls_an_interview_at_once(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    async with indicators(postgres, common, "2019-03-01") as (client, app, office):
        grades = ["优秀", "良好", "一般", "较差"]
        for code, department in (("assessment-a", "fgw"), ("assessment-b", "hbj"), ("assessment-c", "kjj")):
            r = await client.post(
                "/v1/indicators",
                json={
                    "code": code,
                    "name": f"年度考核{code[-1].upper()}",
                    "frequency": "annual",
                    "departments": [department],
                    "grades": grades,
                    "low_grades": ["一般", "较差"],
                    "effective_from": "2018-01-01",
                },
                headers=office.headers,
            )
            assert r.status_code == 201, r.text
        await office.record("assessment-a", "2018", rank=4, grade="优秀")
        await office.record("assessment-b", "2018", grade="一般")
        await office.record("assessment-c", "2018", rank=7)
        bulletin = await office.publish("2018", "2019-02-20")
        assert bulletin["frequency"] == "annual" and bulletin["period_label"] == "2018年度"
        duties = {d["indicator"]: d for d in await office.duties()}
        assert set(duties) == {"assessment-b", "assessment-c"}
        assert duties["assessment-b"]["reason"] == "年度考核事项等次靠后（一般）"
        interviews = {i["indicator"]: i for i in await office.interviews()}
        assert set(interviews) == {"assessment-b", "assessment-c"}
        assert interviews["assessment-b"]["interviewers"] == ["vm-urban", "dsg-urban"]
        assert interviews["assessment-c"]["reason"] == "年度考核事项全省排名第7位（第5位以后）"
        assert interviews["assessment-c"]["interviewers"] == ["vm-industry", "dsg-industry"]
        ranking = {e["indicator"]: e for e in await committed(app, RankingPublished)}
        assert ranking["assessment-b"]["rank"] is None and ranking["assessment-b"]["grade"] == "一般"
        assert ranking["assessment-b"]["worse_than_threshold"] is True
        assert ranking["assessment-a"]["worse_than_threshold"] is False


async def second_edition_announces_only_the_corrected_release(app: FastAPI, office: Office) -> None:
    second = await office.publish("2018-04", "2018-07-20")
    assert second["id"] == "bulletin-2018-04-e2" and second["title"].endswith("（第2版，含更正）")
    entries = {e["indicator"]: e for e in second["entries"]}
    assert entries["npl-ratio"]["rank"] == 4 and entries["npl-ratio"]["corrected"]
    assert entries["npl-ratio"]["new_in_edition"] and not entries["exports"]["new_in_edition"]
    ranking = await committed(app, RankingPublished)
    assert len(ranking) == 7  # only the corrected release is announced again
    assert ranking[-1] == {
        "bulletin_id": "bulletin-2018-04-e2",
        "indicator": "npl-ratio",
        "period": "2018-04",
        "rank": 4,
        "grade": None,
        "cities": 11,
        "departments": ["jrb", "yjj"],
        "worse_than_threshold": False,
    }


async def test_I3_a_correction_after_publication_is_published_as_a_new_edition_and_duties_follow(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    async with indicators(postgres, common, "2018-07-20") as (client, app, office):
        for period, issued in (
            ("2018-03", "2018-04-15"),
            ("2018-04", "2018-05-15"),
            ("2018-05", "2018-06-15"),
        ):
            await office.record("npl-ratio", period, values=values_for_rank(7, higher_is_better=False))
            await office.record("exports", period, rank=2)
            await office.publish(period, issued)
        (interview,) = await office.interviews()
        assert interview["period"] == "2018-05" and interview["department"] == "jrb"
        april_duty = next(d for d in await office.duties() if d["period"] == "2018-04")

        # The province corrects April: we were 4th. The published bulletin stays as published.
        corrected = await office.correct(
            "npl-ratio",
            "2018-04",
            values=values_for_rank(4, higher_is_better=False),
            reason="省里更正4月数据",
        )
        assert corrected["revision"] == 2 and corrected["published_revision"] == 1
        assert (await client.get("/v1/bulletins/2018-04")).json()["entries"][0]["rank"] == 7
        assert len(await committed(app, RankingPublished)) == 6

        await second_edition_announces_only_the_corrected_release(app, office)
        first = (await client.get("/v1/bulletins/2018-04", params={"edition": 1})).json()
        assert first["entries"][0]["rank"] == 7 and first["edition"] == 1

        # April's report is no longer owed and the run of three is broken: the interview is withdrawn.
        duties = {d["period"]: d for d in await office.duties()}
        assert duties["2018-04"]["id"] == april_duty["id"] and duties["2018-04"]["status"] == "withdrawn"
        assert {duties[p]["status"] for p in ("2018-03", "2018-05")} == {"open"}
        (withdrawn,) = await office.interviews()
        assert withdrawn["id"] == interview["id"] and withdrawn["status"] == "withdrawn"
        r = await client.post(
            f"/v1/report-duties/{april_duty['id']}/report",
            json={"causes": "x", "targets": "y", "measures": "z"},
            headers=bearer(common, "department", department="jrb"),
        )
        assert r.status_code == 409 and r.json()["type"] == "/problems/report-duty-withdrawn"

        # A correction making it worse again brings a new duty, on a clock from the new edition.
        await office.correct(
            "npl-ratio", "2018-04", values=values_for_rank(9, higher_is_better=False), reason="省里再次更正"
        )
        await office.publish("2018-04", "2018-07-20")
        live = [d for d in await office.duties(status="open") if d["period"] == "2018-04"]
        assert len(live) == 1 and live[0]["id"] != april_duty["id"] and live[0]["rank"] == 9
        assert live[0]["due_at"] == "2018-07-31T00:00:00+08:00"
        required = await office.interviews(status="required")
        assert [(i["period"], i["run"]) for i in required] == [("2018-05", ["2018-03", "2018-04", "2018-05"])]
        assert len(await committed(app, InterviewRequired)) == 2
