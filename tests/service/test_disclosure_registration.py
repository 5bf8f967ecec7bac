"""Registering a document: catalogue metadata (D4), index numbers, the D1 clock per profile, who may
register, and problem+json for bad input."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest

from shared.events import DocumentFormed
from shared.migrations import upgrade
from shared.settings import CommonSettings
from tests.support.apps import bearer, running, service_app, test_settings
from tests.support.disclosure import ORGANISATION, disclosure, drafter, number, office, payload, register
from tests.support.events import committed
from tests.support.infra import PostgresSource


async def test_D1_registered_document_carries_its_publication_deadline(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    app = service_app("disclosure", await postgres.new_database(), common)
    async with running(app) as client:
        r = await client.post(
            "/v1/documents", json=payload(), headers=bearer(common, "department", department="fgw")
        )
        assert r.status_code == 201, r.text
        # Formed Thursday 2018-06-14: 10 days later is Sunday 06-24, a rest day, so 24:00 of Monday 06-25.
        assert r.json()["deadline"] == "2018-06-26T00:00:00+08:00"
        assert r.headers["location"] == f"/v1/documents/{r.json()['id']}"
        got = await client.get(r.headers["location"], headers=bearer(common, "office"))
        assert got.json()["document_number"] == r.json()["document_number"]


async def test_D4_registration_keeps_the_catalogue_metadata_and_announces_the_formation(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    async with disclosure(postgres, common) as (client, app):
        body = payload(
            document_number=number("湖政发"),
            title="湖州市人民政府关于优化营商环境的若干意见",
            drafting_department="swj",
            formed_on="2018-06-01",
            subject_words=["营商环境", "商务"],
            scope="面向社会",
            validity="valid",
            body="为进一步优化营商环境，现提出如下意见。",
            attachments=[{"name": "实施细则.pdf", "media_type": "application/pdf", "size_bytes": 1024}],
        )
        r = await client.post("/v1/documents", json=body, headers=drafter(common, "swj"))
        assert r.status_code == 201, r.text
        doc = r.json()
        assert re.fullmatch(rf"{ORGANISATION}/2018-\d{{5}}", doc["index_number"])
        assert doc["issuing_organ"] == "government", "湖政发 is the government's own number"
        assert doc["status"] == "open" and doc["version"] == 1
        (v1,) = doc["versions"]
        assert v1["subject_words"] == ["营商环境", "商务"]
        assert v1["disclosure_mode"] == "proactive"
        assert v1["body"] == body["body"]
        assert v1["attachments"][0]["name"] == "实施细则.pdf"
        assert v1["deadline"] == "2018-06-12T00:00:00+08:00"

        got = await client.get(f"/v1/documents/{doc['id']}", headers=drafter(common, "jtj"))
        assert got.status_code == 200 and got.json() == doc
        assert got.headers["etag"]

        (formed,) = await committed(app, DocumentFormed)
        assert formed["document_id"] == doc["id"] and formed["version"] == 1
        assert formed["department"] == "swj" and formed["deadline"] == "2018-06-12T00:00:00+08:00"


async def test_D4_office_numbers_default_to_the_office_as_issuing_organ(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    async with disclosure(postgres, common) as (client, _):
        assert (await register(client, common))["issuing_organ"] == "government-office"
        stated = await register(client, common, issuing_organ="government")
        assert stated["issuing_organ"] == "government"


async def test_D4_index_numbers_stay_unique_and_gap_free_under_20_concurrent_registrations(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    async with disclosure(postgres, common) as (client, _):
        headers = office(common)
        responses = await asyncio.gather(
            *(
                client.post("/v1/documents", json=payload(drafting_department=dept), headers=headers)
                for dept in ["fgw", "jxw", "czj", "swj"] * 5
            )
        )
        assert [r.status_code for r in responses] == [201] * 20, [r.text for r in responses]
        numbers = sorted(r.json()["index_number"] for r in responses)
        assert numbers == [f"{ORGANISATION}/2018-{n:05d}" for n in range(1, 21)]


async def test_D4_index_numbers_are_never_reused_and_restart_each_year(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    async with disclosure(postgres, common) as (client, _):
        first = await register(client, common)
        # A refused registration (duplicate 文号) must not consume a serial.
        r = await client.post(
            "/v1/documents",
            json=payload(document_number=first["document_number"]),
            headers=drafter(common),
        )
        assert r.status_code == 409
        second = await register(client, common)
        other_year = await register(client, common, document_number=number(year=2019), formed_on="2019-03-01")
        assert first["index_number"] == f"{ORGANISATION}/2018-00001"
        assert second["index_number"] == f"{ORGANISATION}/2018-00002"
        assert other_year["index_number"] == f"{ORGANISATION}/2019-00001"


async def test_D4_organisation_code_and_pattern_are_deployment_settings(postgres: PostgresSource) -> None:
    from services.disclosure.app import create_app
    from services.disclosure.settings import DisclosureSettings

    common = test_settings()
    settings = DisclosureSettings(
        database_url=await postgres.new_database(),
        organisation_code="431100000",
        index_number_pattern="{organisation}-{year}-{serial:06d}",
        sweepers_enabled=False,
    )
    async with running(create_app(common, settings)) as client:
        doc = await register(client, common)
    assert doc["index_number"] == "431100000-2018-000001"


@pytest.mark.parametrize(
    ("profile", "deadline"),
    [
        # Friday 2018-09-28. Working days after it: 09-29 and 09-30 (weekend working days, 调休) are
        # 1 and 2; 10-01..07 is the National Day holiday; 10-08..12 are 3..7, 10-15..19 8..12,
        # 10-22..26 13..17, 10-29..31 18..20. So 24:00 of Wednesday 10-31.
        pytest.param("national-2019", "2018-11-01T00:00:00+08:00", id="national-2019-20-working-days"),
        # 10 calendar days after 09-28 is Monday 10-08, a working day: 24:00 of 10-08.
        pytest.param("huzhou-2018", "2018-10-09T00:00:00+08:00", id="huzhou-2018-10-calendar-days"),
    ],
)
async def test_D1_each_profile_counts_its_days_over_the_national_day_holiday(
    postgres: PostgresSource, profile: str, deadline: str
) -> None:
    common = test_settings(policy_profile=profile)
    async with disclosure(postgres, common) as (client, _):
        doc = await register(client, common, formed_on="2018-09-28")
    assert doc["deadline"] == deadline


async def test_registration_errors_are_problem_details(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    app = service_app("disclosure", await postgres.new_database(), common)
    fgw = bearer(common, "department", department="fgw")
    async with running(app) as client:
        r = await client.post("/v1/documents", json=payload())
        assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Bearer")
        r = await client.post("/v1/documents", json=payload(), headers=bearer(common, "evaluator"))
        assert r.status_code == 403
        r = await client.post("/v1/documents", json=payload(drafting_department="jtj"), headers=fgw)
        assert r.status_code == 403 and "起草部门" in r.json()["detail"]
        r = await client.post("/v1/documents", json=payload(document_number="湖政办发[2018]1号"), headers=fgw)
        assert r.status_code == 422
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["field"] == "document_number" and r.json()["rule"] == "D4"
        r = await client.post(
            "/v1/documents", json=payload(drafting_department="nope"), headers=bearer(common, "office")
        )
        assert r.status_code == 422 and r.json()["type"] == "/problems/unknown-department"
        assert r.json()["field"] == "drafting_department"
        body = payload()
        assert (await client.post("/v1/documents", json=body, headers=fgw)).status_code == 201
        r = await client.post("/v1/documents", json=body, headers=fgw)
        assert r.status_code == 409 and r.json()["type"] == "/problems/duplicate-document-number"
        r = await client.get("/v1/documents/doc-missing", headers=fgw)
        assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"


async def test_D1_a_document_cannot_be_formed_in_the_future_or_outside_the_holiday_table(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    async with disclosure(postgres, common) as (client, _):
        r = await client.post("/v1/documents", json=payload(formed_on="2999-01-04"), headers=drafter(common))
        assert r.status_code == 422
        assert r.json()["type"] == "/problems/date-in-future" and r.json()["field"] == "formed_on"
        r = await client.post("/v1/documents", json=payload(formed_on="1990-01-04"), headers=drafter(common))
        assert r.status_code == 422
        assert r.json()["type"] == "/problems/calendar-out-of-range" and "1990" in r.json()["detail"]
        assert r.json()["field"] == "formed_on" and r.json()["rule"] == "D1"


async def test_D4_documents_registered_before_index_numbers_get_them_in_order(
    postgres: PostgresSource,
) -> None:
    """Migration 0002 numbers the documents of an existing database and continues from them."""
    import asyncpg
    from sqlalchemy.engine import make_url

    url = await postgres.new_database()
    await _upgrade_to(url, "0001")
    u = make_url(url)
    conn = await asyncpg.connect(
        host=u.host, port=u.port, user=u.username, password=u.password, database=u.database
    )
    try:
        for i, (doc_number, formed) in enumerate(
            [
                ("湖政办发〔2018〕7号", "2018-03-01"),
                ("湖政发〔2018〕2号", "2018-01-05"),
                ("湖政发〔2019〕1号", "2019-02-01"),
            ]
        ):
            await conn.execute(
                "INSERT INTO documents (id, document_number, title, drafting_department, current_version,"
                " registered_by, created_at)"
                " VALUES ($1, $2, '旧文件', 'fgw', 1, 'old', now() + $3 * interval '1s')",
                f"doc-old{i}",
                doc_number,
                i,
            )
            await conn.execute(
                "INSERT INTO document_versions (document_id, version, formed_on, deadline) "
                "VALUES ($1, 1, $2::text::date, now())",
                f"doc-old{i}",
                formed,
            )
    finally:
        await conn.close()
    await upgrade("disclosure", url)

    common = test_settings()
    app = service_app("disclosure", url, common, sweepers_enabled=False)
    async with running(app) as client:
        old = [
            (await client.get(f"/v1/documents/doc-old{i}", headers=office(common))).json() for i in range(3)
        ]
        new = await register(client, common)
    assert [d["index_number"] for d in old] == [
        f"{ORGANISATION}/2018-00001",
        f"{ORGANISATION}/2018-00002",
        f"{ORGANISATION}/2019-00001",
    ]
    assert [d["issuing_organ"] for d in old] == ["government-office", "government", "government"]
    assert old[0]["versions"][0]["title"] == "旧文件"
    assert new["index_number"] == f"{ORGANISATION}/2018-00003"


async def _upgrade_to(url: str, revision: str) -> None:
    from alembic import command
    from sqlalchemy import pool
    from sqlalchemy.ext.asyncio import create_async_engine

    from shared.migrations import alembic_config

    cfg = alembic_config("disclosure", url)
    engine = create_async_engine(url, poolclass=pool.NullPool)
    try:
        async with engine.begin() as conn:

            def run(sync_conn: Any) -> None:
                cfg.attributes["connection"] = sync_conn
                command.upgrade(cfg, revision)

            await conn.run_sync(run)
    finally:
        await engine.dispose()
