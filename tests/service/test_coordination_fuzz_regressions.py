"""Requests the API fuzzer (tests/e2e/test_gateway_schemathesis.py) found answered with a 500.

A period whose year has no calendar neighbour (year 0 is not a date; the deadlines of a period
are local midnights compared in UTC) is invalid input (C6, C7); a control character XML cannot
hold, in stored text or in the filing line of the overdue table, is dropped from the workbook
rather than breaking it (C6); U+0000 anywhere in a request is refused before it reaches
PostgreSQL, which cannot store it.
"""

from __future__ import annotations

import io

import openpyxl

from shared.settings import CommonSettings
from tests.support.clock import at
from tests.support.coordination import coordination, late_june, problem, sheet
from tests.support.infra import PostgresSource


async def test_C6_C7_periods_in_a_year_without_a_calendar_neighbour_are_422(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    async with coordination(postgres, common, at("2018-06-14 09:00")) as c:
        for url in (
            "/v1/overdue-tables/jsj/0000-06",
            "/v1/overdue-tables/jsj/0001-01",
            "/v1/overdue-tables/jsj/0000-06/xlsx",
            "/v1/late-item-rankings/0000-06",
            "/v1/instruction-tallies/0000-01-1",
        ):
            body = problem(await c.client.get(url, headers=c.office()), 422)
            assert body["type"] == "/problems/invalid-period", url
        assert (await c.client.get("/v1/late-item-rankings/2018-06", headers=c.office())).status_code == 200


async def test_C6_overdue_table_xlsx_drops_control_characters_xml_cannot_hold(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    async with coordination(postgres, common, at("2018-06-14 09:00")) as c:
        await late_june(c)
        r = await c.client.get(
            "/v1/overdue-tables/jsj/2018-06/xlsx",
            params={"contact_person": "王\x01明", "phone": "\x102397018"},
            headers=c.office(),
        )
        assert r.status_code == 200, r.text
        filing = openpyxl.load_workbook(io.BytesIO(r.content)).active.cell(2, 1).value
        assert "联系人：王明" in filing and "电话：2397018" in filing


async def test_C1_text_with_a_nul_character_is_refused_and_nothing_is_stored(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    async with coordination(postgres, common, at("2018-06-14 09:00")) as c:
        bad = sheet("jsj", "nyj")
        bad["items"][0]["content"] = "会办\x00事项"
        body = problem(await c.client.post("/v1/joint-matters", json=bad, headers=c.dept("jsj")), 422)
        assert body["type"] == "/problems/validation-error"
        assert body["errors"][0]["field"] == "items.0.content"
        for url, params in (
            ("/v1/joint-matters", {"lead_department": "jsj\x00"}),
            ("/v1/escalations", {"holder": "3&\x00O"}),
            ("/v1/joint-matters/matter%00", {}),
        ):
            problem(await c.client.get(url, params=params, headers=c.office()), 422)
        listed = await c.client.get(
            "/v1/joint-matters", params={"lead_department": "jsj"}, headers=c.office()
        )
        assert listed.json()["items"] == []


async def test_C7_a_received_instant_outside_the_calendar_is_422(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    async with coordination(postgres, common, at("2018-06-14 09:00")) as c:
        body = {
            "leader": "vm-agriculture",
            "category": "request",
            "title": "关于加快老旧小区改造的请示",
            "content": "请市建设局牵头研究。",
            "received_at": "0001-01-01T00:00:00+14:00",
        }
        r = problem(await c.client.post("/v1/instructions", json=body, headers=c.office()), 422)
        assert r["errors"][0]["field"] == "received_at"
