"""The holiday calendar as living data (issue: calendar): an administrator publishes a year's
official table through the gateway, every domain service keeps it in its own database and
answers the same working-day question the same way; bad tables are refused in Chinese, naming
the entry; corrections need If-Match; readiness and the portal tell when next year is provisional."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import httpx
import pytest

from services.gateway.settings import DOMAIN_SERVICES
from shared.deadlines import SHANGHAI
from shared.events import CalendarYearPublished, topic_for
from tests.support import gateway as support
from tests.support.apps import bearer, running, service_app, test_settings
from tests.support.calendar import NOTICE_2027, deliver, official_2027_body, official_2027_event
from tests.support.gateway import Domain, gateway_app
from tests.support.infra import PostgresSource
from tests.support.waiting import until

domain = support.domain
PROBLEM = "application/problem+json"
URL = "/api/v1/calendar/years/2027"


@pytest.fixture(scope="module")
async def gw(domain: Domain, postgres: PostgresSource) -> AsyncIterator[httpx.AsyncClient]:
    async with running(gateway_app(domain, await postgres.new_database())) as client:
        yield client


def admin(domain: Domain) -> dict[str, str]:
    return bearer(domain.common, "admin", client_id="city-admin")


async def service_answers(domain: Domain, path: str) -> dict[str, Any]:
    """What each domain service's own copy of the calendar answers."""
    async with httpx.AsyncClient(timeout=10) as client:
        return {name: (await client.get(f"{url}{path}")).json() for name, url in domain.urls.items()}


async def test_anyone_reads_which_years_are_packaged_official_or_provisional(gw: httpx.AsyncClient) -> None:
    r = await gw.get("/api/v1/calendar/years")
    assert r.status_code == 200, r.text
    body = r.json()
    statuses = {y["year"]: y["status"] for y in body["years"]}
    assert statuses[2018] == statuses[2026] == "packaged"
    assert body["first_year"] == 2004 and body["last_year"] == 2099
    assert statuses[2004] == "packaged"
    r = await gw.get("/api/v1/calendar/years/2026")
    assert r.status_code == 200 and r.headers["etag"] == '"2026-r0"'
    year = r.json()
    assert year["status"] == "packaged" and year["revision"] == 0
    # 2026 国庆: weekdays off are listed, weekends worked too; weekend rest days are not.
    assert {"date": "2026-10-05", "name": "国庆节"} in year["holidays"]
    assert all(datetime.fromisoformat(d["date"]).weekday() < 5 for d in year["holidays"])
    assert all(datetime.fromisoformat(d["date"]).weekday() >= 5 for d in year["working_days"])


async def test_out_of_range_year_is_422_naming_the_year(gw: httpx.AsyncClient) -> None:
    for year in (1999, 2100):
        r = await gw.get(f"/api/v1/calendar/years/{year}")
        assert r.status_code == 422 and r.headers["content-type"] == PROBLEM
        assert r.json()["type"] == "/problems/calendar-out-of-range"
        assert r.json()["field"] == "year" and str(year) in r.json()["detail"]


async def test_only_an_administrator_may_publish(domain: Domain, gw: httpx.AsyncClient) -> None:
    body = official_2027_body()
    r = await gw.put(URL, json=body)
    assert r.status_code == 401 and r.headers["content-type"] == PROBLEM
    for roles, department in (
        (("department",), "jtj"),
        (("office",), "office"),
        (("leader",), "vm-executive"),
    ):
        r = await gw.put(URL, json=body, headers=bearer(domain.common, *roles, department=department))
        assert r.status_code == 403, (roles, r.text)
        assert r.headers["content-type"] == PROBLEM
    assert (await gw.get(URL)).json()["status"] == "provisional"


