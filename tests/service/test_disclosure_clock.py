"""The publication clock: changes (D1), publication on time or late, overdue once per version (D3)."""

from __future__ import annotations

import asyncio

from services.disclosure.sweeper import mark_overdue
from shared.events import DeadlinePassed, DocumentFormed, DocumentPublished
from shared.settings import CommonSettings
from tests.support.clock import at
from tests.support.disclosure import PORTAL, change, disclosure, drafter, office, publish, register
from tests.support.events import committed
from tests.support.infra import PostgresSource


async def test_D1_publication_before_midnight_of_the_last_day_is_on_time_and_at_midnight_is_late(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    async with disclosure(postgres, common) as (client, app):
        # Formed Friday 2018-06-01: the 10th day is Monday 06-11, so the deadline is 24:00 of 06-11.
        early = await register(client, common, formed_on="2018-06-01")
        late = await register(client, common, formed_on="2018-06-01")
        assert early["deadline"] == late["deadline"] == "2018-06-12T00:00:00+08:00"

        r = await publish(client, common, early["id"], 1, "2018-06-11 23:59:59")
        assert r.status_code == 201, r.text
        assert r.json()["status"] == "published"
        assert r.json()["versions"][0]["publication"]["on_time"] is True
        r = await publish(client, common, late["id"], 1, "2018-06-12 00:00:00")
        assert r.status_code == 201, r.text
        assert r.json()["versions"][0]["publication"]["on_time"] is False

        published = await committed(app, DocumentPublished)
        assert [(e["document_id"], e["on_time"]) for e in published] == [
            (early["id"], True),
            (late["id"], False),
        ]
        assert published[0]["url"] == PORTAL


async def test_D1_a_change_creates_a_version_whose_clock_restarts_and_keeps_the_old_one(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    async with disclosure(postgres, common) as (client, app):
        doc = await register(client, common, formed_on="2018-06-01", subject_words=["效能"])
        r = await change(client, common, doc["id"], "2018-06-20", title="关于加强行政效能建设的通知（修订）")
        assert r.status_code == 201, r.text
        changed = r.json()
        assert r.headers["location"] == f"/v1/documents/{doc['id']}"
        # Changed Wednesday 06-20: 10 days later is Saturday 06-30, so the period ends on Monday 07-02.
        assert changed["version"] == 2 and changed["deadline"] == "2018-07-03T00:00:00+08:00"
        assert changed["title"] == "关于加强行政效能建设的通知（修订）"
        assert changed["index_number"] == doc["index_number"]
        v1, v2 = changed["versions"]
        assert v1["status"] == "superseded" and v1["deadline"] == "2018-06-12T00:00:00+08:00"
        assert v1["title"] == "关于加强行政效能建设的通知"
        assert v2["status"] == "open" and v2["change_reason"] == "调整第三条"
        assert v2["subject_words"] == ["效能"], "fields not changed carry over"

        formed = await committed(app, DocumentFormed)
        assert [(e["version"], e["formed_on"], e["deadline"]) for e in formed] == [
            (1, "2018-06-01", "2018-06-12T00:00:00+08:00"),
            (2, "2018-06-20", "2018-07-03T00:00:00+08:00"),
        ]
        # The old version's clock stopped: nothing is overdue although its deadline passed.
        assert await mark_overdue(app.state.ctx, at("2018-06-25 12:00:00")) == 0
        r = await publish(client, common, doc["id"], 1, "2018-06-25 12:00:00")
        assert r.status_code == 409 and r.json()["type"] == "/problems/version-superseded"
        r = await publish(client, common, doc["id"], 2, "2018-06-25 12:00:00")
        assert r.status_code == 201 and r.json()["versions"][1]["publication"]["on_time"] is True


async def test_D3_an_open_version_past_its_deadline_is_overdue_exactly_once(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    async with disclosure(postgres, common) as (client, app):
        doc = await register(client, common, formed_on="2018-06-01", drafting_department="czj")
        ctx = app.state.ctx
        assert await mark_overdue(ctx, at("2018-06-11 23:59:59")) == 0
        assert await mark_overdue(ctx, at("2018-06-12 00:00:00")) == 1
        assert await mark_overdue(ctx, at("2018-06-13 00:00:00")) == 0
        assert await mark_overdue(ctx, at("2018-07-01 00:00:00")) == 0

        got = (await client.get(f"/v1/documents/{doc['id']}", headers=office(common))).json()
        assert got["status"] == "overdue"
        assert got["versions"][0]["overdue_at"] == "2018-06-12T00:00:00+08:00"
        (passed,) = await committed(app, DeadlinePassed)
        assert passed == {
            "subject_kind": "document-version",
            "subject_id": f"{doc['id']}@1",
            "department": "czj",
            "deadline": "2018-06-12T00:00:00+08:00",
            "consequence": "overdue",
            "deadline_provisional": False,
            "parent_id": None,
        }


async def test_D3_concurrent_sweepers_mark_each_version_once(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    async with disclosure(postgres, common) as (client, app):
        docs = await asyncio.gather(*(register(client, common, formed_on="2018-06-01") for _ in range(12)))
        ctx = app.state.ctx
        now = at("2018-07-01 00:00:00")
        counts = await asyncio.gather(*(mark_overdue(ctx, now, batch=5) for _ in range(4)))
        assert sum(counts) == 12
        subjects = sorted(e["subject_id"] for e in await committed(app, DeadlinePassed))
        assert subjects == sorted(f"{d['id']}@1" for d in docs)


async def test_D3_each_version_can_be_overdue_once_and_a_later_publication_is_late(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    async with disclosure(postgres, common) as (client, app):
        doc = await register(client, common, formed_on="2018-06-01")
        ctx = app.state.ctx
        assert await mark_overdue(ctx, at("2018-06-15 09:00:00")) == 1
        r = await change(client, common, doc["id"], "2018-06-20")
        assert r.status_code == 201, r.text
        v1 = r.json()["versions"][0]
        assert v1["status"] == "overdue" and v1["superseded_at"], "an overdue stays on record"
        assert await mark_overdue(ctx, at("2018-07-03 00:00:00")) == 1
        assert await mark_overdue(ctx, at("2018-07-04 00:00:00")) == 0
        assert [e["subject_id"] for e in await committed(app, DeadlinePassed)] == [
            f"{doc['id']}@1",
            f"{doc['id']}@2",
        ]

        r = await publish(client, common, doc["id"], 2, "2018-07-05 10:00:00")
        assert r.status_code == 201, r.text
        v2 = r.json()["versions"][1]
        assert v2["status"] == "published" and v2["publication"]["on_time"] is False
        assert v2["overdue_at"] == "2018-07-03T00:00:00+08:00"
        (published,) = await committed(app, DocumentPublished)
        assert published["on_time"] is False and published["version"] == 2
        assert await mark_overdue(ctx, at("2018-08-01 00:00:00")) == 0


async def test_D1_publication_errors_are_problem_details(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    async with disclosure(postgres, common) as (client, _):
        doc = await register(client, common, formed_on="2018-06-14")
        url = f"/v1/documents/{doc['id']}/versions/1/publication"
        r = await client.post(url, json={"url": PORTAL}, headers=drafter(common))
        assert r.status_code == 403, "only the office publishes"
        r = await publish(client, common, doc["id"], 1, "2018-06-13 18:00:00")
        assert r.status_code == 422
        assert r.json()["type"] == "/problems/publication-before-formation"
        assert r.json()["field"] == "published_at" and r.json()["rule"] == "D1"
        r = await client.post(
            url, json={"url": PORTAL, "published_at": "2999-01-01T00:00:00+08:00"}, headers=office(common)
        )
        assert r.status_code == 422 and r.json()["type"] == "/problems/publication-in-future"
        r = await client.post(url, json={"url": "ftp://x"}, headers=office(common))
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "url"
        r = await client.post(
            url, json={"url": PORTAL, "published_at": "2018-06-20T10:00:00"}, headers=office(common)
        )
        assert r.status_code == 422, "a publication time without its zone is ambiguous"
        assert (await publish(client, common, doc["id"], 1, "2018-06-14 09:00:00")).status_code == 201
        r = await publish(client, common, doc["id"], 1, "2018-06-15 09:00:00")
        assert r.status_code == 409
        assert r.json()["type"] == "/problems/already-published" and r.json()["field"] == "version"
        r = await publish(client, common, doc["id"], 3, "2018-06-15 09:00:00")
        assert r.status_code == 404 and r.json()["type"] == "/problems/version-not-found"
        r = await publish(client, common, "doc-missing", 1, "2018-06-15 09:00:00")
        assert r.status_code == 404 and r.json()["type"] == "/problems/document-not-found"


async def test_D1_change_errors_are_problem_details(postgres: PostgresSource, common: CommonSettings) -> None:
    async with disclosure(postgres, common) as (client, _):
        doc = await register(client, common, formed_on="2018-06-14")
        r = await change(client, common, doc["id"], "2018-06-13")
        assert r.status_code == 422
        assert r.json()["type"] == "/problems/change-before-formation" and r.json()["field"] == "changed_on"
        r = await client.post(
            f"/v1/documents/{doc['id']}/versions",
            json={"changed_on": "2018-06-20", "change_reason": "x"},
            headers=drafter(common, "jtj"),
        )
        assert r.status_code == 403, "only the drafting department or the office changes a document"
        r = await client.post(
            f"/v1/documents/{doc['id']}/versions",
            json={"changed_on": "2018-06-20", "change_reason": "x"},
            headers={**drafter(common), "If-Match": '"stale"'},
        )
        assert r.status_code == 412
        current = await client.get(f"/v1/documents/{doc['id']}", headers=drafter(common))
        r = await client.post(
            f"/v1/documents/{doc['id']}/versions",
            json={"changed_on": "2018-06-20", "change_reason": "x"},
            headers={**drafter(common), "If-Match": current.headers["etag"]},
        )
        assert r.status_code == 201 and r.json()["version"] == 2


async def test_D1_office_lists_documents_by_department_and_status(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    async with disclosure(postgres, common) as (client, app):
        docs = [await register(client, common, formed_on="2018-06-01") for _ in range(3)]
        other = await register(client, common, drafting_department="jtj", formed_on="2018-06-20")
        await mark_overdue(app.state.ctx, at("2018-06-15 00:00:00"))
        headers = office(common)
        r = await client.get("/v1/documents", params={"status": "overdue", "limit": 2}, headers=headers)
        first = r.json()
        assert [d["id"] for d in first["items"]] == [docs[2]["id"], docs[1]["id"]]
        assert 'rel="next"' in r.headers["link"]
        r = await client.get(
            "/v1/documents", params={"status": "overdue", "cursor": first["next_cursor"]}, headers=headers
        )
        assert [d["id"] for d in r.json()["items"]] == [docs[0]["id"]] and r.json()["next_cursor"] is None
        r = await client.get("/v1/documents", params={"department": "jtj"}, headers=headers)
        assert [d["id"] for d in r.json()["items"]] == [other["id"]]
        r = await client.get("/v1/documents", params={"department": "nope"}, headers=headers)
        assert r.status_code == 422 and r.json()["field"] == "department"
        assert (await client.get("/v1/documents")).status_code == 401
