"""D2/D3: an exemption sign-off belongs to drafting time. Judged on the instant it was made (the
leader's own, or the one a paper record states when the office backfills it), never on whether
the sweeper ran first; a late one is kept but the version is overdue, announced once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI

from services.disclosure.sweeper import mark_overdue
from shared.events import DeadlinePassed, DocumentPublished, ExemptionDecided
from shared.events.contracts import DeadlinePassedWithdrawn
from shared.settings import CommonSettings
from tests.support import disclosure as support
from tests.support.apps import bearer
from tests.support.clock import at
from tests.support.disclosure import IN_CHARGE, clock_at, decide, disclosure, leader, office, withheld
from tests.support.events import committed
from tests.support.infra import PostgresSource

# Formed Friday 2018-06-01: the last day is Monday 06-11, the deadline 24:00 of 06-11.
FORMED_ON = "2018-06-01"
DEADLINE = "2018-06-12T00:00:00+08:00"


@asynccontextmanager
async def one_withheld(
    postgres: PostgresSource, common: CommonSettings
) -> AsyncIterator[tuple[httpx.AsyncClient, FastAPI, dict[str, Any]]]:
    """The service with one document to be withheld, formed on FORMED_ON, its exemption pending."""
    async with disclosure(postgres, common) as (client, app):
        yield client, app, await withheld(client, common, formed_on=FORMED_ON)


async def signed(
    client: httpx.AsyncClient, app: FastAPI, common: CommonSettings, doc: dict[str, Any], when: str
) -> httpx.Response:
    """The vice-mayor in charge grants the exemption with his own token at ``when``."""
    with clock_at(app.state.ctx, when):
        return await decide(client, doc, leader(common, IN_CHARGE), granted=True)


async def backfilled(
    client: httpx.AsyncClient,
    app: FastAPI,
    common: CommonSettings,
    doc: dict[str, Any],
    when: str,
    stated: str,
) -> httpx.Response:
    """The office enters, at ``when``, a paper sign-off of the vice-mayor in charge made at ``stated``."""
    stated_at = at(stated).isoformat()
    with clock_at(app.state.ctx, when):
        return await decide(
            client, doc, office(common), granted=True, decided_at=stated_at, signed_by=IN_CHARGE
        )


def accepted(r: httpx.Response) -> dict[str, Any]:
    """The version a decision the service accepted (201) shows."""
    assert r.status_code == 201, r.text
    return r.json()["versions"][0]  # type: ignore[no-any-return]


async def fgw_outcomes(client: httpx.AsyncClient, common: CommonSettings) -> tuple[int, int]:
    """fgw's (overdue unpublished, exempt) in 2018-Q2."""
    params = {"period": "2018-Q2", "department": "fgw"}
    r = await client.get("/v1/statistics", params=params, headers=bearer(common, "supervisor"))
    assert r.status_code == 200, r.text
    (fgw,) = r.json()["departments"]
    return fgw["overdue_unpublished"], fgw["exempt"]


