"""The merged OpenAPI document as the contract integrators read: every operation's roles, what
its success returns, its error statuses and problem types, and a token example that is a token."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import jwt
import pytest
from openapi_spec_validator import validate

from shared.auth import ROLES
from shared.openapi import operations
from tests.support import gateway as support
from tests.support.apps import running
from tests.support.gateway import Domain, gateway_app
from tests.support.infra import PostgresSource

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
