"""The indicator catalogue (I1): seeded from 附件1, annual items added, adjusted with effective dates."""

from __future__ import annotations

from typing import Any

from shared.settings import CommonSettings
from tests.support.apps import bearer, running
from tests.support.indicators import all_values, indicators_app
from tests.support.infra import PostgresSource


async def test_I1_catalogue_is_seeded_once_from_the_reference_list_and_is_public(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    url = await postgres.new_database()
    for _ in range(2):  # a restart seeds nothing twice
        async with running(indicators_app(url, common)) as client:
            r = await client.get("/v1/indicators", params={"limit": 200})
            assert r.status_code == 200, r.text
            items = r.json()["items"]
            assert len(items) == 31
            monthly = [i for i in items if i["frequency"] == "monthly"]
            quarterly = [i for i in items if i["frequency"] == "quarterly"]
            assert len(monthly) == 24 and len(quarterly) == 7
            npl = next(i for i in items if i["code"] == "npl-ratio")
            assert npl["attribute"] == "absolute_low" and npl["attribute_label"] == "绝对值低排位"
            assert npl["departments"] == ["jrb", "yjj"] and npl["lead_department"] == "jrb"
            assert npl["precision"] == 2 and npl["effective_from"] == "2018-01-01"
            assert npl["effective_to"] is None and npl["version"] == 1
            assert [i["seq"] for i in monthly] == list(range(1, 25))


async def test_I1_catalogue_pages_by_cursor(postgres: PostgresSource, common: CommonSettings) -> None:
    async with running(indicators_app(await postgres.new_database(), common)) as client:
        seen: list[str] = []
        params: dict[str, Any] = {"limit": 10, "frequency": "monthly"}
        while True:
            r = await client.get("/v1/indicators", params=params)
            assert r.status_code == 200, r.text
            seen += [i["code"] for i in r.json()["items"]]
            if not r.json()["next_cursor"]:
                break
            assert 'rel="next"' in r.headers["link"]
            params["cursor"] = r.json()["next_cursor"]
        assert len(seen) == len(set(seen)) == 24
        assert seen[16] == "npl-ratio"


async def test_I1_office_adds_an_annual_assessment_item_with_grades(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    office = bearer(common, "office")
    item = {
        "code": "performance-assessment",
        "name": "省对市党政领导班子实绩考核",
        "frequency": "annual",
        "departments": ["fgw", "tjj"],
        "grades": ["优秀", "良好", "一般", "较差"],
        "low_grades": ["一般", "较差"],
        "effective_from": "2018-01-01",
    }
    async with running(indicators_app(await postgres.new_database(), common)) as client:
        assert (await client.post("/v1/indicators", json=item)).status_code == 401
        r = await client.post(
            "/v1/indicators", json=item, headers=bearer(common, "department", department="fgw")
        )
        assert r.status_code == 403
        r = await client.post("/v1/indicators", json=item, headers=office)
        assert r.status_code == 201, r.text
        assert r.headers["location"] == "/v1/indicators/performance-assessment"
        body = r.json()
        assert body["frequency"] == "annual" and body["attribute"] is None and body["seq"] == 1
        assert body["low_grades"] == ["一般", "较差"]
        annual = (await client.get("/v1/indicators", params={"frequency": "annual"})).json()["items"]
        assert [i["code"] for i in annual] == ["performance-assessment"]

        r = await client.post("/v1/indicators", json=item, headers=office)
        assert r.status_code == 409 and r.json()["type"] == "/problems/duplicate-indicator"
        bad_tail = {**item, "code": "other-assessment", "low_grades": ["良好"]}
        r = await client.post("/v1/indicators", json=bad_tail, headers=office)
        assert r.status_code == 422 and r.json()["field"] == "low_grades"
        monthly_without_attribute = {
            **item,
            "code": "x-monthly",
            "frequency": "monthly",
            "grades": [],
            "low_grades": [],
        }
        r = await client.post("/v1/indicators", json=monthly_without_attribute, headers=office)
        assert r.status_code == 422 and r.json()["type"] == "/problems/attribute-required"
        r = await client.post(
            "/v1/indicators", json={**item, "code": "y-annual", "departments": ["nope"]}, headers=office
        )
        assert r.status_code == 422 and r.json()["type"] == "/problems/unknown-department"


async def test_I1_adjustment_takes_effect_from_a_date_and_keeps_history(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    office = bearer(common, "office")
    async with running(indicators_app(await postgres.new_database(), common)) as client:
        r = await client.patch(
            "/v1/indicators/exports",
            json={"effective_from": "2019-01-01", "departments": ["swj", "jxw"], "precision": 2},
            headers=office,
        )
        assert r.status_code == 200, r.text
        body = r.json()
        assert [(d["version"], d["effective_from"], d["effective_to"]) for d in body["definitions"]] == [
            (1, "2018-01-01", "2018-12-31"),
            (2, "2019-01-01", None),
        ]
        assert body["departments"] == ["swj", "jxw"] and body["precision"] == 2
        in_2018 = (await client.get("/v1/indicators", params={"on": "2018-06-30", "limit": 200})).json()
        exports_2018 = next(i for i in in_2018["items"] if i["code"] == "exports")
        assert exports_2018["departments"] == ["swj"] and exports_2018["precision"] == 1

        # Ended: no longer listed for dates after its end.
        r = await client.patch("/v1/indicators/exports", json={"effective_to": "2019-06-30"}, headers=office)
        assert r.status_code == 200, r.text
        later = (await client.get("/v1/indicators", params={"on": "2019-07-01", "limit": 200})).json()
        assert "exports" not in {i["code"] for i in later["items"]}
        assert len(later["items"]) == 30
        # A period after the end cannot be released.
        r = await client.post(
            "/v1/indicators/exports/releases",
            json={"period": "2019-07", "rank": 3},
            headers=office,
        )
        assert r.status_code == 422 and r.json()["type"] == "/problems/indicator-not-in-effect"

        r = await client.patch("/v1/indicators/exports", json={"precision": 1}, headers=office)
        assert r.status_code == 422 and r.json()["field"] == "effective_from"
        r = await client.patch(
            "/v1/indicators/exports", json={"effective_from": "2020-01-01", "name": None}, headers=office
        )
        assert r.status_code == 422 and r.json()["field"] == "name"
        r = await client.patch("/v1/indicators/exports", json={}, headers=office)
        assert r.status_code == 422 and r.json()["type"] == "/problems/nothing-to-change"
        r = await client.patch(
            "/v1/indicators/exports", json={"effective_from": "2018-06-01", "precision": 1}, headers=office
        )
        assert r.status_code == 422 and r.json()["type"] == "/problems/catalogue-change-out-of-order"
        assert (await client.patch("/v1/indicators/nope", json={}, headers=office)).status_code == 404


async def test_I1_catalogue_change_that_would_rewrite_a_published_release_is_refused(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    office = bearer(common, "office")
    async with running(indicators_app(await postgres.new_database(), common)) as client:
        others = ["9.0", "8.0", "7.0", "6.0", "5.0", "4.0", "3.0", "2.0", "1.0", "0.5"]
        r = await client.post(
            "/v1/indicators/exports/releases",
            json={"period": "2018-05", "values": all_values("5.55", others)},
            headers=office,
        )
        assert r.status_code == 201, r.text
        r = await client.post(
            "/v1/bulletins/2018-05/editions", json={"issued_on": "2018-06-20"}, headers=office
        )
        assert r.status_code == 201, r.text
        # An unpublished release of June is ranked again under the new precision instead.
        r = await client.post(
            "/v1/indicators/exports/releases",
            json={"period": "2018-06", "values": all_values("4.96", ["5.0", *others[:4], *others[5:]])},
            headers=office,
        )
        assert r.status_code == 201, r.text
        assert r.json()["current"]["rank"] == 5  # 4.96 shows as 5.0: a tie with Hangzhou's 5.0

        for change in (
            {"effective_from": "2018-05-01", "precision": 0},
            {"effective_from": "2018-05-31", "departments": ["jxw"]},
            {"effective_to": "2018-04-30"},
        ):
            r = await client.patch("/v1/indicators/exports", json=change, headers=office)
            assert r.status_code == 409, (change, r.text)
            assert r.json()["type"] == "/problems/published-release-would-change"
            assert r.json()["rule"] == "I1" and "2018-05" in r.json()["detail"]

        r = await client.patch(
            "/v1/indicators/exports", json={"effective_from": "2018-06-01", "precision": 2}, headers=office
        )
        assert r.status_code == 200, r.text
        june = (await client.get("/v1/indicators/exports/releases/2018-06", headers=office)).json()
        assert june["revision"] == 2 and june["current"]["definition_version"] == 2
        assert june["current"]["rank"] == 6 and june["current"]["value"] == "4.96"
        assert june["revisions"][0]["rank"] == 5 and "目录调整" in june["current"]["reason"]
        may = (await client.get("/v1/indicators/exports/releases/2018-05", headers=office)).json()
        assert may["revision"] == 1 and may["current"]["definition_version"] == 1
