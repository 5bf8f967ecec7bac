"""I4 and the living holiday calendar: a report duty due in a year without its official holiday
table is provisional, and moves when the official table is published; closed duties keep theirs.

The business clock is set through ``XN_CLOCK_START`` (``CommonSettings.clock_start``): the
service publishes "today" without a test clock of its own.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import httpx
from fastapi import FastAPI

from services.indicators.service.duties import sweep_overdue_report_duties
from shared.deadlines import SHANGHAI
from shared.events import DeadlineChanged, DeadlinePassed
from shared.messaging.memory import MemoryBus
from shared.settings import CommonSettings
from tests.support.apps import bearer, running, service_app, test_settings
from tests.support.calendar import deliver, moved_by_the_2027_table, official_2027_event
from tests.support.events import committed
from tests.support.indicators import Office, at, values_for_rank
from tests.support.infra import PostgresSource

PROBLEM = "application/problem+json"
PROVISIONAL_DUE = "2027-02-10T00:00:00+08:00"
OFFICIAL_DUE = "2027-02-15T00:00:00+08:00"
REPORT = {"causes": "出口订单下滑", "targets": "一季度回到全省前五", "measures": "稳外贸专项行动"}


@asynccontextmanager
async def indicators_on(
    postgres: PostgresSource, today: datetime
) -> AsyncIterator[tuple[httpx.AsyncClient, FastAPI, MemoryBus, CommonSettings, Office]]:
    """The service with its business clock started at ``today``, and the office acting on it; the
    registered sweeper stays off (the tests sweep by hand with a chosen now)."""
    common = test_settings(clock_start=today)
    bus = MemoryBus()
    app = service_app("indicators", await postgres.new_database(), common, bus, sweepers_enabled=False)
    async with running(app) as client:
        yield client, app, bus, common, Office(client, common)


async def duty(client: httpx.AsyncClient, office: Office, duty_id: str) -> dict[str, Any]:
    r = await client.get(f"/v1/report-duties/{duty_id}", headers=office.headers)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


async def duties_due_on_the_provisional_table(
    client: httpx.AsyncClient, office: Office
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """December 2026 published on 2027-01-28 with npl-ratio 6th and exports 9th: the bulletin and
    both duties, due on the provisional table."""
    await office.record("npl-ratio", "2026-12", values=values_for_rank(6, higher_is_better=False))
    await office.record("exports", "2026-12", rank=9)
    # No issued_on: the bulletin is dated today by the business clock, Thursday 2027-01-28.
    r = await client.post("/v1/bulletins/2026-12/editions", headers=office.headers)
    assert r.status_code == 201, r.text
    bulletin: dict[str, Any] = r.json()
    assert bulletin["issued_on"] == "2027-01-28"
    refs = {e["indicator"]: e["report_duty"] for e in bulletin["entries"]}
    # 10 days end on Sunday 2027-02-07, inside 春节 as the statutory holidays date it
    # (02-05 to 02-08, no 调休 known yet): the next working day is Tuesday 02-09.
    assert refs["npl-ratio"]["due_at"] == PROVISIONAL_DUE
    assert refs["npl-ratio"]["deadline_provisional"] is True

    duties = {d["indicator"]: d for d in await office.duties()}
    npl, exports = duties["npl-ratio"], duties["exports"]
    for d in (npl, exports):
        assert d["status"] == "open" and d["issued_on"] == "2027-01-28"
        assert d["due_at"] == PROVISIONAL_DUE and d["deadline_provisional"] is True
    return bulletin, npl, exports


async def test_I4_a_duty_due_in_a_provisional_year_moves_when_the_official_table_is_published(
    postgres: PostgresSource,
) -> None:
    async with indicators_on(postgres, at("2027-01-28")) as (client, app, bus, common, office):
        bulletin, npl, exports = await duties_due_on_the_provisional_table(client, office)
        r = await client.post(
            f"/v1/report-duties/{exports['id']}/report",
            json=REPORT,
            headers=bearer(common, "department", department="swj"),
        )
        assert r.status_code == 200 and r.json()["status"] == "filed", r.text

        # The State Council's table: 春节 off from Monday 02-08 to Friday 02-12, Sunday 02-14
        # worked; 02-07 is still a rest day, and the next working day is that Sunday.
        await deliver(app, bus, official_2027_event())
        moved = await duty(client, office, npl["id"])
        assert moved["due_at"] == OFFICIAL_DUE and moved["deadline_provisional"] is False
        assert moved["status"] == "open"
        changed = await committed(app, DeadlineChanged)
        assert changed == [
            moved_by_the_2027_table("report-duty", npl["id"], "jrb", PROVISIONAL_DUE, OFFICIAL_DUE)
        ]
        # A filed report is closed: its due date stays as it was when it was filed.
        filed = await duty(client, office, exports["id"])
        assert filed["status"] == "filed" and filed["late"] is False
        assert filed["due_at"] == PROVISIONAL_DUE
        # The published bulletin stays exactly as published.
        r = await client.get("/v1/bulletins/2026-12")
        assert r.json() == bulletin

        # The same table again (a redelivery, or revision 1 sent twice) moves nothing.
        await deliver(app, bus, official_2027_event())
        await deliver(app, bus, official_2027_event(revision=1))
        assert len(await committed(app, DeadlineChanged)) == 1
        assert (await duty(client, office, npl["id"]))["due_at"] == OFFICIAL_DUE

        # The duty now falls due on the official date, and is announced as not provisional.
        due = datetime.fromisoformat(OFFICIAL_DUE)
        assert await sweep_overdue_report_duties(app.state.ctx, datetime(2027, 2, 10, tzinfo=SHANGHAI)) == 0
        assert await sweep_overdue_report_duties(app.state.ctx, due) == 1
        (passed,) = await committed(app, DeadlinePassed)
        assert passed["subject_id"] == npl["id"] and passed["deadline_provisional"] is False
        assert datetime.fromisoformat(passed["deadline"]) == due


async def test_I4_an_overdue_duty_keeps_its_due_date_and_outcome_when_the_table_arrives(
    postgres: PostgresSource,
) -> None:
    async with indicators_on(postgres, at("2027-02-01")) as (client, app, bus, _common, office):
        await office.record("npl-ratio", "2026-12", values=values_for_rank(6, higher_is_better=False))
        await office.publish("2026-12", "2027-01-28")
        await office.record("exports", "2027-01", rank=9)
        # Monday 02-01 + 10 days: Thursday 02-11, a working day before the official table.
        await office.publish("2027-01", "2027-02-01")
        duties = {d["indicator"]: d for d in await office.duties()}
        npl, exports = duties["npl-ratio"], duties["exports"]
        assert npl["due_at"] == PROVISIONAL_DUE and npl["deadline_provisional"] is True
        assert exports["due_at"] == "2027-02-12T00:00:00+08:00" and exports["deadline_provisional"] is True

        # The December report is not filed by its provisional due date: overdue, announced once.
        assert await sweep_overdue_report_duties(app.state.ctx, datetime.fromisoformat(PROVISIONAL_DUE)) == 1
        (passed,) = await committed(app, DeadlinePassed)
        assert passed["subject_id"] == npl["id"] and passed["deadline_provisional"] is True

        await deliver(app, bus, official_2027_event())
        overdue = await duty(client, office, npl["id"])
        assert overdue["status"] == "overdue" and overdue["due_at"] == PROVISIONAL_DUE
        assert overdue["deadline_provisional"] is True  # as it was when it passed
        # Under the official table 02-11 is 春节 too: the open duty moves to Sunday 02-14 (worked).
        moved = await duty(client, office, exports["id"])
        assert moved["due_at"] == OFFICIAL_DUE and moved["deadline_provisional"] is False
        changed = await committed(app, DeadlineChanged)
        assert [(e["subject_id"], e["old_deadline"], e["new_deadline"]) for e in changed] == [
            (exports["id"], "2027-02-12T00:00:00+08:00", OFFICIAL_DUE)
        ]
        assert len(await committed(app, DeadlinePassed)) == 1


async def test_I4_a_bulletin_dated_before_the_calendar_begins_is_422_naming_issued_on(
    postgres: PostgresSource,
) -> None:
    async with indicators_on(postgres, at("2027-01-28")) as (client, _app, _bus, _common, office):
        r = await client.post(
            "/v1/bulletins/2003-11/editions", json={"issued_on": "2003-12-01"}, headers=office.headers
        )
        assert r.status_code == 422 and r.headers["content-type"] == PROBLEM
        problem = r.json()
        assert problem["type"] == "/problems/calendar-out-of-range"
        assert problem["rule"] == "I4" and problem["field"] == "issued_on"
        assert "2003 年不在节假日日历的范围内" in problem["detail"]