async def test_D2_a_sign_off_before_the_deadline_makes_the_version_exempt(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    async with one_withheld(postgres, common) as (client, app, doc):
        version = accepted(await signed(client, app, common, doc, "2018-06-11 23:59:59"))
        assert version["status"] == "exempt" and version["overdue_at"] is None
        exemption = version["exemption"]
        assert exemption["decided_at"] == "2018-06-11T23:59:59+08:00"
        assert exemption["after_deadline"] is False and exemption["backfilled"] is False
        assert exemption["recorded_by"] == f"client-{IN_CHARGE}"
        assert exemption["recorded_at"] == "2018-06-11T23:59:59+08:00"

        assert await mark_overdue(app.state.ctx, at("2018-06-12 00:00:00")) == 0
        assert await committed(app, DeadlinePassed) == []
        (decided,) = await committed(app, ExemptionDecided)
        assert decided["decided_at"] == "2018-06-11T23:59:59+08:00" and decided["after_deadline"] is False
        assert await fgw_outcomes(client, common) == (0, 1)


async def test_D3_a_sign_off_after_the_deadline_before_the_sweep_is_kept_but_the_version_is_overdue(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    async with one_withheld(postgres, common) as (client, app, doc):
        # 24:00 of the last day exactly is already late, as for the sweeper.
        r = await signed(client, app, common, doc, "2018-06-12 00:00:00")
        version = accepted(r)
        assert r.json()["status"] == version["status"] == "overdue"
        assert version["overdue_at"] == "2018-06-12T00:00:00+08:00"
        assert version["exemption"]["decision"] == "granted", "the decision is kept"
        assert version["exemption"]["after_deadline"] is True, "the response says why"

        (passed,) = await committed(app, DeadlinePassed)
        assert passed["subject_id"] == f"{doc['id']}@1" and passed["deadline"] == DEADLINE
        assert passed["consequence"] == "overdue"
        (decided,) = await committed(app, ExemptionDecided)
        assert decided["granted"] is True and decided["after_deadline"] is True
        # The sweeper finds nothing left: announced once.
        assert await mark_overdue(app.state.ctx, at("2018-06-13 00:00:00")) == 0
        assert len(await committed(app, DeadlinePassed)) == 1
        assert await fgw_outcomes(client, common) == (1, 0)


async def test_D3_a_sign_off_after_the_sweep_keeps_the_overdue_record_and_announces_nothing_more(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    async with one_withheld(postgres, common) as (client, app, doc):
        assert await mark_overdue(app.state.ctx, at("2018-06-12 00:05:00")) == 1
        version = accepted(await signed(client, app, common, doc, "2018-06-13 09:00:00"))
        assert version["status"] == "overdue" and version["overdue_at"] == "2018-06-12T00:05:00+08:00"
        assert version["exemption"]["decision"] == "granted" and version["exemption"]["after_deadline"]
        assert len(await committed(app, DeadlinePassed)) == 1
        assert await committed(app, DeadlinePassedWithdrawn) == []
        assert await fgw_outcomes(client, common) == (1, 0)


async def test_D3_a_late_sign_off_racing_the_sweeper_is_overdue_and_announced_once(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    async with disclosure(postgres, common) as (client, app):
        docs = [await withheld(client, common, formed_on=FORMED_ON) for _ in range(4)]
        with clock_at(app.state.ctx, "2018-06-12 00:00:01"):
            answers = await asyncio.gather(
                *(decide(client, d, leader(common, IN_CHARGE), granted=True) for d in docs),
                mark_overdue(app.state.ctx, at("2018-06-12 00:00:01")),
            )
        for r in answers[:-1]:
            assert isinstance(r, httpx.Response) and r.status_code == 201, r
            assert r.json()["status"] == "overdue"
        passed = await committed(app, DeadlinePassed)
        assert sorted(p["subject_id"] for p in passed) == sorted(f"{d['id']}@1" for d in docs)
        assert await fgw_outcomes(client, common) == (4, 0)


async def test_D2_a_backfilled_sign_off_dated_before_the_deadline_makes_the_version_exempt(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    async with one_withheld(postgres, common) as (client, app, doc):
        # Entered after the deadline, the sweeper not run yet: the paper's instant decides.
        version = accepted(
            await backfilled(client, app, common, doc, "2018-06-15 10:00:00", "2018-06-08 16:00:00")
        )
        assert version["status"] == "exempt" and version["overdue_at"] is None
        exemption = version["exemption"]
        assert exemption["signed_by"] == IN_CHARGE and exemption["decided_at"] == "2018-06-08T16:00:00+08:00"
        assert exemption["backfilled"] is True and exemption["after_deadline"] is False
        assert exemption["recorded_by"] == "city-office"
        assert exemption["recorded_at"] == "2018-06-15T10:00:00+08:00"
        (decided,) = await committed(app, ExemptionDecided)
        assert decided["backfilled"] is True and decided["recorded_by"] == "city-office"
        assert decided["decided_at"] == "2018-06-08T16:00:00+08:00"
        assert decided["recorded_at"] == "2018-06-15T10:00:00+08:00"

        assert await mark_overdue(app.state.ctx, at("2018-06-15 10:00:00")) == 0
        assert await committed(app, DeadlinePassed) == []
        assert await fgw_outcomes(client, common) == (0, 1)


async def test_D3_a_backfilled_sign_off_before_the_deadline_corrects_a_version_already_swept(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    async with one_withheld(postgres, common) as (client, app, doc):
        assert await mark_overdue(app.state.ctx, at("2018-06-12 00:05:00")) == 1
        assert await fgw_outcomes(client, common) == (1, 0)

        version = accepted(
            await backfilled(client, app, common, doc, "2018-06-20 10:00:00", "2018-06-08 16:00:00")
        )
        assert version["status"] == "exempt"
        # The correction sits beside the original record, which stays.
        assert version["overdue_at"] == "2018-06-12T00:05:00+08:00"
        assert version["overdue_withdrawn_at"] == "2018-06-20T10:00:00+08:00"
        assert version["overdue_withdrawn_by"] == "city-office"
        (withdrawn,) = await committed(app, DeadlinePassedWithdrawn)
        assert withdrawn == {
            "subject_kind": "document-version",
            "subject_id": f"{doc['id']}@1",
            "department": "fgw",
            "deadline": DEADLINE,
            "consequence": "overdue",
            "deadline_provisional": False,
            "parent_id": None,
            "passed_at": "2018-06-12T00:05:00+08:00",
            "reason": "backfilled-exemption",
            "stated_at": "2018-06-08T16:00:00+08:00",
            "withdrawn_by": "city-office",
            "withdrawn_at": "2018-06-20T10:00:00+08:00",
        }
        assert len(await committed(app, DeadlinePassed)) == 1, "the original announcement stays"
        assert await fgw_outcomes(client, common) == (0, 1)


async def test_D2_a_backfilled_sign_off_dated_after_the_deadline_leaves_the_version_overdue(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    async with one_withheld(postgres, common) as (client, app, doc):
        version = accepted(
            await backfilled(client, app, common, doc, "2018-06-20 10:00:00", "2018-06-12 09:00:00")
        )
        assert version["status"] == "overdue" and version["exemption"]["after_deadline"] is True
        assert version["overdue_at"] == "2018-06-20T10:00:00+08:00", "recorded when the decision found it"
        assert len(await committed(app, DeadlinePassed)) == 1
        assert await committed(app, DeadlinePassedWithdrawn) == []


async def test_D2_a_stated_instant_in_the_future_or_before_the_version_was_formed_is_refused(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    async with one_withheld(postgres, common) as (client, app, doc):
        for stated, kind in (
            ("2018-06-05 10:10:00", "decided-at-in-future"),
            ("2018-05-31 23:59:59", "decided-at-before-formation"),
        ):
            r = await backfilled(client, app, common, doc, "2018-06-05 10:00:00", stated)
            assert r.status_code == 422, (stated, r.text)
            problem = r.json()
            assert problem["type"] == f"/problems/{kind}"
            assert problem["rule"] == "D2" and problem["field"] == "decided_at"
        with clock_at(app.state.ctx, "2018-06-05 10:00:00"):
            stated_at = at("2018-06-04 10:00:00").isoformat()
            r = await decide(client, doc, office(common), granted=True, decided_at=stated_at)
        assert r.status_code == 422 and r.json()["type"] == "/problems/signed-by-required"
        assert await committed(app, ExemptionDecided) == []
        r = await backfilled(client, app, common, doc, "2018-06-05 10:00:00", "2018-06-01 00:00:00")
        assert r.status_code == 201, "the day it was formed is allowed"


async def test_D2_only_the_office_states_the_instant_of_a_sign_off(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    async with one_withheld(postgres, common) as (client, app, doc):
        body = {"granted": True, "decided_at": at("2018-06-04 10:00:00").isoformat(), "signed_by": IN_CHARGE}
        with clock_at(app.state.ctx, "2018-06-05 10:00:00"):
            r = await decide(client, doc, support.drafter(common), **body)
            assert r.status_code == 403, "a department token"
            r = await decide(client, doc, leader(common, IN_CHARGE), **body)
            assert r.status_code == 403 and r.json()["type"] == "/problems/backfill-office-only"
            assert r.json()["rule"] == "D2" and r.json()["field"] == "decided_at"
            r = await decide(client, doc, office(common), granted=True)
            assert r.status_code == 403 and r.json()["type"] == "/problems/signer-not-leader"
            r = await decide(client, doc, leader(common, IN_CHARGE), granted=True, signed_by=IN_CHARGE)
            assert r.status_code == 422 and r.json()["type"] == "/problems/decided-at-required"
            r = await decide(client, doc, office(common), **{**body, "signed_by": "vm-industry"})
            assert r.status_code == 403 and r.json()["type"] == "/problems/signer-not-in-charge"
        assert await committed(app, ExemptionDecided) == []


async def test_D1_versions_show_the_last_day_beside_the_deadline_and_instants_in_plus_eight(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    async with disclosure(postgres, common) as (client, app):
        doc = await support.register(client, common, formed_on=FORMED_ON)
        assert (doc["due_on"], doc["deadline"]) == ("2018-06-11", DEADLINE)
        assert doc["versions"][0]["due_on"] == "2018-06-11"
        r = await client.get("/v1/documents", params={"department": "fgw"}, headers=office(common))
        assert [(d["due_on"], d["deadline"]) for d in r.json()["items"]] == [("2018-06-11", DEADLINE)]

        # Sent in UTC, written back and announced in +08:00.
        body = {"url": support.PORTAL, "published_at": "2018-06-05T02:00:00Z"}
        r = await client.post(
            f"/v1/documents/{doc['id']}/versions/1/publication", json=body, headers=office(common)
        )
        assert r.status_code == 201, r.text
        assert r.json()["versions"][0]["publication"]["published_at"] == "2018-06-05T10:00:00+08:00"
        (published,) = await committed(app, DocumentPublished)
        assert published["published_at"] == "2018-06-05T10:00:00+08:00"
