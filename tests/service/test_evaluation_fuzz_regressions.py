"""Requests the API fuzzer (tests/e2e/test_gateway_schemathesis.py) found answered with a 500.

A round is scheduled in the quarter after the one it judges and reads the quarter before: a
quarter whose year has no calendar neighbour (``0000-Q1``, ``9999-Q4``) is an invalid quarter
(E2), not a crash, and a round's id keeps the four-digit year it was created with; U+0000,
which PostgreSQL cannot store, is refused wherever it appears.
"""

from __future__ import annotations

from shared.settings import CommonSettings
from tests.support.evaluation import PROBLEM, create_round, evaluation, office
from tests.support.infra import PostgresSource


async def test_E2_a_quarter_without_calendar_neighbours_is_an_invalid_quarter(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    async with evaluation(postgres, common) as (client, _, _):
        for quarter in ("0000-Q1", "0001-Q1", "9999-Q4"):
            r = await client.post("/v1/rounds", json={"quarter": quarter}, headers=office(common))
            assert r.status_code == 422, r.text
            assert r.headers["content-type"] == PROBLEM
            assert r.json()["type"] == "/problems/invalid-quarter"
            assert r.json()["field"] == "quarter"
        assert (await client.get("/v1/rounds/0000-Q1", headers=office(common))).status_code == 404
        await create_round(client, common, "2018-Q2")


async def test_E2_a_round_on_a_year_before_1000_keeps_its_four_digit_quarter(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    async with evaluation(postgres, common) as (client, _, _):
        created = await create_round(client, common, "0250-Q2")
        assert created["id"] == "0250-Q2"
        r = await client.get("/v1/rounds/0250-Q2", headers=office(common))
        assert r.status_code == 200, r.text


async def test_E4_a_nul_character_in_a_filter_is_refused_before_the_database(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    async with evaluation(postgres, common) as (client, _, _):
        r = await client.get("/v1/designations", params={"department": "fgw\x00"}, headers=office(common))
        assert r.status_code == 422, r.text
        assert r.json()["errors"] == [
            {"field": "department", "message": "不能包含 NUL 字符 (U+0000)", "kind": "string_nul"}
        ]
        assert (await client.get("/v1/designations", params={"department": "fgw"})).status_code == 200