def broken(change: str) -> tuple[dict[str, Any], str, str]:
    """A table with one mistake, the field the answer must name and words of its detail."""
    body = official_2027_body()
    if change == "outside":
        body["holidays"].append({"date": "2028-01-03", "name": "元旦"})
        return body, f"holidays[{len(body['holidays']) - 1}].date", "不属于 2027 年"
    if change == "twice":
        body["holidays"].insert(1, {"date": "2027-01-01", "name": "元旦"})
        return body, "holidays[1].date", "重复"
    if change == "weekday-working":
        body["working_days"].append({"date": "2027-02-15", "name": "调休"})
        return body, f"working_days[{len(body['working_days']) - 1}].date", "星期一"
    if change == "weekend-holiday":
        body["holidays"].append({"date": "2027-02-06", "name": "春节"})
        return body, f"holidays[{len(body['holidays']) - 1}].date", "星期六"
    if change == "empty":
        body["holidays"] = []
        return body, "holidays", "为空"
    raise AssertionError(change)


@pytest.mark.parametrize("change", ["outside", "twice", "weekday-working", "weekend-holiday", "empty"])
async def test_a_bad_table_is_422_in_chinese_naming_the_date_and_nothing_applies(
    domain: Domain, gw: httpx.AsyncClient, change: str
) -> None:
    body, field, words = broken(change)
    r = await gw.put(URL, json=body, headers=admin(domain))
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == PROBLEM
    problem = r.json()
    assert problem["type"] == "/problems/calendar-table-invalid"
    assert problem["field"] == field
    assert words in problem["detail"]
    assert (await gw.get(URL)).json()["status"] == "provisional"


async def test_a_year_before_the_packaged_range_is_refused(domain: Domain, gw: httpx.AsyncClient) -> None:
    body = {"notice": "x", "published_on": "2002-11-20", "holidays": [{"date": "2003-01-01", "name": "元旦"}]}
    r = await gw.put("/api/v1/calendar/years/2003", json=body, headers=admin(domain))
    assert r.status_code == 422 and r.json()["field"] == "year" and "2004" in r.json()["detail"]


async def test_publication_reaches_every_service_and_corrections_need_if_match(
    domain: Domain, gw: httpx.AsyncClient
) -> None:
    # Sunday 2027-02-14 is a working day (调休) only in the official table.
    assert {a["working"] for a in (await service_answers(domain, "/calendar/days/2027-02-14")).values()} == {
        False
    }
    r = await gw.put(URL, json=official_2027_body(), headers=admin(domain))
    assert r.status_code == 201, r.text
    assert r.headers["etag"] == '"2027-r1"' and r.headers["location"] == URL
    year = r.json()
    assert (year["status"], year["revision"], year["notice"]) == ("official", 1, NOTICE_2027)
    assert year["published_by"] == "city-admin" and year["published_at"]

    def published() -> list[Any]:
        topic = topic_for(CalendarYearPublished, domain.common.topic_prefix)
        return [m for m in domain.bus.messages(topic) if m.key == b"2027"]

    await until(published, what="calendar-year-published on the bus")

    async def everywhere(revision: int) -> bool:
        answers = await service_answers(domain, "/calendar/days/2027-02-14")
        return all(
            a == {"date": "2027-02-14", "working": True, "status": "official", "revision": revision}
            for a in answers.values()
        )

    await until(lambda: everywhere(1), what="every service keeps the 2027 table")
    tables = await service_answers(domain, "/calendar/years/2027")
    assert set(tables) == set(DOMAIN_SERVICES)
    assert all(t["holidays"] == year["holidays"] and t["notice"] == NOTICE_2027 for t in tables.values())

    # The same table again changes nothing: no new revision, no event.
    r = await gw.put(URL, json=official_2027_body(), headers=admin(domain))
    assert r.status_code == 200 and r.json()["revision"] == 1
    assert len(published()) == 1

    corrected = copy.deepcopy(official_2027_body())
    corrected["notice"] = "国办发明电〔2026〕100号（测试用更正）"
    corrected["working_days"] = [d for d in corrected["working_days"] if d["date"] != "2027-02-14"]
    r = await gw.put(URL, json=corrected, headers=admin(domain))
    assert r.status_code == 428 and r.json()["type"] == "/problems/precondition-required"
    r = await gw.put(URL, json=corrected, headers={**admin(domain), "If-Match": '"2027-r0"'})
    assert r.status_code == 412 and r.json()["type"] == "/problems/precondition-failed"
    assert (await gw.get(URL)).json()["revision"] == 1
    r = await gw.put(URL, json=corrected, headers={**admin(domain), "If-Match": '"2027-r1"'})
    assert r.status_code == 200, r.text
    assert r.headers["etag"] == '"2027-r2"' and r.json()["notice"] == corrected["notice"]

    async def corrected_everywhere() -> bool:
        answers = await service_answers(domain, "/calendar/days/2027-02-14")
        return all(a["revision"] == 2 and a["working"] is False for a in answers.values())

    await until(corrected_everywhere, what="every service keeps the correction")
    listing = (await gw.get("/api/v1/calendar/years")).json()
    assert {"year": 2027, "status": "official", "revision": 2, "notice": corrected["notice"]} in listing[
        "years"
    ]


