"""Evaluation turns other services' events into department facts (E2 raw material)."""

from __future__ import annotations

from datetime import UTC, datetime

from shared.events import (
    DeadlinePassed,
    DeadlinePassedWithdrawn,
    EventData,
    FeedbackSubmitted,
    RankingPublished,
    TaskAssigned,
)
from shared.messaging.memory import MemoryBus
from shared.settings import CommonSettings
from tests.support.apps import bearer, running, service_app
from tests.support.evaluation import consumed
from tests.support.events import message_of
from tests.support.infra import PostgresSource

DUE = datetime(2018, 6, 20, tzinfo=UTC)


def jxw_events() -> list[EventData]:
    """Five items assigned to jxw, one answered late, one deemed consent, and a ranking of jxw and fgw."""
    events: list[EventData] = [
        TaskAssigned(
            task_id=f"item-{n}",
            kind="joint-item",
            parent_id="m-1",
            lead_department="fgw",
            department="jxw",
            deadline=DUE,
        )
        for n in range(5)
    ]
    events += [
        FeedbackSubmitted(
            task_id="item-0",
            kind="joint-item",
            parent_id="m-1",
            department="jxw",
            submitted_at=DUE,
            deadline=DUE,
            late=True,
        ),
        DeadlinePassed(
            subject_kind="joint-item",
            subject_id="item-1",
            department="jxw",
            deadline=DUE,
            consequence="deemed-consent",
        ),
        RankingPublished(
            bulletin_id="b-1",
            indicator="m-gdp",
            period="2018-05",
            rank=7,
            cities=11,
            departments=["jxw", "fgw"],
            worse_than_threshold=True,
        ),
    ]
    return events


async def test_E2_events_become_facts_per_department_and_page_by_cursor(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    bus = MemoryBus()
    app = service_app("evaluation", await postgres.new_database(), common, bus)
    events = jxw_events()
    async with running(app) as client:
        await bus.publish([message_of(e) for e in events])
        await consumed(app, len(events))
        office = bearer(common, "office")
        r = await client.get("/v1/departments/jxw/facts", params={"limit": 3}, headers=office)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["counts"] == {
            "joint-item-assigned": 5,
            "joint-item-answered-late": 1,
            "joint-item-deemed-consent": 1,
            "ranking-worse-than-threshold": 1,
        }
        seen = [f["event_id"] for f in body["facts"]]
        assert len(seen) == 3 and body["next_cursor"] and 'rel="next"' in r.headers["link"]
        while body["next_cursor"]:
            body = (
                await client.get(
                    "/v1/departments/jxw/facts",
                    params={"limit": 3, "cursor": body["next_cursor"]},
                    headers=office,
                )
            ).json()
            seen += [f["event_id"] for f in body["facts"]]
        assert len(seen) == len(set(seen)) == 8
        fgw = (await client.get("/v1/departments/fgw/facts", headers=office)).json()
        assert fgw["counts"] == {"ranking-worse-than-threshold": 1}
        bad = await client.get("/v1/departments/jxw/facts", params={"cursor": "!!"}, headers=office)
        assert bad.status_code == 400 and bad.headers["content-type"] == "application/problem+json"
        assert (await client.get("/v1/departments/nope/facts", headers=office)).status_code == 404


async def test_E2_a_withdrawn_deadline_stays_in_the_facts_beside_its_withdrawal(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    bus = MemoryBus()
    app = service_app("evaluation", await postgres.new_database(), common, bus)
    passed = DeadlinePassed(
        subject_kind="document-version",
        subject_id="doc-1@1",
        department="fgw",
        deadline=DUE,
        consequence="overdue",
    )
    withdrawn = DeadlinePassedWithdrawn(
        **passed.model_dump(),
        reason="backfilled-exemption",
        stated_at=datetime(2018, 6, 18, tzinfo=UTC),
        withdrawn_by="city-office",
        withdrawn_at=datetime(2018, 7, 3, tzinfo=UTC),
    )
    async with running(app) as client:
        await bus.publish([message_of(passed), message_of(withdrawn)])
        await consumed(app, 2)
        r = await client.get("/v1/departments/fgw/facts", headers=bearer(common, "office"))
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["counts"] == {"document-version-overdue": 1, "document-version-overdue-withdrawn": 1}
        assert {f["subject_id"] for f in body["facts"]} == {"doc-1@1"}
        assert {f["effective_on"] for f in body["facts"]} == {"2018-06-20"}
