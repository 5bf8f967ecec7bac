"""The merged OpenAPI document as the contract integrators read: every operation's roles, what
its success returns, its error statuses and problem types, and a token example that is a token."""

from __future__ import annotations

import html
from collections.abc import AsyncIterator
from typing import Any

import jwt
import pytest
from openapi_spec_validator import validate

from shared.auth import ROLES
from shared.openapi import operations
from shared.problems import PROBLEM_TYPES
from tests.support import gateway as support
from tests.support.apps import running
from tests.support.gateway import Domain, gateway_app
from tests.support.infra import PostgresSource
from tests.support.problem_kinds import problem_kinds

domain = support.domain


@pytest.fixture(scope="module")
async def merged(domain: Domain, postgres: PostgresSource) -> AsyncIterator[dict[str, Any]]:
    async with running(gateway_app(domain, await postgres.new_database())) as gw:
        doc = (await gw.get("/openapi.json")).json()
    assert "x-missing-services" not in doc
    validate(doc)
    yield doc


async def test_every_operations_security_requirement_lists_its_roles(merged: dict[str, Any]) -> None:
    secured = 0
    for path, method, op in operations(merged):
        for requirement in op.get("security") or []:
            for scheme, roles in requirement.items():
                assert roles, f"{method} {path}: {scheme} lists no role"
                assert set(roles) <= set(ROLES), (method, path, roles)
                secured += 1
    assert secured > 100
    clients = merged["paths"]["/api/v1/clients"]["post"]["security"]
    assert {"HTTPBearer": ["admin"]} in clients and {"OAuth2ClientCredentials": ["admin"]} in clients
    # A route that takes any valid token lists every role; one that is public lists none.
    assert {"HTTPBearer": list(ROLES)} in merged["paths"]["/api/v1/webhooks/endpoints"]["get"]["security"]
    assert merged["paths"]["/api/v1/indicators/indicators"]["get"].get("security") in (None, [])


async def test_success_responses_say_what_they_return(merged: dict[str, Any]) -> None:
    for path, method, op in operations(merged):
        for status, response in op["responses"].items():
            if status.startswith("2"):
                assert response["description"] != "Successful Response", (method, path, status)
    assert (
        merged["paths"]["/api/v1/clients/{client_id}"]["get"]["responses"]["200"]["description"]
        == "查看客户端：返回 ClientView"
    )
    assert merged["paths"]["/api/v1/clients/{client_id}"]["delete"]["responses"]["204"]["description"] == (
        "删除客户端：成功，无响应体"
    )


async def test_the_token_endpoints_example_shows_a_token(merged: dict[str, Any]) -> None:
    ok = merged["paths"]["/api/v1/oauth/token"]["post"]["responses"]["200"]
    example = ok["content"]["application/json"]["example"]
    claims = jwt.decode(example["access_token"], options={"verify_signature": False})
    assert claims["roles"] == ["office"] and claims["aud"] == "xiaoneng-api"
    assert example["token_type"] == "Bearer" and example["expires_in"] == 3600
    schema = merged["components"]["schemas"]["TokenResponse"]
    assert schema["properties"]["access_token"]["examples"][0].count(".") == 2


def test_every_problem_type_used_in_code_is_in_the_registry() -> None:
    used = problem_kinds()
    assert {"client-exists", "validation-error", "invalid-document-number", "wrong-number-of-choices"} <= set(
        used
    )
    assert not {"major-milestone", "correction"} & set(used), (
        "kinds of other things were read as problem types"
    )
    missing = {kind: sorted(files) for kind, files in used.items() if kind not in PROBLEM_TYPES}
    assert not missing, f"problem types used in code but not in shared.problems.PROBLEM_TYPES: {missing}"


async def test_every_problem_type_resolves_through_the_gateway_as_a_page_and_as_json(
    domain: Domain, postgres: PostgresSource, merged: dict[str, Any]
) -> None:
    documented = {
        uri
        for _, _, op in operations(merged)
        for response in op["responses"].values()
        for uri in response.get("x-problem-types", [])
    }
    assert {"/problems/unauthorized", "/problems/unknown-client", "/problems/gateway-timeout"} <= documented
    uris = documented | {t.uri for t in PROBLEM_TYPES.values()} | {f"/problems/{k}" for k in problem_kinds()}
    async with running(gateway_app(domain, await postgres.new_database())) as gw:
        for uri in sorted(uris):
            page = await gw.get(uri, headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
            assert page.status_code == 200, (uri, page.text)
            assert page.headers["content-type"].startswith("text/html")
            kind = PROBLEM_TYPES[uri.removeprefix("/problems/")]
            assert html.escape(kind.title) in page.text and str(kind.statuses[0]) in page.text
            data = await gw.get(uri, headers={"Accept": "application/json"})
            assert data.headers["content-type"] == "application/json"
            assert data.json()["type"] == uri and data.json()["statuses"] == list(kind.statuses)
        index = await gw.get("/problems")
        assert index.status_code == 200 and all(f'href="{uri}"' in index.text for uri in uris)
        unknown = await gw.get("/problems/no-such-thing")
        assert unknown.status_code == 404 and unknown.headers["content-type"] == "application/problem+json"


async def test_each_operation_documents_its_error_statuses_and_problem_types(merged: dict[str, Any]) -> None:
    def types(op: dict[str, Any], status: str) -> list[str]:
        return list(op["responses"][status]["x-problem-types"])

    read = merged["paths"]["/api/v1/clients/{client_id}"]["get"]
    assert types(read, "401") == ["/problems/unauthorized"] and types(read, "403") == ["/problems/forbidden"]
    assert set(types(read, "404")) == {"/problems/not-found", "/problems/unknown-client"}
    example = read["responses"]["404"]["content"]["application/problem+json"]["examples"]["unknown-client"]
    assert example["value"]["type"] == "/problems/unknown-client" and example["value"]["status"] == 404
    create = merged["paths"]["/api/v1/clients"]["post"]
    assert "/problems/client-exists" in types(create, "409")
    assert {"/problems/validation-error", "/problems/department-required"} <= set(types(create, "422"))
    assert "/problems/idempotency-key-reused" in types(create, "422")
    hook = merged["paths"]["/api/v1/webhooks/endpoints"]["post"]
    assert {"/problems/webhook-target-refused", "/problems/unknown-event-type"} <= set(types(hook, "422"))
    calendar = merged["paths"]["/api/v1/calendar/years/{year}"]["put"]
    assert types(calendar, "428") == ["/problems/precondition-required"]
    # A service's operation: its own statuses from its security, path and body, and the gateway's.
    register = merged["paths"]["/api/v1/disclosure/documents"]["post"]
    assert {"400", "401", "403", "413", "415", "422", "502", "503", "504"} <= set(register["responses"])
    assert "/problems/gateway-timeout" in types(register, "504")
    public = merged["paths"]["/api/v1/indicators/indicators/{code}"]["get"]
    assert "403" not in public["responses"] and "/problems/not-found" in types(public, "404")
    for path, method, op in operations(merged):
        for status, response in op["responses"].items():
            for uri in response.get("x-problem-types", []):
                assert uri.removeprefix("/problems/") in PROBLEM_TYPES, (method, path, status, uri)
                kind = PROBLEM_TYPES[uri.removeprefix("/problems/")]
                assert int(status) in kind.statuses, (method, path, status, uri)
