"""Coordination deadlines on the living holiday calendar (C2, C4, C7): limits that reach into a
year without an official table are counted on the provisional table and say so; when the official
table arrives, the open ones move to it, each announced once; closed ones keep their deadline.

The service runs on the business clock (``XN_CLOCK_START``), not on a test override of it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from services.coordination.service import matters
from shared.events import DeadlineChanged, DeadlinePassed, FeedbackSubmitted, TaskAssigned
from shared.messaging.memory import MemoryBus
from tests.support.apps import running, service_app, test_settings
from tests.support.calendar import deliver, moved_by_the_2027_table, official_2027_event
from tests.support.clock import Clock, at
from tests.support.coordination import Coordination, answered, problem, sheet, signed
from tests.support.infra import PostgresSource

VICE_MAYOR = {"level": "vice_mayor", "leader": "vm-urban", "approved_on": "2026-12-20"}


@asynccontextmanager
async def coordination_at(postgres: PostgresSource, start: datetime) -> AsyncIterator[Coordination]:
    """The service with its business clock started at ``start`` (and running on from there)."""
    common = test_settings(clock_start=start)
    bus = MemoryBus()
    app = service_app("coordination", await postgres.new_database(), common, bus, sweepers_enabled=False)
    async with running(app) as client:
        yield Coordination(client, app, bus, common, Clock(start))


async def open_sheet(c: Coordination, *departments: str, **overrides: Any) -> dict[str, Any]:
    r = await c.client.post(
        "/v1/joint-matters", json=sheet("jsj", *departments, **overrides), headers=c.dept("jsj")
    )
    return answered(r, 201)


async def item(c: Coordination, item_id: str) -> dict[str, Any]:
    return answered(await c.client.get(f"/v1/joint-items/{item_id}", headers=c.office()))


def deadlines(view: dict[str, Any]) -> list[tuple[str, str, str, bool]]:
    return [(i["department"], i["due_on"], i["deadline"], i["deadline_provisional"]) for i in view["items"]]


async def test_C2_limits_reaching_into_2027_are_counted_on_the_provisional_table(
    postgres: PostgresSource,
) -> None:
    async with coordination_at(postgres, at("2026-12-28 10:00")) as c:
        # Monday 12-28 + 3 days is Thursday 12-31, a working day of the packaged 2026 table.
        routine = await open_sheet(c, "nyj")
        assert deadlines(routine) == [("nyj", "2026-12-31", "2027-01-01T00:00:00+08:00", False)]
        assert routine["assigned_on"] == "2026-12-28"
        # + 10 days is Thursday 2027-01-07: a working day, but 2027 has no official table yet.
        complex_ = await open_sheet(c, "lyj", feedback_days=10, approvals=[VICE_MAYOR])
        assert deadlines(complex_) == [("lyj", "2027-01-07", "2027-01-08T00:00:00+08:00", True)]
        (complex_item,) = complex_["items"]
        shown = await item(c, complex_item["id"])
        assert shown["deadline_provisional"] is True and shown["deadline"] == "2027-01-08T00:00:00+08:00"

        assigned = {e["task_id"]: e for e in await c.events(TaskAssigned)}
        assert assigned[routine["items"][0]["id"]]["deadline_provisional"] is False
        assert assigned[complex_item["id"]]["deadline_provisional"] is True
        assert assigned[complex_item["id"]]["deadline"] == "2027-01-08T00:00:00+08:00"

    async with coordination_at(postgres, at("2026-12-29 10:00")) as c:
        # Tuesday 12-29 + 3 days is Friday 2027-01-01, 元旦 (a statutory holiday on the provisional
        # table); Civil Code art. 203 rolls it over the weekend to Monday 01-04.
        rolled = await open_sheet(c, "nyj")
        assert deadlines(rolled) == [("nyj", "2027-01-04", "2027-01-05T00:00:00+08:00", True)]
        (event,) = await c.events(TaskAssigned)
        assert event["deadline"] == "2027-01-05T00:00:00+08:00" and event["deadline_provisional"] is True


async def items_on_the_provisional_table(c: Coordination) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """One item swept as deemed consent, a sheet of two (one to move, one answered), and an item
    whose deadline only changes its flag; all on the provisional 2027 table."""
    approval = {**VICE_MAYOR, "approved_on": "2027-01-27"}
    # Swept first (the sweeper is called with the instant it runs at): deemed consent at the
    # provisional deadline, which it keeps.
    swept = (await open_sheet(c, "rsj", feedback_days=10, approvals=[approval]))["items"][0]["id"]
    assert await matters.sweep_deadlines(c.ctx, at("2027-02-10 00:00")) == 1
    (passed,) = await c.events(DeadlinePassed)
    assert passed["subject_id"] == swept and passed["consequence"] == "deemed-consent"
    assert passed["deadline"] == "2027-02-10T00:00:00+08:00" and passed["deadline_provisional"] is True

    # Thursday 01-28 + 10 days is Sunday 02-07; the provisional table rests 春节 02-05..02-08,
    # so the period ends on Tuesday 02-09.
    sheet_10 = await open_sheet(c, "nyj", "lyj", feedback_days=10, approvals=[approval])
    assert deadlines(sheet_10) == [
        ("nyj", "2027-02-09", "2027-02-10T00:00:00+08:00", True),
        ("lyj", "2027-02-09", "2027-02-10T00:00:00+08:00", True),
    ]
    _, answered = (i["id"] for i in sheet_10["items"])
    r = await c.client.post(f"/v1/joint-items/{answered}/feedback", json=signed(), headers=c.dept("lyj"))
    assert r.status_code == 201 and r.json()["state"] == "answered", r.text
    (feedback,) = await c.events(FeedbackSubmitted)
    assert (feedback["task_id"], feedback["late"], feedback["deadline_provisional"]) == (
        answered,
        False,
        True,
    )
    # + 3 days is Sunday 01-31, rolled to Monday 02-01 on either table: only the flag changes.
    steady = (await open_sheet(c, "czj"))["items"][0]
    assert (steady["deadline"], steady["deadline_provisional"]) == ("2027-02-02T00:00:00+08:00", True)
    return swept, sheet_10, steady


async def closed_and_unmoved_items_keep_their_deadlines(
    c: Coordination, answered: str, swept: str, steady: dict[str, Any]
) -> None:
    kept = await item(c, answered)
    assert (kept["deadline"], kept["state"]) == ("2027-02-10T00:00:00+08:00", "answered")
    deemed = await item(c, swept)
    assert (deemed["deadline"], deemed["state"], deemed["deadline_provisional"]) == (
        "2027-02-10T00:00:00+08:00",
        "deemed-consent",
        True,
    )
    flagged = await item(c, steady["id"])
    assert (flagged["deadline"], flagged["deadline_provisional"]) == ("2027-02-02T00:00:00+08:00", False)


async def test_C4_official_2027_table_moves_open_items_once_and_leaves_closed_ones(
    postgres: PostgresSource,
) -> None:
    async with coordination_at(postgres, at("2027-01-28 10:00")) as c:
        swept, sheet_10, steady = await items_on_the_provisional_table(c)
        moving, answered = (i["id"] for i in sheet_10["items"])

        await deliver(c.app, c.bus, official_2027_event())

        (changed,) = await c.events(DeadlineChanged)
        assert changed == moved_by_the_2027_table(
            "joint-item", moving, "nyj", "2027-02-10T00:00:00+08:00", "2027-02-15T00:00:00+08:00"
        )
        # The official table keeps 02-08..02-12 off and works Sunday 02-14 (调休).
        moved = await item(c, moving)
        assert (moved["due_on"], moved["deadline"], moved["deadline_provisional"], moved["state"]) == (
            "2027-02-14",
            "2027-02-15T00:00:00+08:00",
            False,
            "assigned",
        )
        view = (await c.client.get(f"/v1/joint-matters/{sheet_10['id']}", headers=c.office())).json()
        assert "各会办事项所列日期" in view["requirements"]
        await closed_and_unmoved_items_keep_their_deadlines(c, answered, swept, steady)

        # Delivered again, and corrected with the same days: nothing moves, nothing is announced.
        await deliver(c.app, c.bus, official_2027_event())
        await deliver(c.app, c.bus, official_2027_event(revision=2))
        assert len(await c.events(DeadlineChanged)) == 1
        assert (await item(c, moving))["deadline"] == "2027-02-15T00:00:00+08:00"


async def test_C7_assignment_deadlines_on_the_provisional_table_and_after_publication(
    postgres: PostgresSource,
) -> None:
    async with coordination_at(postgres, at("2027-01-28 10:00")) as c:
        registered = await c.client.post(
            "/v1/instructions",
            json={"leader": "vm-urban", "category": "request", "title": "请示件", "content": "请审示"},
            headers=c.office(),
        )
        assert registered.status_code == 201, registered.text
        base = f"/v1/instructions/{registered.json()['id']}"
        proposed = await c.client.post(
            f"{base}/proposal", json={"proposal": "拟请市建设局办理"}, headers=c.office()
        )
        assert proposed.status_code == 200, proposed.text
        # 不过夜 (no stated limit): 24:00 of the day assigned, in a year with no official table yet;
        # a stated last day is a date, which no holiday table moves.
        r = await c.client.post(
            f"{base}/assignments",
            json={"assignments": [{"department": "jsj"}, {"department": "czj", "due_on": "2027-02-09"}]},
            headers=c.office(),
        )
        assert r.status_code == 200, r.text
        shown = {a["department"]: (a["deadline"], a["deadline_provisional"]) for a in r.json()["assignments"]}
        assert shown == {
            "jsj": ("2027-01-29T00:00:00+08:00", True),
            "czj": ("2027-02-10T00:00:00+08:00", False),
        }
        events = {e["department"]: e["deadline_provisional"] for e in await c.events(TaskAssigned)}
        assert events == {"jsj": True, "czj": False}

        await deliver(c.app, c.bus, official_2027_event())

        after = (await c.client.get(base, headers=c.office())).json()
        shown = {a["department"]: (a["deadline"], a["deadline_provisional"]) for a in after["assignments"]}
        assert shown == {
            "jsj": ("2027-01-29T00:00:00+08:00", False),
            "czj": ("2027-02-10T00:00:00+08:00", False),
        }
        assert await c.events(DeadlineChanged) == []


async def test_C2_a_date_outside_the_calendar_is_422_naming_the_field(postgres: PostgresSource) -> None:
    async with coordination_at(postgres, at("2026-12-28 10:00")) as c:
        # The office registers paper sheets issued earlier; the calendar begins in 2004.
        old = sheet("jsj", "nyj", assigned_on="2003-06-02")
        refused = problem(await c.client.post("/v1/joint-matters", json=old, headers=c.office()), 422)
        assert refused["type"] == "/problems/calendar-out-of-range"
        assert refused["field"] == "assigned_on" and refused["rule"] == "C2"
        assert "2003" in refused["detail"]
        listed = await c.client.get("/v1/joint-matters", headers=c.office())
        assert listed.json()["items"] == []
