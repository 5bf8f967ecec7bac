"""Statistics per department and period: formed, on time, late, overdue, exempt, on-time rate (D1–D3),
as JSON and as CSV and XLSX with Chinese headers."""

from __future__ import annotations

import csv
import io

import httpx
from openpyxl import load_workbook

from services.disclosure.sweeper import mark_overdue
from shared.settings import CommonSettings
from tests.support.apps import bearer
from tests.support.clock import at
from tests.support.disclosure import (
    PRIVACY,
    change,
    clock_at,
    decision_url,
    disclosure,
    drafter,
    leader,
    publish,
    register,
)
from tests.support.infra import PostgresSource

HEADERS = [
    "期间",
    "部门代码",
    "部门",
    "形成（含变更）",
    "按时公开",
    "逾期公开",
    "逾期未公开",
    "不予公开",
    "待公开",
    "被新版本取代",
    "按时公开率",
]


async def seed(client: httpx.AsyncClient, common: CommonSettings, app_ctx: object) -> None:
    """fgw in 2018-Q2: 2 on time, 1 late, 1 overdue unpublished, 1 exempt, 1 changed (superseded + open).
    jtj in 2018-Q2: 1 on time. fgw in 2018-07: 1 open (another period)."""
    for _ in range(2):
        doc = await register(client, common, formed_on="2018-06-01")
        assert (await publish(client, common, doc["id"], 1, "2018-06-05 10:00:00")).status_code == 201
    late = await register(client, common, formed_on="2018-06-01")
    await register(client, common, formed_on="2018-06-01")  # stays unpublished
    secret = await register(
        client, common, formed_on="2018-06-01", disclosure_mode="withheld", exemption=PRIVACY
    )
    with clock_at(app_ctx, "2018-06-05 10:00:00"):  # type: ignore[arg-type]  # signed in time: exempt (D2)
        r = await client.post(
            decision_url(secret), json={"granted": True}, headers=leader(common, "vm-executive")
        )
    assert r.status_code == 201
    changed = await register(client, common, formed_on="2018-06-01")
    assert (await change(client, common, changed["id"], "2018-06-05")).status_code == 201
    other = await register(client, common, drafting_department="jtj", formed_on="2018-05-02")
    assert (await publish(client, common, other["id"], 1, "2018-05-03 10:00:00")).status_code == 201
    await register(client, common, formed_on="2018-07-02")
    await mark_overdue(app_ctx, at("2018-06-13 00:00:00"))  # type: ignore[arg-type]
    assert (await publish(client, common, late["id"], 1, "2018-06-14 10:00:00")).status_code == 201


async def test_D3_statistics_count_outcomes_per_department_and_period(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    async with disclosure(postgres, common) as (client, app):
        await seed(client, common, app.state.ctx)
        r = await client.get(
            "/v1/statistics", params={"period": "2018-Q2"}, headers=bearer(common, "supervisor")
        )
        assert r.status_code == 200, r.text
        report = r.json()
        assert (report["period"], report["start"], report["end"]) == ("2018-Q2", "2018-04-01", "2018-07-01")
        fgw, jtj = report["departments"]
        assert fgw == {
            "department": "fgw",
            "department_name": "市发改委",
            "formed": 7,
            "published_on_time": 2,
            "published_late": 1,
            "overdue_unpublished": 1,
            "exempt": 1,
            "open": 1,
            "superseded": 1,
            "on_time_rate": 0.5,
        }
        assert (jtj["department"], jtj["formed"], jtj["published_on_time"], jtj["on_time_rate"]) == (
            "jtj",
            1,
            1,
            1.0,
        )
        assert report["total"]["formed"] == 8 and report["total"]["on_time_rate"] == 0.6

        r = await client.get(
            "/v1/statistics", params={"period": "2018-07", "department": "fgw"}, headers=drafter(common)
        )
        (july,) = r.json()["departments"]
        assert (july["formed"], july["open"], july["on_time_rate"]) == (1, 1, None)
        r = await client.get(
            "/v1/statistics", params={"period": "2018", "department": "czj"}, headers=bearer(common, "office")
        )
        assert r.json()["departments"][0]["formed"] == 0


async def test_D3_statistics_export_as_csv_and_xlsx_with_chinese_headers(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    async with disclosure(postgres, common) as (client, app):
        await seed(client, common, app.state.ctx)
        headers = bearer(common, "office")
        r = await client.get("/v1/statistics", params={"period": "2018-Q2", "format": "csv"}, headers=headers)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
        assert 'filename="disclosure-statistics-2018-Q2.csv"' in r.headers["content-disposition"]
        rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
        assert rows[0] == HEADERS
        assert rows[1] == ["2018-Q2", "fgw", "市发改委", "7", "2", "1", "1", "1", "1", "1", "50.00%"]
        assert rows[-1][1:3] == ["all", "合计"]

        r = await client.get(
            "/v1/statistics", params={"period": "2018-Q2", "format": "xlsx"}, headers=headers
        )
        assert r.status_code == 200
        assert (
            r.headers["content-type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        )
        sheet = load_workbook(io.BytesIO(r.content)).active
        assert sheet is not None
        values = [list(row) for row in sheet.iter_rows(values_only=True)]
        assert values[0] == HEADERS
        assert values[1] == ["2018-Q2", "fgw", "市发改委", 7, 2, 1, 1, 1, 1, 1, 0.5]
        assert values[2][1] == "jtj" and values[3][1] == "all"


async def test_statistics_errors_are_problem_details(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    async with disclosure(postgres, common) as (client, _):
        headers = bearer(common, "office")
        r = await client.get("/v1/statistics", params={"period": "2018-Q5"}, headers=headers)
        assert r.status_code == 422 and r.json()["type"] == "/problems/invalid-period"
        assert r.json()["field"] == "period"
        r = await client.get(
            "/v1/statistics", params={"period": "2018", "department": "nope"}, headers=headers
        )
        assert r.status_code == 422 and r.json()["type"] == "/problems/unknown-department"
        r = await client.get("/v1/statistics", params={"period": "2018", "format": "pdf"}, headers=headers)
        assert r.status_code == 422
        assert (await client.get("/v1/statistics", params={"period": "2018"})).status_code == 401
