"""Requests the API fuzzer (tests/e2e/test_gateway_schemathesis.py) found answered with a 500.

An edition number beyond what PostgreSQL's ``integer`` holds names no edition: 422, not an
overflow in the driver (I3). Control characters XML cannot hold, stored in an indicator's name,
are dropped from the bulletin workbook instead of breaking it (I3).
"""

from __future__ import annotations

import io

from openpyxl import load_workbook

from shared.settings import CommonSettings
from tests.support.apps import running
from tests.support.indicators import indicators, indicators_app, values_for_rank
from tests.support.infra import PostgresSource

CODE = "retail-sales-of-consumer-goods"


async def test_I3_an_edition_beyond_a_stored_integer_is_422(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    async with running(indicators_app(await postgres.new_database(), common)) as client:
        for suffix in ("", "/bulletin.html", "/bulletin.xlsx"):
            r = await client.get(f"/v1/bulletins/2018-Q2{suffix}", params={"edition": 18224668169761968})
            assert r.status_code == 422, r.text
            assert r.headers["content-type"] == "application/problem+json"
            assert r.json()["errors"][0]["field"] == "edition"


async def test_I3_bulletin_xlsx_drops_control_characters_xml_cannot_hold(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    async with indicators(postgres, common, "2018-06-20") as (client, _app, office):
        r = await client.patch(
            f"/v1/indicators/{CODE}",
            json={"name": "社会消费品\x01零售总额", "effective_from": "2018-01-01"},
            headers=office.headers,
        )
        assert r.status_code == 200, r.text
        await office.record(CODE, "2018-05", values=values_for_rank(2))
        await office.publish("2018-05", "2018-06-14")
        xlsx = await client.get("/v1/bulletins/2018-05/bulletin.xlsx")
        assert xlsx.status_code == 200, xlsx.text
        names = [row[1] for row in load_workbook(io.BytesIO(xlsx.content))["通报"].iter_rows(min_row=4)]
        assert "社会消费品零售总额" in [cell.value for cell in names]
