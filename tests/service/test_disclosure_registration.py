"""Registering a document: the D1 clock, who may register, and problem+json for bad input."""

from __future__ import annotations

import uuid

from shared.settings import CommonSettings
from tests.support.apps import bearer, running, service_app
from tests.support.infra import PostgresSource


def number() -> str:
    return f"湖政办发〔2018〕{uuid.uuid4().int % 90000 + 1}号"


def payload(**kw: str) -> dict[str, str]:
    body = {
        "document_number": number(),
        "title": "关于加强行政效能建设的通知",
        "drafting_department": "fgw",
        "formed_on": "2018-06-14",
    }
    body.update(kw)
    return body


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
        body = payload()
        assert (await client.post("/v1/documents", json=body, headers=fgw)).status_code == 201
        r = await client.post("/v1/documents", json=body, headers=fgw)
        assert r.status_code == 409 and r.json()["type"] == "/problems/duplicate-document-number"
        r = await client.get("/v1/documents/doc-missing", headers=fgw)
        assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"
