"""The overdue table of 附件3 (C6) in JSON and XLSX, its review, and the ranking of departments
by late items."""

from __future__ import annotations

import io

import openpyxl

from shared.settings import CommonSettings
from tests.support.clock import at
from tests.support.coordination import coordination, late_june, problem
from tests.support.infra import PostgresSource

HEADERS = ["序号", "会办事项", "会办单位", "办结时限", "实际办理反馈时间", "超期原因"]


async def test_C6_overdue_table_lists_answered_late_and_still_unanswered_items_as_annex3(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    async with coordination(postgres, common, at("2018-06-14 09:00")) as c:
        ids = await late_june(c)
        r = await c.client.get(
            "/v1/overdue-tables/jsj/2018-06",
            params={"contact_person": "王明", "phone": "0572-2222222"},
            headers=c.dept("jsj"),
        )
        assert r.status_code == 200, r.text
        table = r.json()
        assert table["title"] == "部门会办事项超期办理反馈情况统计表"
        assert table["filing_unit"] == "市建设局" and table["filled_on"] == "2018-07-02"
        assert table["columns"] == HEADERS
        assert table["rows"] == [
            [1, "请lyj提供相关材料", "市林业局", "6月19日", "尚未办理反馈", ""],
            [2, "请rsj提供相关材料", "市人力社保局", "6月19日", "6月21日", "等待省厅意见"],
            [3, "请kjj提供相关材料", "市科技局", "6月19日", "尚未办理反馈", ""],
            [4, "请lyj提供相关材料", "市林业局", "6月19日", "尚未办理反馈", ""],
        ]
        assert [i["item_id"] for i in table["items"]] == [ids["lyj"], ids["rsj"], ids["kjj"], ids["lyj-2"]]
        assert [i["state"] for i in table["items"]] == [
            "deemed-consent",
            "deemed-consent",
            "deemed-agreed-to-handle",
            "deemed-consent",
        ]
        assert table["reviewer"] == {"code": "dsg-urban", "title": "副秘书长（联系城建）", "review": None}
        assert "分管秘书长审核" in table["note"]

        july = (await c.client.get("/v1/overdue-tables/jsj/2018-07", headers=c.office())).json()
        assert july["rows"] == []
        quarter = (await c.client.get("/v1/overdue-tables/jsj/2018-Q2", headers=c.office())).json()
        assert quarter["rows"] == table["rows"]

        problem(await c.client.get("/v1/overdue-tables/jsj/2018-06", headers=c.dept("nyj")), 403)
        assert (
            await c.client.get("/v1/overdue-tables/jsj/2018-06", headers=c.leader("vm-urban"))
        ).status_code == 200
        bad = problem(await c.client.get("/v1/overdue-tables/jsj/2018-13", headers=c.office()), 422)
        assert bad["type"] == "/problems/invalid-period"
        problem(await c.client.get("/v1/overdue-tables/nope/2018-06", headers=c.office()), 422)


async def test_C6_overdue_table_xlsx_opens_with_openpyxl_with_the_annex3_headers_and_rows(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    async with coordination(postgres, common, at("2018-06-14 09:00")) as c:
        await late_june(c)
        table = (await c.client.get("/v1/overdue-tables/jsj/2018-06", headers=c.office())).json()
        r = await c.client.get("/v1/overdue-tables/jsj/2018-06/xlsx", headers=c.office())
        assert r.status_code == 200, r.text
        assert (
            r.headers["content-type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        )
        assert "overdue-jsj-2018-06.xlsx" in r.headers["content-disposition"]
        book = openpyxl.load_workbook(io.BytesIO(r.content))
        values = [list(row) for row in book.active.iter_rows(values_only=True)]
        assert values[0][0] == "部门会办事项超期办理反馈情况统计表"
        assert "填报单位（盖章）：市建设局" in values[1][0]
        header = values.index(HEADERS)
        body = [[cell if cell is not None else "" for cell in row] for row in values[header + 1 : header + 5]]
        assert body == table["rows"]
        assert values[header + 5][0].startswith("注：此表经市政府分管秘书长审核")
        assert "尚未审核" in values[header + 6][0]


async def test_C6_the_deputy_secretary_general_in_charge_of_the_lead_department_reviews_the_table(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    async with coordination(postgres, common, at("2018-06-14 09:00")) as c:
        await late_june(c)
        url = "/v1/overdue-tables/jsj/2018-06/review"
        problem(await c.client.post(url, json={}, headers=c.leader("dsg-agriculture")), 403)
        problem(await c.client.post(url, json={}, headers=c.office()), 403)
        reviewed = await c.client.post(url, json={"note": "已核"}, headers=c.leader("dsg-urban"))
        assert reviewed.status_code == 200, reviewed.text
        review = reviewed.json()["reviewer"]["review"]
        assert review["reviewed_by"] == "dsg-urban" and review["rows"] == 4 and review["note"] == "已核"
        assert review["reviewed_at"] == "2018-07-02T10:00:00+08:00"
        problem(await c.client.post(url, json={}, headers=c.leader("dsg-urban")), 409)
        book = openpyxl.load_workbook(
            io.BytesIO(
                (await c.client.get("/v1/overdue-tables/jsj/2018-06/xlsx", headers=c.office())).content
            )
        )
        assert any("已于2018年7月2日审核" in str(row[0]) for row in book.active.iter_rows(values_only=True))


async def test_C6_departments_are_ranked_by_late_items(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    async with coordination(postgres, common, at("2018-06-14 09:00")) as c:
        await late_june(c)
        r = await c.client.get("/v1/late-item-rankings/2018-06", headers=c.office())
        assert r.status_code == 200, r.text
        entries = [
            (e["rank"], e["department"], e["late"], e["deemed_consent"], e["answered_late"])
            for e in r.json()["entries"]
        ]
        # lyj is late twice for jsj and once for kjj; kjj and rsj once each; nyj answered in time.
        assert entries == [(1, "lyj", 3, 3, 0), (2, "kjj", 1, 0, 0), (2, "rsj", 1, 1, 1)]
        kjj = r.json()["entries"][1]
        assert (
            kjj["deemed_agreed_to_handle"] == 1
            and kjj["unanswered"] == 1
            and kjj["department_name"] == "市科技局"
        )
        problem(await c.client.get("/v1/late-item-rankings/2018-06", headers=c.dept("jsj")), 403)
        assert (
            await c.client.get("/v1/late-item-rankings/2018-06", headers=c.auth("supervisor"))
        ).status_code == 200
