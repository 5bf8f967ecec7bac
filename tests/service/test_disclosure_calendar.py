"""D1 and D3 on a living holiday calendar: deadlines counted through a year without its official
table are provisional, and the official table, when it arrives, moves the open versions it
changes (deadline-changed), leaving published, superseded and overdue versions as they were.

The 2027 table delivered here is the made-up one of ``tests.support.calendar``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import httpx
from fastapi import FastAPI

from services.disclosure.sweeper import sweep_overdue
from shared.deadlines import SHANGHAI
from shared.events import DeadlineChanged, DeadlinePassed, DocumentFormed, DocumentPublished
from shared.settings import CommonSettings
from tests.support.apps import running, service_app, test_settings
from tests.support.calendar import deliver, moved_by_the_2027_table, official_2027_event
from tests.support.disclosure import change, drafter, office, payload, publish, register
from tests.support.events import committed
from tests.support.infra import PostgresSource


def clock(common: CommonSettings, when: datetime) -> CommonSettings:
    """The same settings (and token secret) with the business clock started at ``when``."""
    return test_settings(jwt_secret=common.jwt_secret, clock_start=when)


@asynccontextmanager
async def disclosure_at(
    url: str, common: CommonSettings, when: datetime
) -> AsyncIterator[tuple[httpx.AsyncClient, FastAPI]]:
    """The service on ``url`` with its business clock at ``when``; tests sweep themselves."""
    app = service_app("disclosure", url, clock(common, when), sweepers_enabled=False)
    async with running(app) as client:
        yield client, app


async def document(client: httpx.AsyncClient, common: CommonSettings, doc_id: str) -> dict[str, Any]:
    r = await client.get(f"/v1/documents/{doc_id}", headers=office(common))
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def shown(doc: dict[str, Any]) -> tuple[str, bool]:
    return doc["deadline"], doc["deadline_provisional"]


async def test_D1_deadlines_into_2027_are_provisional_and_the_official_table_moves_only_those_it_changes(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    url = await postgres.new_database()
    async with disclosure_at(url, common, datetime(2026, 12, 28, 10, tzinfo=SHANGHAI)) as (client, app):
        # Formed Monday 2026-12-28: the 10th day is Thursday 2027-01-07, a working day in the
        # provisional 2027 (元旦 only), so 24:00 of 01-07; 2027 has no official table: provisional.
        a = await register(client, common, formed_on="2026-12-28")
        assert shown(a) == ("2027-01-08T00:00:00+08:00", True)
        assert a["versions"][0]["deadline_provisional"] is True
        # Registered late, formed 2026-12-22: the 10th day is Friday 2027-01-01 (元旦), so the
        # period ends on Monday 01-04 (Civil Code art. 203): 24:00 of 01-04, still provisional.
        b = await register(client, common, formed_on="2026-12-22")
        assert shown(b) == ("2027-01-05T00:00:00+08:00", True)
        formed = await committed(app, DocumentFormed)
        assert [(e["document_id"], e["deadline"], e["deadline_provisional"]) for e in formed] == [
            (a["id"], "2027-01-08T00:00:00+08:00", True),
            (b["id"], "2027-01-05T00:00:00+08:00", True),
        ]
        listed = (await client.get("/v1/documents", headers=office(common))).json()["items"]
        assert {d["id"]: d["deadline_provisional"] for d in listed} == {a["id"]: True, b["id"]: True}

    async with disclosure_at(url, common, datetime(2027, 1, 28, 10, tzinfo=SHANGHAI)) as (client, app):
        # Formed Thursday 2027-01-28: the 10th day is Sunday 02-07, inside the provisional 春节
        # (02-05..02-08), so the period ends on Tuesday 02-09.
        c = await register(client, common, formed_on="2027-01-28", drafting_department="czj")
        assert shown(c) == ("2027-02-10T00:00:00+08:00", True)

        await deliver(app, app.state.ctx.bus, official_2027_event())

        # Officially 02-08..02-12 are off and Sunday 02-14 is worked: the period ends on 02-14.
        assert shown(await document(client, common, c["id"])) == ("2027-02-15T00:00:00+08:00", False)
        assert (await document(client, common, c["id"]))["versions"][0]["deadline_provisional"] is False
        # The official table leaves 2027-01-08 and 2027-01-05 where they were: no announcement,
        # but they no longer depend on a provisional year.
        assert shown(await document(client, common, a["id"])) == ("2027-01-08T00:00:00+08:00", False)
        assert shown(await document(client, common, b["id"])) == ("2027-01-05T00:00:00+08:00", False)
        assert await committed(app, DeadlineChanged) == [
            moved_by_the_2027_table(
                "document-version",
                f"{c['id']}@1",
                "czj",
                "2027-02-10T00:00:00+08:00",
                "2027-02-15T00:00:00+08:00",
            )
        ]

        # The same table again, as a redelivery or a second publication of revision 1: nothing moves.
        await deliver(app, app.state.ctx.bus, official_2027_event())
        await deliver(app, app.state.ctx.bus, official_2027_event(revision=1))
        assert len(await committed(app, DeadlineChanged)) == 1
        assert shown(await document(client, common, c["id"])) == ("2027-02-15T00:00:00+08:00", False)

        # A version formed now is counted on the official table straight away.
        d = await register(client, common, formed_on="2027-01-28")
        assert shown(d) == ("2027-02-15T00:00:00+08:00", False)


async def test_D3_versions_no_longer_open_keep_their_deadline_and_outcome_when_the_table_arrives(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    url = await postgres.new_database()
    async with disclosure_at(url, common, datetime(2027, 2, 10, 10, tzinfo=SHANGHAI)) as (client, app):
        ctx = app.state.ctx
        # Formed 2027-01-28, registered late: its provisional deadline 24:00 of 02-09 has passed,
        # and the registered sweeper, on the business clock, records it overdue.
        late = await register(client, common, formed_on="2027-01-28")
        assert shown(late) == ("2027-02-10T00:00:00+08:00", True)
        assert await sweep_overdue(ctx) == 1
        (passed,) = await committed(app, DeadlinePassed)
        assert passed["subject_id"] == f"{late['id']}@1" and passed["deadline_provisional"] is True

        # Changed Monday 02-01: the 10th day is Thursday 02-11, a working day in the provisional
        # table; officially 02-11 and 02-12 are off and Sunday 02-14 is worked.
        changed = await register(client, common, formed_on="2027-01-29")
        r = await change(client, common, changed["id"], "2027-02-01")
        assert r.status_code == 201, r.text
        assert shown(r.json()) == ("2027-02-12T00:00:00+08:00", True)
        assert r.json()["versions"][0]["status"] == "superseded"
        formed = await committed(app, DocumentFormed)
        assert (formed[-1]["version"], formed[-1]["deadline_provisional"]) == (2, True)

        await deliver(app, ctx.bus, official_2027_event())

        overdue = await document(client, common, late["id"])
        assert (overdue["status"], overdue["deadline"]) == ("overdue", "2027-02-10T00:00:00+08:00")
        assert overdue["versions"][0]["overdue_at"] is not None
        now = await document(client, common, changed["id"])
        v1, v2 = now["versions"]
        # The superseded version's clock stopped: its deadline stays on record as it was.
        assert (v1["status"], v1["deadline"]) == ("superseded", "2027-02-10T00:00:00+08:00")
        assert (v2["status"], v2["deadline"], v2["deadline_provisional"]) == (
            "open",
            "2027-02-15T00:00:00+08:00",
            False,
        )
        moved = await committed(app, DeadlineChanged)
        assert [(e["subject_id"], e["department"], e["old_deadline"], e["new_deadline"]) for e in moved] == [
            (f"{changed['id']}@2", "fgw", "2027-02-12T00:00:00+08:00", "2027-02-15T00:00:00+08:00")
        ]
        assert await sweep_overdue(ctx) == 0, "an overdue version is recorded once"
        # Published late at last: the deadline it missed was counted on the provisional table.
        assert (await publish(client, common, late["id"], 1, "2027-02-10 09:00")).status_code == 201
        (published,) = await committed(app, DocumentPublished)
        assert (published["on_time"], published["deadline_provisional"]) == (False, True)


async def test_D1_a_formation_date_outside_the_holiday_calendar_is_422_naming_the_field(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    url = await postgres.new_database()
    async with disclosure_at(url, common, datetime(2026, 12, 28, 10, tzinfo=SHANGHAI)) as (client, _):
        r = await client.post("/v1/documents", json=payload(formed_on="2003-06-02"), headers=drafter(common))
        assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
        problem = r.json()
        assert problem["type"] == "/problems/calendar-out-of-range"
        assert (problem["field"], problem["rule"]) == ("formed_on", "D1")
        assert "2003" in problem["detail"]
        # A year merely without its official table is never refused.
        r = await client.post("/v1/documents", json=payload(formed_on="2026-12-28"), headers=drafter(common))
        assert r.status_code == 201 and r.json()["deadline_provisional"] is True
