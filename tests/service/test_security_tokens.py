"""Issue 15, tokens and callers at the gateway: token lifetime and revocation (4), the client
secret check off the event loop and limited (5), RFC 6749 token errors (6), forwarded headers
only from trusted proxies (12) and roles in the OpenAPI, enforced by the gateway (14)."""

from __future__ import annotations

import asyncio
import base64
import socket
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from fastapi import FastAPI
from sqlalchemy import delete
from starlette.types import Receive, Scope, Send

from launcher.processes import ServiceProcess
from services.gateway import clients
from services.gateway.domain import access_of, client_address, trusted_networks
from services.gateway.tables import api_clients
from tests.support import gateway as support
from tests.support.apps import bearer, running, service_app
from tests.support.gateway import Domain, gateway_app, serve
from tests.support.infra import PostgresSource

domain = support.domain
PROBLEM = "application/problem+json"
TOKEN = "/api/v1/oauth/token"
# A read that needs the office role (or supervisor, leader, evaluator) at the evaluation service.
FACTS = "/api/v1/evaluation/departments/fgw/facts"


async def register(app: FastAPI, client_id: str, roles: list[str], department: str | None = None) -> str:
    db = app.state.ctx.db
    return await clients.register_client(
        db,
        client_id=client_id,
        name=client_id,
        roles=roles,
        department=department,
        secret=f"{client_id}-s3cret",
    )


async def token_request(gw: httpx.AsyncClient, client_id: str, secret: str) -> httpx.Response:
    return await gw.post(
        TOKEN, data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    )


def raw_token(domain: Domain, **claims: Any) -> str:
    now = int(time.time())
    values: dict[str, Any] = {
        "iss": domain.common.jwt_issuer,
        "aud": domain.common.jwt_audience,
        "sub": "forger",
        "client_id": "forger",
        "roles": ["office"],
        "iat": now,
        "exp": now + 600,
    }
    values.update(claims)
    return jwt.encode(values, domain.common.jwt_secret, algorithm="HS256")


