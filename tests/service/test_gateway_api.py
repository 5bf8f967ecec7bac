"""The gateway in front of the real domain services: auth, rate limits, idempotency, bad bodies,
upstream failures and composite reads."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from services.gateway import idempotency
from services.gateway.settings import DOMAIN_SERVICES
from tests.support import gateway as support
from tests.support.apps import bearer, running
from tests.support.gateway import Domain, black_hole, closed_port_url, document, gateway_app
from tests.support.infra import PostgresSource
from tests.support.waiting import until

domain = support.domain
PROBLEM = "application/problem+json"


@pytest.fixture
async def gw(domain: Domain, postgres: PostgresSource) -> AsyncIterator[httpx.AsyncClient]:
    async with running(gateway_app(domain, await postgres.new_database())) as client:
        yield client


def office(domain: Domain, client_id: str = "gw-office") -> dict[str, str]:
    return bearer(domain.common, "office", department="office", client_id=client_id)


async def test_secured_operation_without_token_is_401_with_www_authenticate(
    domain: Domain, gw: httpx.AsyncClient
) -> None:
    r = await gw.post("/api/v1/disclosure/documents", json=document())
    assert r.status_code == 401
    assert r.headers["content-type"] == PROBLEM
    assert r.headers["www-authenticate"] == 'Bearer realm="xiaoneng"'
    assert r.json()["type"] == "/problems/unauthorized"

    r = await gw.get("/api/v1/departments/fgw/profile")
    assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Bearer")


async def test_a_token_that_does_not_verify_is_401_even_on_a_public_read(gw: httpx.AsyncClient) -> None:
    assert (await gw.get("/api/v1/indicators/indicators")).status_code == 200
    r = await gw.get("/api/v1/indicators/indicators", headers={"Authorization": "Bearer not-a-token"})
    assert r.status_code == 401
    assert r.headers["content-type"] == PROBLEM
    assert 'error="invalid_token"' in r.headers["www-authenticate"]


async def test_a_role_the_operation_does_not_admit_is_403_with_www_authenticate(
    domain: Domain, gw: httpx.AsyncClient
) -> None:
    jtj = bearer(domain.common, "department", department="jtj", client_id="gw-jtj")
    # The gateway's own operation: roles read from its OpenAPI security requirement.
    r = await gw.get("/api/v1/city/summary", headers=jtj)
    assert r.status_code == 403
    assert r.headers["content-type"] == PROBLEM
    challenge = r.headers["www-authenticate"]
    assert (
        'error="insufficient_scope"' in challenge
        and 'scope="evaluator leader office supervisor"' in challenge
    )
    # A service's refusal passes through with the same challenge.
    evaluator = bearer(domain.common, "evaluator", client_id="gw-evaluator")
    r = await gw.post("/api/v1/disclosure/documents", json=document(), headers=evaluator)
    assert r.status_code == 403
    assert r.headers["content-type"] == PROBLEM
    assert 'error="insufficient_scope"' in r.headers["www-authenticate"]
    admin = bearer(domain.common, "admin", client_id="gw-admin")
    assert (await gw.get("/api/v1/city/summary", headers=admin)).status_code == 200


async def test_rate_limit_headers_on_every_response_and_429_when_spent(
    domain: Domain, postgres: PostgresSource
) -> None:
    app = gateway_app(
        domain,
        await postgres.new_database(),
        rate_limit_requests=3,
        rate_limit_window_seconds=3600,
        rate_limit_overrides={"gw-partner": 1000},
    )
    mine = office(domain, "gw-limited")
    async with running(app) as gw:
        for remaining in (2, 1, 0):
            r = await gw.get("/api/v1/indicators/indicators", headers=mine)
            assert r.status_code == 200
            assert r.headers["ratelimit-policy"] == '"per-client";q=3;w=3600'
            assert r.headers["ratelimit"].startswith(f'"per-client";r={remaining};t=')
        r = await gw.get("/api/v1/indicators/indicators", headers=mine)
        assert r.status_code == 429
        assert r.headers["content-type"] == PROBLEM
        assert r.json()["type"] == "/problems/rate-limited"
        assert int(r.headers["retry-after"]) >= 1
        assert r.headers["ratelimit"].startswith('"per-client";r=0;t=')

        # Another client has its own bucket; a client with its own quota sees it in the policy.
        other = await gw.get("/api/v1/indicators/indicators", headers=office(domain, "gw-other"))
        assert other.status_code == 200
        partner = await gw.get("/api/v1/no-such-service/x", headers=office(domain, "gw-partner"))
        assert partner.status_code == 404
        assert partner.headers["ratelimit-policy"] == '"per-client";q=1000;w=3600'
        # Refusals and pages carry the headers too.
        for response in (
            await gw.post("/api/v1/disclosure/documents", json=document()),
            await gw.get("/docs"),
        ):
            assert "ratelimit" in response.headers and "ratelimit-policy" in response.headers


async def test_idempotency_same_key_and_body_replays_the_stored_response(
    domain: Domain, gw: httpx.AsyncClient
) -> None:
    headers = {**office(domain), "Idempotency-Key": str(uuid.uuid4())}
    body = document()
    first = await gw.post("/api/v1/disclosure/documents", json=body, headers=headers)
    assert first.status_code == 201, first.text
    # Same content with other key order and spacing is the same request.
    again = await gw.post(
        "/api/v1/disclosure/documents",
        content=json.dumps(dict(reversed(list(body.items()))), indent=2, ensure_ascii=False).encode(),
        headers={**headers, "content-type": "application/json"},
    )
    assert again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    assert again.headers["location"] == first.headers["location"]
    # The replay did not register a second document: without the key, the number is taken.
    r = await gw.post("/api/v1/disclosure/documents", json=body, headers=office(domain))
    assert r.status_code == 409


async def test_idempotency_same_key_with_another_body_is_422(domain: Domain, gw: httpx.AsyncClient) -> None:
    headers = {**office(domain), "Idempotency-Key": f'"{uuid.uuid4()}"'}
    assert (
        await gw.post("/api/v1/disclosure/documents", json=document(), headers=headers)
    ).status_code == 201
    r = await gw.post("/api/v1/disclosure/documents", json=document(), headers=headers)
    assert r.status_code == 422
    assert r.headers["content-type"] == PROBLEM
    assert r.json()["type"] == "/problems/idempotency-key-reused"
    r = await gw.post(
        "/api/v1/disclosure/documents",
        json=document(),
        headers={**office(domain), "Idempotency-Key": "k" * 300},
    )
    assert r.status_code == 400 and r.json()["type"] == "/problems/invalid-idempotency-key"


async def test_idempotency_same_key_while_the_first_is_running_is_409(
    domain: Domain, postgres: PostgresSource
) -> None:
    database_url = await postgres.new_database()
    async with black_hole() as hole:
        app = gateway_app(domain, database_url, coordination_url=hole, coordination_timeout_seconds=2.0)
        headers = {**office(domain), "Idempotency-Key": str(uuid.uuid4())}
        body = {"basis": "市政府常务会议纪要", "main_matter": "推进项目建设"}
        engine = create_async_engine(database_url)

        async def claimed() -> bool:
            async with engine.connect() as conn:
                state = (await conn.execute(text("SELECT state FROM idempotency_keys"))).scalar()
            return state == "running"

        try:
            async with running(app) as gw:
                first = asyncio.create_task(
                    gw.post("/api/v1/coordination/joint-matters", json=body, headers=headers)
                )
                await until(claimed, what="the first request's claim")
                second = await gw.post("/api/v1/coordination/joint-matters", json=body, headers=headers)
                assert second.status_code == 409
                assert second.headers["content-type"] == PROBLEM
                assert second.json()["type"] == "/problems/idempotency-key-in-use"
                assert second.headers["retry-after"] == "1"
                assert (await first).status_code == 504
                # A 504 is no result: the key is free again and the retry runs (and times out) anew.
                third = await gw.post("/api/v1/coordination/joint-matters", json=body, headers=headers)
                assert third.status_code == 504 and "idempotent-replayed" not in third.headers
        finally:
            await engine.dispose()


async def test_idempotency_keys_are_kept_24_hours(domain: Domain, postgres: PostgresSource) -> None:
    now = [datetime(2018, 6, 14, 9, 0, tzinfo=UTC)]
    app = gateway_app(domain, await postgres.new_database(), clock=lambda: now[0])
    headers = {**office(domain), "Idempotency-Key": str(uuid.uuid4())}
    async with running(app) as gw:
        assert (
            await gw.post("/api/v1/disclosure/documents", json=document(), headers=headers)
        ).status_code == 201
        now[0] += timedelta(hours=23, minutes=59)
        r = await gw.post("/api/v1/disclosure/documents", json=document(), headers=headers)
        assert r.status_code == 422
        now[0] += timedelta(minutes=2)
        r = await gw.post("/api/v1/disclosure/documents", json=document(), headers=headers)
        assert r.status_code == 201 and "idempotent-replayed" not in r.headers
        # The sweeper forgets keys once they expire.
        runtime = app.state.gateway
        assert await idempotency.purge_expired(runtime.db, now[0]) == 0
        assert await idempotency.purge_expired(runtime.db, now[0] + timedelta(hours=24)) == 1


async def test_malformed_json_wrong_content_type_and_oversized_bodies_are_problems(
    domain: Domain, postgres: PostgresSource
) -> None:
    app = gateway_app(domain, await postgres.new_database(), max_body_bytes=2048)
    headers = office(domain)
    async with running(app) as gw:
        for path in ("/api/v1/disclosure/documents", "/api/v1/webhooks/endpoints"):
            r = await gw.post(
                path,
                content=b'{"title": "unterminated',
                headers={**headers, "content-type": "application/json"},
            )
            assert r.status_code == 400, path
            assert r.headers["content-type"] == PROBLEM
            assert r.json()["type"] == "/problems/malformed-json"

            r = await gw.post(path, content=b"title=x", headers={**headers, "content-type": "text/plain"})
            assert r.status_code == 415, path
            assert r.headers["content-type"] == PROBLEM
            assert "application/json" in r.headers["accept-post"]

            big = b'{"title": "' + b"x" * 4096 + b'"}'
            r = await gw.post(path, content=big, headers={**headers, "content-type": "application/json"})
            assert r.status_code == 413, path
            assert r.headers["content-type"] == PROBLEM

            r = await gw.post(path, json={"unexpected": True}, headers=headers)
            assert r.status_code == 422 and r.headers["content-type"] == PROBLEM


async def test_upstream_timeout_is_504_and_unreachable_is_502_per_upstream(
    domain: Domain, postgres: PostgresSource
) -> None:
    async with black_hole() as hole:
        app = gateway_app(
            domain,
            await postgres.new_database(),
            indicators_url=hole,
            indicators_timeout_seconds=0.5,
            evaluation_url=closed_port_url(),
        )
        async with running(app) as gw:
            r = await gw.get("/api/v1/indicators/indicators")
            assert r.status_code == 504
            assert r.headers["content-type"] == PROBLEM
            assert r.json()["type"] == "/problems/gateway-timeout" and r.json()["service"] == "indicators"
            r = await gw.get("/api/v1/evaluation/candidates", headers=office(domain))
            assert r.status_code == 502 and r.json()["type"] == "/problems/bad-gateway"
            # The other upstreams keep their own clients and answer as usual.
            assert (await gw.get("/api/v1/coordination/deadline-tiers")).status_code == 200
            doc = (await gw.get("/openapi.json")).json()
            assert set(doc["x-missing-services"]) == {"indicators", "evaluation"}


async def test_request_id_is_forwarded_to_the_service(domain: Domain, gw: httpx.AsyncClient) -> None:
    rid = f"req-{uuid.uuid4().hex[:12]}"
    r = await gw.get(
        "/api/v1/disclosure/documents/doc-missing", headers={**office(domain), "x-request-id": rid}
    )
    assert r.status_code == 404
    assert r.json()["request_id"] == rid and r.headers["x-request-id"] == rid


async def test_department_profile_fans_out_and_names_the_missing_parts(
    domain: Domain, gw: httpx.AsyncClient
) -> None:
    r = await gw.get("/api/v1/departments/fgw/profile", headers=office(domain))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["department"]["short_name"] == "市发改委"
    assert body["parts"]["evaluation"]["facts"]["department"] == "fgw"
    assert {"path": "/v1/departments/{code}/facts", "service": "evaluation", "part": "facts"} in body[
        "sources"
    ]
    # Every service is either a part or named as missing, with the reason.
    missing = {m["service"] for m in body["missing"]}
    assert set(DOMAIN_SERVICES) == missing | set(body["parts"])
    assert body["partial"] == bool(body["missing"])
    assert all(m["reason"] == "not-offered" for m in body["missing"])

    # A part the caller may not see is missing as forbidden, not an error of the whole.
    jtj = bearer(domain.common, "department", department="jtj", client_id="gw-jtj")
    body = (await gw.get("/api/v1/departments/jtj/profile", headers=jtj)).json()
    assert body["partial"] is True
    assert {"service": "evaluation", "part": "facts", "reason": "forbidden", "status": 403} in [
        {k: m[k] for k in ("service", "part", "reason", "status")} for m in body["missing"]
    ]
    r = await gw.get("/api/v1/departments/nope/profile", headers=office(domain))
    assert r.status_code == 404 and r.json()["type"] == "/problems/unknown-department"


async def test_department_profile_is_partial_when_a_service_is_down(
    domain: Domain, postgres: PostgresSource
) -> None:
    app = gateway_app(domain, await postgres.new_database(), evaluation_url=closed_port_url())
    async with running(app) as gw:
        body = (await gw.get("/api/v1/departments/fgw/profile", headers=office(domain))).json()
    assert body["partial"] is True
    assert {
        "service": "evaluation",
        "part": None,
        "reason": "unavailable",
        "status": None,
        "departments": None,
    } in (body["missing"])


async def test_city_summary_adds_up_every_department(domain: Domain, gw: httpx.AsyncClient) -> None:
    headers = office(domain)

    async def formed(code: str) -> int:
        summary = (await gw.get("/api/v1/city/summary", headers=headers)).json()
        row = next(d for d in summary["departments"] if d["code"] == code)
        return int(row["counts"].get("evaluation.facts", {}).get("document-formed", 0))

    summary = (await gw.get("/api/v1/city/summary", headers=headers)).json()
    assert len(summary["departments"]) == 38
    before_total = summary["totals"].get("evaluation.facts", {}).get("document-formed", 0)
    before = await formed("lyj")
    r = await gw.post("/api/v1/disclosure/documents", json=document("lyj"), headers=headers)
    assert r.status_code == 201, r.text

    async def grown() -> bool:
        return await formed("lyj") > before

    await until(grown, what="the new fact in the summary")
    summary = (await gw.get("/api/v1/city/summary", headers=headers)).json()
    assert summary["totals"]["evaluation.facts"]["document-formed"] >= before_total + 1


async def test_E5_a_secret_ballot_leaves_no_idempotency_record_linking_voter_and_ballot(
    domain: Domain, postgres: PostgresSource
) -> None:
    database_url = await postgres.new_database()
    engine = create_async_engine(database_url)
    voter = bearer(domain.common, "evaluator", client_id="gw-voter")
    try:
        async with running(gateway_app(domain, database_url)) as gw:
            ballot = {"choices": [{"department": "fgw"}, {"department": "jxw"}, {"department": "jtj"}]}
            headers = {**voter, "Idempotency-Key": str(uuid.uuid4())}
            r = await gw.post("/api/v1/evaluation/rounds/2099-Q1/ballots", json=ballot, headers=headers)
            assert r.status_code == 404, (
                r.text
            )  # no such round: the service answered, the gateway kept nothing
            # The same key on an ordinary creating POST is kept, so the table is the right one to look at.
            kept = await gw.post(
                "/api/v1/disclosure/documents",
                json=document(),
                headers={**office(domain), "Idempotency-Key": str(uuid.uuid4())},
            )
            assert kept.status_code == 201
        async with engine.connect() as conn:
            paths = (await conn.execute(text("SELECT * FROM idempotency_keys"))).mappings().all()
        assert len(paths) == 1
        assert all("ballots" not in str(row) and "gw-voter" not in str(row) for row in paths)
    finally:
        await engine.dispose()
