"""API client accounts through the gateway (/api/v1/clients): administrators only; a disabled,
re-keyed or re-roled client's tokens stop at once; a batch imports whole or not at all; every
change is in the change log."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import httpx
import pytest

from launcher.demo import DEMO_CLIENTS, retire
from services.gateway import clients
from shared.auth import ROLES
from tests.support import gateway as support
from tests.support.apps import bearer, running
from tests.support.gateway import Domain, gateway_app
from tests.support.infra import PostgresSource

domain = support.domain
PROBLEM = "application/problem+json"
ADMIN_ID = "gw-admin"


@pytest.fixture
async def gw(domain: Domain, postgres: PostgresSource) -> AsyncIterator[httpx.AsyncClient]:
    async with running(gateway_app(domain, await postgres.new_database())) as client:
        yield client


def admin(domain: Domain) -> dict[str, str]:
    return bearer(domain.common, "admin", client_id=ADMIN_ID)


async def token(gw: httpx.AsyncClient, client_id: str, secret: str) -> dict[str, str]:
    r = await gw.post(
        "/api/v1/oauth/token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
    )
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def panel(n: int, prefix: str = "panel") -> list[dict[str, object]]:
    return [
        {"client_id": f"{prefix}-{i:03d}", "name": f"评议人 {i:03d}", "roles": ["evaluator"]}
        for i in range(1, n + 1)
    ]


async def test_every_clients_operation_refuses_each_role_but_admin(
    domain: Domain, gw: httpx.AsyncClient
) -> None:
    body = {"client_id": "city-portal", "name": "市门户网站", "roles": ["office"], "department": "office"}
    calls = [
        ("POST", "/api/v1/clients", {"json": body}),
        ("GET", "/api/v1/clients", {}),
        ("POST", "/api/v1/clients/import", {"json": {"clients": panel(1)}}),
        ("GET", "/api/v1/clients/city-portal", {}),
        ("PATCH", "/api/v1/clients/city-portal", {"json": {"enabled": False}}),
        ("DELETE", "/api/v1/clients/city-portal", {}),
        ("POST", "/api/v1/clients/city-portal/secret/rotate", {}),
        ("GET", "/api/v1/client-changes", {}),
    ]
    for role in ROLES:
        if role == "admin":
            continue
        headers = bearer(domain.common, role, department="fgw", client_id=f"gw-{role}")
        for method, path, kw in calls:
            r = await gw.request(method, path, headers=headers, **kw)  # type: ignore[arg-type]
            assert r.status_code == 403, (role, method, path, r.text)
            assert r.headers["content-type"] == PROBLEM
            assert 'scope="admin"' in r.headers["www-authenticate"]
    for method, path, kw in calls:
        assert (await gw.request(method, path, **kw)).status_code == 401  # type: ignore[arg-type]
    # Nothing was created by the refused calls.
    assert (await gw.get("/api/v1/clients", headers=admin(domain))).json()["items"] == []


async def test_a_disabled_clients_existing_token_stops_working_at_once(
    domain: Domain, gw: httpx.AsyncClient
) -> None:
    created = await gw.post(
        "/api/v1/clients",
        json={"client_id": "city-portal", "name": "市门户网站", "roles": ["office"], "department": "office"},
        headers=admin(domain),
    )
    assert created.status_code == 201, created.text
    assert created.headers["location"] == "/api/v1/clients/city-portal"
    secret = created.json()["client_secret"]
    portal = await token(gw, "city-portal", secret)
    assert (await gw.get("/api/v1/disclosure/documents", headers=portal)).status_code == 200

    r = await gw.patch("/api/v1/clients/city-portal", json={"enabled": False}, headers=admin(domain))
    assert (
        r.status_code == 200 and r.json()["enabled"] is False and r.json()["disabled_at"].endswith("+08:00")
    )
    refused = await gw.get("/api/v1/disclosure/documents", headers=portal)
    assert refused.status_code == 401 and refused.headers["content-type"] == PROBLEM
    assert 'error="invalid_token"' in refused.headers["www-authenticate"]
    r = await gw.post(
        "/api/v1/oauth/token",
        data={"grant_type": "client_credentials", "client_id": "city-portal", "client_secret": secret},
    )
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"

    # Enabled again, the old token stays dead; a new one works.
    assert (
        await gw.patch("/api/v1/clients/city-portal", json={"enabled": True}, headers=admin(domain))
    ).json()["enabled"]
    assert (await gw.get("/api/v1/disclosure/documents", headers=portal)).status_code == 401
    again = await token(gw, "city-portal", secret)
    assert (await gw.get("/api/v1/disclosure/documents", headers=again)).status_code == 200


async def test_rotating_the_secret_or_changing_roles_ends_earlier_tokens_and_everything_is_audited(
    domain: Domain, gw: httpx.AsyncClient
) -> None:
    headers = admin(domain)
    body = {
        "client_id": "fgw-system",
        "name": "市发改委业务系统",
        "roles": ["department"],
        "department": "fgw",
    }
    secret = (await gw.post("/api/v1/clients", json=body, headers=headers)).json()["client_secret"]
    first = await token(gw, "fgw-system", secret)

    rotated = await gw.post("/api/v1/clients/fgw-system/secret/rotate", headers=headers)
    assert rotated.status_code == 200 and rotated.json()["client_secret"] != secret
    assert (await gw.get("/api/v1/disclosure/documents", headers=first)).status_code == 401
    old = await gw.post(
        "/api/v1/oauth/token",
        data={"grant_type": "client_credentials", "client_id": "fgw-system", "client_secret": secret},
    )
    assert old.status_code == 401
    second = await token(gw, "fgw-system", rotated.json()["client_secret"])
    assert (await gw.get("/api/v1/disclosure/documents", headers=second)).status_code == 200

    r = await gw.patch(
        "/api/v1/clients/fgw-system", json={"roles": ["department", "leader"]}, headers=headers
    )
    assert r.status_code == 200 and r.json()["roles"] == ["department", "leader"]
    assert (await gw.get("/api/v1/disclosure/documents", headers=second)).status_code == 401

    # A department client must name a known department.
    r = await gw.patch("/api/v1/clients/fgw-system", json={"department": "nope"}, headers=headers)
    assert r.status_code == 422 and r.json()["field"] == "department"
    assert (await gw.delete("/api/v1/clients/fgw-system", headers=headers)).status_code == 204
    assert (await gw.get("/api/v1/clients/fgw-system", headers=headers)).status_code == 404

    log = (await gw.get("/api/v1/client-changes", params={"client_id": "fgw-system"}, headers=headers)).json()
    assert [c["action"] for c in log["items"]] == ["deleted", "updated", "secret-rotated", "created"]
    assert all(c["actor"] == ADMIN_ID and c["at"].endswith("+08:00") for c in log["items"])
    assert log["items"][1]["changes"] == {"roles": ["department", "leader"]}
    assert secret not in str(log) and rotated.json()["client_secret"] not in str(log)


async def test_an_administrator_cannot_lock_itself_out(domain: Domain, gw: httpx.AsyncClient) -> None:
    headers = admin(domain)
    body = {"client_id": "root", "name": "管理员", "roles": ["admin"]}
    secret = (await gw.post("/api/v1/clients", json=body, headers=headers)).json()["client_secret"]
    own = await token(gw, "root", secret)
    for method, kw in (
        ("PATCH", {"json": {"enabled": False}}),
        ("PATCH", {"json": {"roles": ["office"]}}),
        ("DELETE", {}),
    ):
        r = await gw.request(method, "/api/v1/clients/root", headers=own, **kw)  # type: ignore[arg-type]
        assert r.status_code == 409 and r.json()["type"] == "/problems/own-client", r.text


async def test_bulk_import_of_100_with_one_bad_row_imports_nothing_and_names_the_row(
    domain: Domain, gw: httpx.AsyncClient
) -> None:
    headers = admin(domain)
    accounts = panel(100)
    accounts[56]["roles"] = ["judge"]
    r = await gw.post("/api/v1/clients/import", json={"clients": accounts}, headers=headers)
    assert r.status_code == 422 and r.headers["content-type"] == PROBLEM
    problem = r.json()
    assert problem["type"] == "/problems/client-import-invalid"
    assert [(e["row"], e["client_id"], e["field"]) for e in problem["errors"]] == [
        (57, "panel-057", "roles.0")
    ]
    assert "第 57 行" in problem["detail"] and "roles" in problem["detail"]
    listed = await gw.get("/api/v1/clients", params={"role": "evaluator"}, headers=headers)
    assert listed.json()["items"] == []

    accounts[56]["roles"] = ["evaluator"]
    started = time.perf_counter()
    r = await gw.post("/api/v1/clients/import", json={"clients": accounts}, headers=headers)
    elapsed = time.perf_counter() - started
    assert r.status_code == 201, r.text
    assert r.json()["imported"] == 100 and elapsed < 5, elapsed
    issued = {c["client_id"]: c["client_secret"] for c in r.json()["clients"]}
    await token(gw, "panel-057", issued["panel-057"])
    first = await gw.get("/api/v1/clients", params={"role": "evaluator", "limit": 60}, headers=headers)
    rest = await gw.get(
        "/api/v1/clients",
        params={"role": "evaluator", "cursor": first.json()["next_cursor"]},
        headers=headers,
    )
    assert len(first.json()["items"]) == 60 and len(rest.json()["items"]) == 40
    assert 'rel="next"' in first.headers["link"]

    # The same ids again: every row is named, nothing changes.
    r = await gw.post("/api/v1/clients/import", json={"clients": accounts[:2]}, headers=headers)
    assert r.status_code == 422
    assert [(e["row"], e["field"]) for e in r.json()["errors"]] == [(1, "client_id"), (2, "client_id")]


async def test_bulk_import_from_csv(domain: Domain, gw: httpx.AsyncClient) -> None:
    headers = {**admin(domain), "content-type": "text/csv"}
    good = (
        "client_id,name,roles,department\ncsv-001,评议人一,evaluator,\ncsv-002,分管副市长,leader;evaluator,\n"
    )
    bad = good + "csv-003,交通局,department,\ncsv-001,重复,evaluator,\n"
    r = await gw.post("/api/v1/clients/import", content=bad.encode(), headers=headers)
    assert r.status_code == 422, r.text
    assert [(e["row"], e["field"]) for e in r.json()["errors"]] == [(3, "department"), (4, "client_id")]
    assert (await gw.get("/api/v1/clients/csv-001", headers=admin(domain))).status_code == 404
    r = await gw.post("/api/v1/clients/import", content=good.encode(), headers=headers)
    assert r.status_code == 201, r.text
    view = (await gw.get("/api/v1/clients/csv-002", headers=admin(domain))).json()
    assert view["roles"] == ["leader", "evaluator"] and view["enabled"] is True
    log = (await gw.get("/api/v1/client-changes", headers=admin(domain))).json()["items"]
    assert {(c["client_id"], c["action"]) for c in log} == {("csv-001", "imported"), ("csv-002", "imported")}


async def test_the_cli_registration_is_audited_and_repeating_it_unchanged_keeps_the_tokens(
    domain: Domain, postgres: PostgresSource
) -> None:
    # The CLI writes to the database from another process: the gateway sees it at its next look.
    app = gateway_app(domain, await postgres.new_database(), client_cache_seconds=0)
    async with running(app) as gw:
        db = app.state.ctx.db
        spec = {"client_id": "demo-like", "name": "演示", "roles": ["office"], "department": "office"}
        await clients.register_client(db, secret="demo-like-secret", actor="cli:ops", **spec)  # type: ignore[arg-type]
        issued = await token(gw, "demo-like", "demo-like-secret")
        # As on every start of the demo: the same registration again changes nothing.
        await clients.register_client(db, secret="demo-like-secret", actor="demo", **spec)  # type: ignore[arg-type]
        assert (await gw.get("/api/v1/disclosure/documents", headers=issued)).status_code == 200
        # Other roles: a replacement, which ends the tokens issued before.
        await clients.register_client(
            db, secret="demo-like-secret", actor="cli:ops", **{**spec, "roles": ["leader"]}
        )  # type: ignore[arg-type]
        assert (await gw.get("/api/v1/disclosure/documents", headers=issued)).status_code == 401
        log = (await gw.get("/api/v1/client-changes", headers=admin(domain))).json()["items"]
    assert [(c["action"], c["actor"]) for c in log] == [("replaced", "cli:ops"), ("created", "cli:ops")]
    assert log[0]["changes"]["roles"] == ["leader"] and "demo-like-secret" not in str(log)


async def test_demo_clients_removed_outside_dev_are_in_the_change_log(
    domain: Domain, postgres: PostgresSource
) -> None:
    app = gateway_app(domain, await postgres.new_database())
    async with running(app) as gw:
        db = app.state.ctx.db
        for client_id, spec in DEMO_CLIENTS.items():
            await clients.register_client(
                db, client_id=client_id, secret=f"{client_id}-secret", actor="demo", **spec
            )
        await retire(db)
        await retire(db)  # nothing left to remove, nothing logged
        log = (await gw.get("/api/v1/client-changes", params={"limit": 20}, headers=admin(domain))).json()[
            "items"
        ]
        assert (await gw.get("/api/v1/clients", headers=admin(domain))).json()["items"] == []
    removed = [(c["client_id"], c["actor"]) for c in log if c["action"] == "deleted"]
    assert sorted(removed) == sorted((client_id, "launcher") for client_id in DEMO_CLIENTS)