def assert_oauth_error(r: httpx.Response, status: int, error: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == PROBLEM
    body: dict[str, Any] = r.json()
    assert body["error"] == error
    # RFC 6749 §5.2: error_description is printable ASCII without '"' and '\'.
    assert body["error_description"] and all(
        0x20 <= ord(c) <= 0x7E and c not in '"\\' for c in body["error_description"]
    )
    assert {"type", "title", "status", "detail"} <= set(body) and body["status"] == status
    assert r.headers["cache-control"] == "no-store"
    return body


# --- 4: maximum lifetime, tokens of deleted clients ------------------------------------------


async def test_point_04_token_living_longer_than_the_maximum_is_refused_everywhere(
    domain: Domain, postgres: PostgresSource
) -> None:
    far = 4_102_444_800  # 2100-01-01
    now = int(time.time())
    too_long = {
        "until 2100": raw_token(domain, exp=far),
        "issued long ago, valid a while yet": raw_token(domain, iat=now - 2 * 86_400, exp=now + 600),
    }
    fine = {"Authorization": f"Bearer {raw_token(domain)}"}
    async with running(gateway_app(domain, await postgres.new_database())) as gw:
        assert (await gw.get(FACTS, headers=fine)).status_code == 200
        for what, token in too_long.items():
            r = await gw.get(FACTS, headers={"Authorization": f"Bearer {token}"})
            assert r.status_code == 401, (what, r.text)
            assert r.headers["content-type"] == PROBLEM
            assert 'error="invalid_token"' in r.headers["www-authenticate"]
            assert "上限" in r.json()["detail"]
    # The services verify with the same code: asked directly, they refuse it as well.
    async with httpx.AsyncClient(base_url=domain.urls["evaluation"]) as service:
        assert (await service.get("/v1/departments/fgw/facts", headers=fine)).status_code == 200
        for what, token in too_long.items():
            r = await service.get("/v1/departments/fgw/facts", headers={"Authorization": f"Bearer {token}"})
            assert r.status_code == 401, (what, r.text)
            assert r.headers["content-type"] == PROBLEM


async def test_point_04_issued_tokens_never_outlive_the_maximum(
    domain: Domain, postgres: PostgresSource
) -> None:
    common = domain.common.model_copy(update={"jwt_max_lifetime_seconds": 600})
    app = gateway_app(domain, await postgres.new_database(), common=common, token_ttl_seconds=3600)
    async with running(app) as gw:
        await register(app, "short-lived", ["office"], "office")
        r = await token_request(gw, "short-lived", "short-lived-s3cret")
        assert r.status_code == 200, r.text
        assert r.json()["expires_in"] == 600
        claims = jwt.decode(r.json()["access_token"], options={"verify_signature": False})
        assert claims["exp"] - claims["iat"] == 600
        r = await gw.get(FACTS, headers={"Authorization": f"Bearer {r.json()['access_token']}"})
        assert r.status_code == 200, r.text


async def test_point_04_token_of_deleted_client_is_refused(domain: Domain, postgres: PostgresSource) -> None:
    app = gateway_app(domain, await postgres.new_database(), client_cache_seconds=0)
    async with running(app) as gw:
        await register(app, "leaving", ["office"], "office")
        await register(app, "staying", ["office"], "office")
        tokens = {}
        for client_id in ("leaving", "staying"):
            r = await token_request(gw, client_id, f"{client_id}-s3cret")
            assert r.status_code == 200, r.text
            tokens[client_id] = {"Authorization": f"Bearer {r.json()['access_token']}"}
            assert (await gw.get(FACTS, headers=tokens[client_id])).status_code == 200

        async with app.state.ctx.db.transaction() as session:
            await session.execute(delete(api_clients).where(api_clients.c.client_id == "leaving"))

        r = await gw.get(FACTS, headers=tokens["leaving"])
        assert r.status_code == 401, r.text
        assert r.headers["content-type"] == PROBLEM
        assert 'error="invalid_token"' in r.headers["www-authenticate"]
        assert "已删除或停用" in r.json()["detail"]
        # Even on a public read: a presented token that is no longer good is refused.
        r = await gw.get("/api/v1/indicators/indicators", headers=tokens["leaving"])
        assert r.status_code == 401
        assert_oauth_error(await token_request(gw, "leaving", "leaving-s3cret"), 401, "invalid_client")
        assert (await gw.get(FACTS, headers=tokens["staying"])).status_code == 200


async def test_point_04_client_lookup_is_cached_and_a_fresh_look_refuses_a_deleted_client(
    domain: Domain, postgres: PostgresSource
) -> None:
    app = gateway_app(domain, await postgres.new_database(), client_cache_seconds=3600)
    async with running(app) as gw:
        headers = {}
        for client_id in ("seen", "unseen"):
            await register(app, client_id, ["office"], "office")
            r = await token_request(gw, client_id, f"{client_id}-s3cret")
            headers[client_id] = {"Authorization": f"Bearer {r.json()['access_token']}"}
        assert (await gw.get(FACTS, headers=headers["seen"])).status_code == 200
        async with app.state.ctx.db.transaction() as session:
            await session.execute(delete(api_clients).where(api_clients.c.client_id.in_(["seen", "unseen"])))
        # Within the cache time the gateway does not ask its database again about a client it
        # has just seen; a client it has not looked at yet is looked up, and is gone.
        assert (await gw.get(FACTS, headers=headers["seen"])).status_code == 200
        r = await gw.get(FACTS, headers=headers["unseen"])
        assert r.status_code == 401, r.text
        assert "已删除或停用" in r.json()["detail"]


# --- 5: the secret check off the event loop, alike for unknown ids, limited --------------------


def spy_on_kdf(monkeypatch: pytest.MonkeyPatch, before: Callable[[], None] | None = None) -> list[int]:
    """Record the thread of every scrypt run of the token endpoint (the real KDF still runs)."""
    real = clients._kdf
    threads: list[int] = []

    def recording(secret: bytes, salt: bytes) -> bytes:
        threads.append(threading.get_ident())
        if before is not None:
            before()
        return real(secret, salt)

    monkeypatch.setattr(clients, "_kdf", recording)
    return threads


async def test_point_05_secret_check_runs_off_the_event_loop_and_alike_for_unknown_ids(
    domain: Domain, postgres: PostgresSource, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = gateway_app(domain, await postgres.new_database())
    loop_thread = threading.get_ident()
    async with running(app) as gw:
        await register(app, "known", ["office"], "office")
        threads = spy_on_kdf(monkeypatch)
        for client_id, secret, status in (
            ("known", "known-s3cret", 200),
            ("known", "wrong", 401),
            (f"unknown-{uuid.uuid4().hex[:8]}", "wrong", 401),
        ):
            threads.clear()
            r = await token_request(gw, client_id, secret)
            assert r.status_code == status, r.text
            # One scrypt run each, known id or not, and never on the event loop's thread.
            assert len(threads) == 1, (client_id, secret, threads)
            assert threads[0] != loop_thread


async def test_point_05_the_event_loop_serves_other_requests_while_a_secret_is_checked(
    domain: Domain, postgres: PostgresSource, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = gateway_app(domain, await postgres.new_database())
    entered, release = threading.Event(), threading.Event()

    def hold() -> None:
        entered.set()
        # Bounded, so that a KDF on the loop (the old code) ends the test instead of hanging it.
        release.wait(timeout=10)

    async with running(app) as gw:
        await register(app, "held", ["office"], "office")
        spy_on_kdf(monkeypatch, before=hold)
        pending = asyncio.create_task(token_request(gw, "held", "held-s3cret"))
        while not entered.is_set() and not pending.done():
            await asyncio.sleep(0.01)
        try:
            health = await gw.get("/healthz")
            assert health.status_code == 200
            assert not pending.done(), "the secret check held the event loop"
        finally:
            release.set()
        assert (await pending).status_code == 200


async def test_point_05_failed_authentications_of_one_client_id_are_limited(
    domain: Domain, postgres: PostgresSource, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = gateway_app(
        domain, await postgres.new_database(), token_max_failures=3, token_failure_window_seconds=3600
    )
    async with running(app) as gw:
        await register(app, "target", ["office"], "office")
        await register(app, "bystander", ["office"], "office")
        threads = spy_on_kdf(monkeypatch)
        unknown = f"unknown-{uuid.uuid4().hex[:8]}"
        for client_id in ("target", unknown):
            for _ in range(3):
                assert_oauth_error(await token_request(gw, client_id, "guess"), 401, "invalid_client")
            threads.clear()
            # Locked now, even with the right secret, and without spending a KDF run on it.
            for secret in ("guess", "target-s3cret"):
                r = await token_request(gw, client_id, secret)
                body = assert_oauth_error(r, 429, "invalid_client")
                assert body["type"] == "/problems/too-many-failed-authentications"
                assert 1 <= int(r.headers["retry-after"]) <= 3600
            assert threads == []
        # Another client id is not affected.
        assert (await token_request(gw, "bystander", "bystander-s3cret")).status_code == 200


# --- 6: RFC 6749 §5.2 errors --------------------------------------------------------------------


def basic(client_id: str, secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


async def test_point_06_token_errors_follow_rfc_6749_and_rfc_9457(
    domain: Domain, postgres: PostgresSource
) -> None:
    app = gateway_app(domain, await postgres.new_database())
    grant = {"grant_type": "client_credentials"}
    async with running(app) as gw:
        await register(app, "rfc", ["office"], "office")

        r = await gw.post(TOKEN, data={"grant_type": "password", "username": "a", "password": "b"})
        assert_oauth_error(r, 400, "unsupported_grant_type")
        assert_oauth_error(await gw.post(TOKEN, data={"client_id": "rfc"}), 400, "invalid_request")
        r = await gw.post(
            TOKEN,
            content=b"grant_type=client_credentials&grant_type=client_credentials",
            headers={"content-type": "application/x-www-form-urlencoded", **basic("rfc", "rfc-s3cret")},
        )
        assert_oauth_error(r, 400, "invalid_request")
        r = await gw.post(
            TOKEN, data={**grant, "client_secret": "rfc-s3cret"}, headers=basic("rfc", "rfc-s3cret")
        )
        assert_oauth_error(r, 400, "invalid_request")
        r = await gw.post(TOKEN, json={**grant, "client_id": "rfc", "client_secret": "rfc-s3cret"})
        assert_oauth_error_without_cache_header(r, 415, "invalid_request")

        # invalid_client: 401 with a Basic challenge, for HTTP Basic and for form credentials.
        for headers, data in (
            (basic("rfc", "wrong"), grant),
            ({}, {**grant, "client_id": "rfc", "client_secret": "wrong"}),
            ({}, grant),
            ({"Authorization": "Basic not base64!"}, grant),
        ):
            r = await gw.post(TOKEN, data=data, headers=headers)
            body = assert_oauth_error(r, 401, "invalid_client")
            assert body["type"] == "/problems/invalid-client"
            assert r.headers["www-authenticate"].startswith("Basic ")

        ok = await gw.post(TOKEN, data=grant, headers=basic("rfc", "rfc-s3cret"))
        assert ok.status_code == 200, ok.text
        assert ok.headers["cache-control"] == "no-store" and ok.headers["pragma"] == "no-cache"
        assert ok.json()["token_type"] == "Bearer"


def assert_oauth_error_without_cache_header(r: httpx.Response, status: int, error: str) -> None:
    """A refusal of the guard, before the endpoint: the same members, no Cache-Control needed."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == PROBLEM
    body = r.json()
    assert body["error"] == error and body["error_description"].isascii()
    assert {"type", "title", "status", "detail"} <= set(body)


# --- 12: forwarded headers only from trusted proxies -------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def spoofed(n: int) -> dict[str, str]:
    return {
        "X-Forwarded-For": f"198.51.100.{n}",
        "Forwarded": f"for=198.51.100.{n}",
        "X-Real-IP": f"198.51.100.{n}",
    }


async def test_point_12_forwarded_headers_from_an_untrusted_peer_do_not_split_the_per_ip_bucket(
    domain: Domain, postgres: PostgresSource, tmp_path: Path
) -> None:
    # The gateway as the launcher starts it: its own uvicorn process on a loopback port.
    env = {
        "XN_ENVIRONMENT": "test",
        "XN_BUS": "memory",
        "XN_JWT_SECRET": domain.common.jwt_secret,
        "XN_GATEWAY_DATABASE_URL": await postgres.new_database(),
        "XN_GATEWAY_RATE_LIMIT_REQUESTS": "3",
        "XN_GATEWAY_RATE_LIMIT_WINDOW_SECONDS": "3600",
        "XN_GATEWAY_WEBHOOKS_ENABLED": "false",
        **{f"XN_GATEWAY_{name.upper()}_URL": url for name, url in domain.urls.items()},
    }
    gateway = ServiceProcess("gateway", free_port(), env, tmp_path)
    gateway.start()
    try:
        await asyncio.to_thread(gateway.wait_ready, 90)
        async with httpx.AsyncClient(base_url=gateway.url, timeout=10) as http:
            statuses = [
                (await http.get("/api/v1/indicators/indicators", headers=spoofed(n))).status_code
                for n in range(1, 6)
            ]
    finally:
        gateway.stop()
    assert statuses[:3] == [200, 200, 200], gateway.log_tail()
    assert statuses[3:] == [429, 429]


async def test_point_12_only_configured_proxies_name_the_caller(
    domain: Domain, postgres: PostgresSource
) -> None:
    # In-process the peer is 127.0.0.1: here the one trusted proxy.
    app = gateway_app(
        domain,
        await postgres.new_database(),
        rate_limit_requests=2,
        rate_limit_window_seconds=3600,
        trusted_proxies=["127.0.0.1/32"],
    )
    path = "/api/v1/indicators/indicators"
    async with running(app) as gw:
        # Behind the proxy, each caller has its own bucket; what the caller itself wrote to the
        # left of the proxy's entry does not count.
        for caller in ("203.0.113.7", "203.0.113.8"):
            for spoof in ("1.1.1.1", "2.2.2.2"):
                r = await gw.get(path, headers={"X-Forwarded-For": f"{spoof}, {caller}"})
                assert r.status_code == 200, (caller, spoof, r.text)
            r = await gw.get(path, headers={"X-Forwarded-For": f"9.9.9.9, {caller}"})
            assert r.status_code == 429, caller


def test_point_12_client_address_believes_only_trusted_hops() -> None:
    proxies = trusted_networks(("10.0.0.0/8", "127.0.0.1"))
    assert client_address("192.0.2.1", ["203.0.113.5"], proxies) == "192.0.2.1"
    assert client_address("10.1.2.3", ["203.0.113.5"], proxies) == "203.0.113.5"
    assert client_address("10.1.2.3", ["1.2.3.4, 203.0.113.5, 10.9.9.9"], proxies) == "203.0.113.5"
    assert client_address("10.1.2.3", ["1.2.3.4", "203.0.113.5:4711"], proxies) == "203.0.113.5"
    assert client_address("10.1.2.3", ["[2001:db8::1]:443"], proxies) == "2001:db8::1"
    # Not an address: the last hop that could be believed answers.
    assert client_address("10.1.2.3", ["203.0.113.5, junk"], proxies) == "10.1.2.3"
    assert client_address("10.1.2.3", [], proxies) == "10.1.2.3"
    assert client_address("::ffff:127.0.0.1", ["203.0.113.5"], proxies) == "203.0.113.5"
    assert client_address("127.0.0.1", ["203.0.113.5"], ()) == "127.0.0.1"


# --- 14: roles in the OpenAPI, enforced by the gateway ------------------------------------------


async def test_point_14_gateway_refuses_a_role_the_service_operation_does_not_admit_before_calling_it(
    domain: Domain, postgres: PostgresSource
) -> None:
    calls: list[tuple[str, str]] = []
    indicators = service_app("indicators", await postgres.new_database(), domain.common, domain.bus)

    async def recording(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] != "/openapi.json":
            calls.append((scope["method"], scope["path"]))
        await indicators(scope, receive, send)

    async with serve(recording) as indicators_url:  # type: ignore[arg-type]
        app = gateway_app(domain, await postgres.new_database(), indicators_url=indicators_url)
        async with running(app) as gw:
            department = bearer(domain.common, "department", department="fgw", client_id="p14-fgw")
            r = await gw.post("/api/v1/indicators/indicators", json={}, headers=department)
            assert r.status_code == 403, r.text
            assert r.headers["content-type"] == PROBLEM
            assert 'error="insufficient_scope", scope="office"' in r.headers["www-authenticate"]
            assert calls == [], "the gateway called the service for a caller it must refuse"
            # The office role passes on to the service (which judges the body itself).
            office = bearer(domain.common, "office", department="office", client_id="p14-office")
            r = await gw.post("/api/v1/indicators/indicators", json={}, headers=office)
            assert r.status_code == 422, r.text
            assert calls == [("POST", "/v1/indicators")]


async def test_point_14_every_non_public_service_operation_lists_its_roles(
    domain: Domain, postgres: PostgresSource
) -> None:
    async with running(gateway_app(domain, await postgres.new_database())) as gw:
        doc = (await gw.get("/openapi.json")).json()
    without_roles, with_roles = [], []
    for path, item in doc["paths"].items():
        service = path.removeprefix("/api/v1/").split("/", 1)[0]
        if service not in domain.urls:
            continue
        for method, op in item.items():
            if method not in ("get", "put", "post", "patch", "delete"):
                continue
            access = access_of(op, doc.get("security"))
            if access.token_required:
                (with_roles if access.roles else without_roles).append(f"{method.upper()} {path}")
    assert without_roles == []
    assert len(with_roles) > 50
