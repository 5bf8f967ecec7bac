"""The docs portal: one OpenAPI 3.1 document that validates and lists every operation of every
service, the webhooks section, AsyncAPI, and Swagger UI as headless Chromium renders it."""

from __future__ import annotations

import html
from typing import Any

import httpx
from openapi_spec_validator import validate

from devtools.browser import BrowserUnavailable, dump_dom
from services.gateway.catalog import METHODS
from services.gateway.settings import DOMAIN_SERVICES
from shared.events import CONTRACTS
from shared.events.asyncapi import asyncapi_document
from shared.messaging.memory import MemoryBus
from tests.support import gateway as support
from tests.support.apps import running, service_app
from tests.support.gateway import Domain, free_socket, gateway_app, serve
from tests.support.infra import PostgresSource
from tests.support.waiting import until

domain = support.domain


async def own_documents(domain: Domain) -> dict[str, dict[str, Any]]:
    """Each service's document, read from the service itself."""
    docs = {}
    async with httpx.AsyncClient(timeout=30) as http:
        for name in DOMAIN_SERVICES:
            r = await http.get(f"{domain.urls[name]}/openapi.json")
            assert r.status_code == 200
            docs[name] = r.json()
    return docs


def operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, op)
        for path, item in doc["paths"].items()
        for method, op in item.items()
        if method in METHODS
    ]


async def test_merged_openapi_validates_and_lists_every_operation_of_every_service(
    domain: Domain, postgres: PostgresSource
) -> None:
    async with running(gateway_app(domain, await postgres.new_database())) as gw:
        doc = (await gw.get("/openapi.json")).json()
        asyncapi = (await gw.get("/asyncapi.json")).json()
    validate(doc)  # openapi-spec-validator, OpenAPI 3.1
    assert doc["openapi"].startswith("3.1") and "x-missing-services" not in doc

    for service, own in (await own_documents(domain)).items():
        ops = [(p, m, op) for p, m, op in operations(own) if p.startswith("/v1/")]
        assert ops, service
        for path, method, op in ops:
            merged = doc["paths"][f"/api/v1/{service}/{path[4:]}"][method]
            assert merged["summary"] == op["summary"]
            assert merged["operationId"] == f"{service}_{op['operationId']}"
            assert merged["tags"], f"{service} {method} {path} has no tag"
            if op.get("security"):
                assert {"OAuth2ClientCredentials": op["security"][0]["HTTPBearer"]} in merged["security"]
            if method == "post":
                assert {"$ref": "#/components/parameters/IdempotencyKey"} in merged["parameters"]
    groups = {g["name"] for g in doc["x-tagGroups"]}
    assert {
        "政务公开 disclosure",
        "会办督办 coordination",
        "保五争三 indicators",
        "低效能评定 evaluation",
    } <= groups
    schemes = doc["components"]["securitySchemes"]
    assert (
        schemes["OAuth2ClientCredentials"]["flows"]["clientCredentials"]["tokenUrl"] == "/api/v1/oauth/token"
    )
    assert schemes["HTTPBearer"]["scheme"] == "bearer"
    # The gateway's own operations are there too.
    assert "post" in doc["paths"]["/api/v1/oauth/token"]
    assert "post" in doc["paths"]["/api/v1/webhooks/endpoints"]
    assert "get" in doc["paths"]["/api/v1/departments/{code}/profile"]

    webhooks = doc["webhooks"]
    assert {c.event_type() for c in CONTRACTS} | {"gov.efficiency.webhook-ping.v1"} == set(webhooks)
    formed = webhooks["gov.efficiency.document-formed.v1"]["post"]
    headers = {p["$ref"].rsplit("/", 1)[1] for p in formed["parameters"]}
    assert headers == {"WebhookId", "WebhookTimestamp", "WebhookSignature"}
    envelope = doc["components"]["schemas"]["webhooks.gov.efficiency.document-formed.v1"]
    assert envelope["required"] == ["type", "timestamp", "data"]

    assert asyncapi == asyncapi_document(domain.common.topic_prefix)


async def test_swagger_ui_in_headless_chromium_lists_operations_of_every_service(
    domain: Domain, postgres: PostgresSource
) -> None:
    async with serve(gateway_app(domain, await postgres.new_database())) as url:
        try:
            dom = html.unescape(await dump_dom(f"{url}/docs"))
        except BrowserUnavailable as exc:
            raise AssertionError(f"the /docs test needs headless Chromium: {exc}") from exc
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            redoc = await http.get("/redoc")
    assert "swagger-ui" in dom and "opblock" in dom, "Swagger UI did not render"
    for service, own in (await own_documents(domain)).items():
        summaries = [op["summary"] for path, _, op in operations(own) if path.startswith("/v1/")]
        absent = [s for s in summaries if s not in dom]
        assert not absent, f"{service}: operations not listed in /docs: {absent}"
        assert f"/api/v1/{service}/" in dom
    assert "创建 webhook 端点" in dom and "获取访问令牌" in dom
    assert redoc.status_code == 200 and "redoc.standalone.js" in redoc.text


async def test_portal_opened_while_a_service_is_starting_names_it_and_refreshes_until_it_is_there(
    domain: Domain, postgres: PostgresSource
) -> None:
    late = free_socket()  # the evaluation service's port, not serving yet
    url = f"http://127.0.0.1:{late.getsockname()[1]}"
    app = gateway_app(domain, await postgres.new_database(), evaluation_url=url, openapi_cache_seconds=0.5)
    async with serve(app) as gateway:
        try:
            dom = html.unescape(await dump_dom(f"{gateway}/docs", budget_ms=3_000))
        except BrowserUnavailable as exc:
            raise AssertionError(f"the /docs test needs headless Chromium: {exc}") from exc
        assert 'class="xn-missing-services"' in dom and "低效能部门评定（evaluation）" in dom
        assert '<meta http-equiv="refresh" content="5">' in dom
        # The other services' operations are listed meanwhile.
        assert "/api/v1/disclosure/" in dom and "opblock" in dom

        evaluation = service_app("evaluation", await postgres.new_database(), domain.common, MemoryBus())
        async with serve(evaluation, sock=late), httpx.AsyncClient(base_url=gateway, timeout=30) as http:

            async def complete() -> bool:
                return "x-missing-services" not in (await http.get("/openapi.json")).json()

            await until(complete, what="the evaluation service in the portal", timeout=30)
            dom = html.unescape(await dump_dom(f"{gateway}/docs", budget_ms=3_000))
    assert "xn-missing-services" not in dom and 'http-equiv="refresh"' not in dom
    assert "/api/v1/evaluation/" in dom
