"""Every link an answer carries is a gateway path that resolves there, and HEAD works wherever GET
does: through the gateway to the real domain services."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from services.gateway.catalog import RouteTable, operations_of
from tests.support import gateway as support
from tests.support.apps import bearer, running
from tests.support.coordination import sheet
from tests.support.gateway import Domain, document, gateway_app
from tests.support.infra import PostgresSource

domain = support.domain
_LINK = re.compile(r"<([^>]+)>")
_PATH_IN_TEXT = re.compile(r"(/(?:api/)?v1/[\w./{}%-]*)")


@pytest.fixture
async def gw(domain: Domain, postgres: PostgresSource) -> AsyncIterator[httpx.AsyncClient]:
    async with running(gateway_app(domain, await postgres.new_database())) as client:
        yield client


def _strings(node: Any, key: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _strings(v, str(k))
    elif isinstance(node, list):
        for v in node:
            yield from _strings(v, key)
    elif isinstance(node, str):
        yield key, node


def links_in(response: httpx.Response) -> tuple[set[str], set[str]]:
    """(links to follow, paths named in messages) of an answer."""
    links = {response.headers["location"]} if "location" in response.headers else set()
    links |= set(_LINK.findall(response.headers.get("link", "")))
    named: set[str] = set()
    if "json" in response.headers.get("content-type", ""):
        for key, value in _strings(response.json()):
            if key.endswith("_url") or (key in ("type", "instance") and value.startswith("/")):
                links.add(value)
            elif key in ("detail", "message"):
                named |= set(_PATH_IN_TEXT.findall(value))
    return links, named


async def test_every_link_in_answers_is_a_gateway_path_that_resolves(
    domain: Domain, gw: httpx.AsyncClient
) -> None:
    office = bearer(domain.common, "office", department="office", client_id="links-office")
    admin = bearer(domain.common, "admin", client_id="links-admin")
    lead = bearer(domain.common, "department", department="jsj", client_id="links-jsj")
    answers = [
        await gw.post("/api/v1/disclosure/documents", json=document(), headers=office),
        await gw.post("/api/v1/disclosure/documents", json=document(), headers=office),
        await gw.get("/api/v1/disclosure/documents", params={"limit": 1}, headers=office),
        await gw.get("/api/v1/disclosure/documents/doc-nope", headers=office),
        await gw.get("/api/v1/disclosure/nope", headers=office),
        await gw.post("/api/v1/disclosure/documents", json={"title": "缺少文号"}, headers=office),
        await gw.get("/api/v1/indicators/indicators", params={"limit": 2}),
        await gw.post("/api/v1/coordination/joint-matters", json=sheet("jsj", "nyj", "lyj"), headers=lead),
        await gw.get("/api/v1/coordination/joint-matters", params={"limit": 1}, headers=office),
        await gw.post(
            "/api/v1/clients",
            json={"client_id": "links-portal", "name": "门户", "roles": ["office"]},
            headers=admin,
        ),
        await gw.get("/api/v1/clients/nope", headers=admin),
        await gw.get("/api/v1/evaluation/rounds/2099-Q1", headers=office),
    ]
    doc = (await gw.get("/openapi.json")).json()
    table = RouteTable(operations_of("gateway", doc))
    followed = 0
    for answer in answers:
        assert answer.status_code < 500, answer.text
        links, named = links_in(answer)
        for link in links | named:
            assert link.startswith(("/api/", "/problems/")), (answer.request.url, link)
        for path in named:
            assert path.startswith("/api/v1/"), (answer.request.url, path)
        for link in links:
            path = link.split("?", 1)[0]
            if link.startswith("/problems/"):
                assert (await gw.get(link)).status_code == 200, link
            elif answer.status_code < 400:
                # A link to a resource: it is there.
                r = await gw.get(link, headers=admin)
                assert r.status_code == 200, (link, r.text)
                followed += 1
            else:
                # The instance of a refusal names the request's own path: a path the gateway serves.
                assert table.match(answer.request.method, path) is not None or answer.status_code == 404, link
    assert followed >= 6


async def test_head_works_wherever_get_does(domain: Domain, gw: httpx.AsyncClient) -> None:
    office = bearer(domain.common, "office", department="office", client_id="head-office")
    assert (await gw.post("/api/v1/disclosure/documents", json=document(), headers=office)).status_code == 201
    for path, headers in (
        ("/docs", {}),
        ("/redoc", {}),
        ("/openapi.json", {}),
        ("/asyncapi.json", {}),
        ("/problems/not-found", {}),
        ("/api/v1/calendar/years", {}),
        ("/api/v1/indicators/indicators", {}),
        ("/api/v1/disclosure/documents", office),
        ("/api/v1/disclosure/catalogue/feed.atom", {}),
        ("/healthz", {}),
    ):
        get = await gw.get(path, headers=headers)
        head = await gw.head(path, headers=headers)
        assert get.status_code == 200, (path, get.text)
        assert head.status_code == 200, (path, head.status_code, head.text)
        assert head.content == b"", path
        assert head.headers["content-type"] == get.headers["content-type"], path
        if "content-length" in get.headers and path not in ("/openapi.json",):
            assert head.headers["content-length"] == get.headers["content-length"], path
    # A refusal to HEAD is the refusal to GET, without its body.
    head = await gw.head("/api/v1/disclosure/documents")
    assert head.status_code == 401 and head.content == b"" and "www-authenticate" in head.headers
    # The services themselves answer HEAD too.
    async with httpx.AsyncClient(base_url=domain.urls["indicators"]) as service:
        assert (await service.head("/v1/indicators")).status_code == 200