async def test_each_service_answers_from_its_own_database_after_a_restart(
    domain: Domain, gw: httpx.AsyncClient, postgres: PostgresSource
) -> None:
    """A new process on the same database answers as before: the table is kept, not cached."""
    common = test_settings()
    url = await postgres.new_database()
    app = service_app("indicators", url, common)
    async with running(app) as client:
        bus = app.state.ctx.bus
        await deliver(app, bus, official_2027_event())
        before = (await client.get("/calendar/deadline", params={"start": "2027-01-28", "amount": 10})).json()
    async with running(service_app("indicators", url, common)) as client:
        after = (await client.get("/calendar/deadline", params={"start": "2027-01-28", "amount": 10})).json()
    assert (
        before
        == after
        == {"start": "2027-01-28", "deadline": "2027-02-15T00:00:00+08:00", "provisional": False}
    )


@pytest.mark.parametrize(
    "today, expected",
    [("2026-10-31T23:00:00+08:00", "ready"), ("2026-11-01T09:00:00+08:00", "degraded")],
)
async def test_readiness_reports_a_provisional_next_year_from_november_and_stays_200(
    postgres: PostgresSource, today: str, expected: str
) -> None:
    common = test_settings(clock_start=datetime.fromisoformat(today))
    app = service_app("evaluation", await postgres.new_database(), common)
    async with running(app) as client:
        r = await client.get("/readyz")
        assert r.status_code == 200
        body = r.json()
        assert body["status"] == expected, body
        if expected == "degraded":
            assert body["checks"]["calendar"].startswith("degraded: 2027 年尚无官方节假日安排")
        else:
            assert body["checks"]["calendar"] == "ok"
        metrics = (await client.get("/metrics")).text
        assert "xn_calendar_last_official_year 2026.0" in metrics


async def test_the_portal_shows_a_notice_while_next_year_is_provisional(
    domain: Domain, postgres: PostgresSource
) -> None:
    november = test_settings(
        clock_start=datetime(2026, 11, 2, 9, tzinfo=SHANGHAI), jwt_secret=domain.common.jwt_secret
    )
    async with running(gateway_app(domain, await postgres.new_database(), common=november)) as client:
        page = (await client.get("/docs")).text
        assert 'class="xn-calendar-notice"' in page and "2027 年尚无官方节假日安排" in page
    october = test_settings(
        clock_start=datetime(2026, 10, 2, 9, tzinfo=SHANGHAI), jwt_secret=domain.common.jwt_secret
    )
    async with running(gateway_app(domain, await postgres.new_database(), common=october)) as client:
        assert "xn-calendar-notice" not in (await client.get("/docs")).text
