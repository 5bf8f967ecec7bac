"""Recording releases (I3): ranking all cities' values, ranks given by the province, corrections."""

from __future__ import annotations

from shared.settings import CommonSettings
from tests.support.apps import bearer, running
from tests.support.indicators import all_values, indicators_app
from tests.support.infra import PostgresSource

LOWER = ["9.0", "8.0", "7.0", "6.0", "5.0", "4.0", "3.0", "2.0", "1.0", "0.5"]


async def test_I3_values_of_all_cities_are_ranked_with_ties_sharing_a_rank(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    office = bearer(common, "office")
    async with running(indicators_app(await postgres.new_database(), common)) as client:
        # Four cities ahead, then we and Jinhua tie for 5th: both 5th, the next city is 7th.
        others = ["9.0", "8.0", "7.0", "6.0", "4.0", "4.5", "3.0", "2.0", "1.0", "0.5"]
        r = await client.post(
            "/v1/indicators/retail-sales-of-consumer-goods/releases",
            json={"period": "2018-05", "values": all_values("4.5", others), "source": "省统计局"},
            headers=office,
        )
        assert r.status_code == 201, r.text
        assert r.headers["location"] == "/v1/indicators/retail-sales-of-consumer-goods/releases/2018-05"
        assert r.headers["etag"] == '"r1"'
        current = r.json()["current"]
        assert current["rank"] == 5 and current["cities"] == 11 and not current["given"]
        ranks = {row["city"]: row["rank"] for row in current["ranking"]}
        assert ranks["huzhou"] == ranks["jinhua"] == 5 and ranks["shaoxing"] == 7
        assert [row["rank"] for row in current["ranking"]] == [1, 2, 3, 4, 5, 5, 7, 8, 9, 10, 11]
        assert current["ranking"][4]["city_name"] == "湖州市"


async def test_I3_a_rank_given_by_the_province_needs_no_values(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    office = bearer(common, "office")
    async with running(indicators_app(await postgres.new_database(), common)) as client:
        r = await client.post(
            "/v1/indicators/gdp/releases",
            json={"period": "2018-Q2", "rank": 7, "values": [{"city": "huzhou", "value": "7.9"}]},
            headers=office,
        )
        assert r.status_code == 201, r.text
        current = r.json()["current"]
        assert current["rank"] == 7 and current["given"] and current["value"] == "7.9"
        assert current["ranking"] == []


async def test_I3_bad_releases_are_problem_details(postgres: PostgresSource, common: CommonSettings) -> None:
    office = bearer(common, "office")
    url = "/v1/indicators/retail-sales-of-consumer-goods/releases"
    async with running(indicators_app(await postgres.new_database(), common)) as client:

        async def refused(body: dict[str, object], kind: str, field: str, status: int = 422) -> None:
            r = await client.post(url, json=body, headers=office)
            assert r.status_code == status, r.text
            assert r.headers["content-type"] == "application/problem+json"
            assert r.json()["type"] == f"/problems/{kind}", r.text
            assert r.json().get("field") == field

        await refused({"period": "2018-Q2", "rank": 3}, "period-frequency-mismatch", "period")
        await refused({"period": "2018", "rank": 3}, "period-frequency-mismatch", "period")
        await refused({"period": "2018-13", "rank": 3}, "invalid-period", "period")
        duplicate = [*all_values("4.5", LOWER), {"city": "ningbo", "value": "1.0"}]
        await refused({"period": "2018-05", "values": duplicate}, "duplicate-city", "values")
        await refused(
            {"period": "2018-05", "values": all_values("4.5", LOWER)[:10]}, "values-incomplete", "values"
        )
        await refused({"period": "2018-05"}, "values-incomplete", "values")
        await refused({"period": "2018-05", "rank": 12}, "rank-out-of-range", "rank")
        await refused({"period": "2018-05", "rank": 0}, "rank-out-of-range", "rank")
        await refused({"period": "2018-05", "rank": 4, "cities": 3}, "rank-out-of-range", "rank")
        await refused({"period": "2018-05", "rank": 2, "grade": "优秀"}, "grade-not-allowed", "grade")
        unknown = [{"city": "shanghai", "value": "1"}]
        await refused({"period": "2018-05", "rank": 2, "values": unknown}, "unknown-city", "values")
        r = await client.post(
            url, json={"period": "2018-05", "values": [{"city": "huzhou", "value": "NaN"}]}, headers=office
        )
        assert r.status_code == 422 and r.json()["type"] == "/problems/validation-error"

        r = await client.post(url, json={"period": "2018-05", "rank": 2}, headers=office)
        assert r.status_code == 201
        await refused({"period": "2018-05", "rank": 3}, "release-exists", "period", status=409)
        r = await client.post(
            "/v1/indicators/nope/releases", json={"period": "2018-05", "rank": 2}, headers=office
        )
        assert r.status_code == 404


async def test_I3_who_may_record_and_read_releases(postgres: PostgresSource, common: CommonSettings) -> None:
    url = "/v1/indicators/exports/releases"
    body = {"period": "2018-05", "rank": 2}
    async with running(indicators_app(await postgres.new_database(), common)) as client:
        assert (await client.post(url, json=body)).status_code == 401
        for roles in (("department",), ("leader",), ("supervisor",), ("evaluator",)):
            r = await client.post(url, json=body, headers=bearer(common, *roles, department="swj"))
            assert r.status_code == 403, roles
        assert (await client.post(url, json=body, headers=bearer(common, "office"))).status_code == 201
        for roles in (("leader",), ("supervisor",), ("office",), ("admin",)):
            assert (await client.get(f"{url}/2018-05", headers=bearer(common, *roles))).status_code == 200
        for roles in (("department",), ("evaluator",)):
            r = await client.get(f"{url}/2018-05", headers=bearer(common, *roles, department="swj"))
            assert r.status_code == 403
        assert (await client.get(f"{url}/2018-05")).status_code == 401


async def test_I3_corrections_are_revisions_and_history_is_kept(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    office = bearer(common, "office")
    url = "/v1/indicators/exports/releases"
    async with running(indicators_app(await postgres.new_database(), common)) as client:
        r = await client.post(
            url, json={"period": "2018-05", "values": all_values("5.2", LOWER)}, headers=office
        )
        assert r.status_code == 201 and r.json()["current"]["rank"] == 5
        correction = {"values": all_values("6.5", LOWER), "reason": "省统计局更正本市数据"}
        r = await client.post(
            f"{url}/2018-05/corrections", json=correction, headers={**office, "If-Match": '"r0"'}
        )
        assert r.status_code == 412 and r.json()["type"] == "/problems/precondition-failed"
        r = await client.post(
            f"{url}/2018-05/corrections", json=correction, headers={**office, "If-Match": '"r1"'}
        )
        assert r.status_code == 201, r.text
        assert r.headers["etag"] == '"r2"'
        body = r.json()
        assert body["revision"] == 2 and body["published_revision"] is None
        assert [(v["revision"], v["rank"], v["reason"]) for v in body["revisions"]] == [
            (1, 5, None),
            (2, 4, "省统计局更正本市数据"),
        ]
        r = await client.post(f"{url}/2018-05/corrections", json=correction, headers=office)
        assert r.status_code == 422 and r.json()["type"] == "/problems/correction-unchanged"
        r = await client.post(f"{url}/2018-05/corrections", json={"rank": 3}, headers=office)
        assert r.status_code == 422 and r.json()["type"] == "/problems/validation-error"
        r = await client.post(f"{url}/2018-06/corrections", json={"rank": 3, "reason": "x"}, headers=office)
        assert r.status_code == 404 and r.json()["type"] == "/problems/release-not-found"

        listed = (await client.get(url, headers=office)).json()["items"]
        assert [(i["period"], i["revision"], i["rank"]) for i in listed] == [("2018-05", 2, 4)]
