"""Issue 15, points 10 and 11: bodies the gateway and the services must not pass on as they are.

10. An upstream answer cut short (a service dying mid-response) becomes a 502 problem, never a
    2xx with a partial body, and the Idempotency-Key record does not keep it. The upstream is a
    real socket on 127.0.0.1 started here, which sends a status line, headers and part of the
    body and then closes the connection (or resets it); the gateway is served by uvicorn, as in
    production, so the test sees what a client on the wire sees.
11. JSON nested 10,000 levels deep, in a body or in a cursor, is a 400 problem, not a 500 from a
    ``RecursionError``: directly at a service and through the gateway.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import socket
import struct
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Literal

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import make_url

from tests.support import gateway as support
from tests.support.apps import bearer
from tests.support.gateway import Domain, closed_port_url, document, gateway_app, serve
from tests.support.infra import PostgresSource

domain = support.domain
PROBLEM = "application/problem+json"
DEEP = 10_000

Cut = Literal["short-content-length", "broken-chunked-stream", "connection-reset"]


@dataclass
class CuttingUpstream:
    """A service that dies in the middle of its first answer to a POST and answers whole later."""

    cut: Cut
    whole_body: bytes = b'{"id":"doc-whole","title":"\xe5\x85\xb3\xe4\xba\x8e\xe9\x80\x9a\xe7\x9f\xa5"}'
    posts: list[bytes] = field(default_factory=list)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            request_line, *header_lines = head.decode("latin-1").split("\r\n")
            headers = dict(line.split(":", 1) for line in header_lines if ":" in line)
            length = int({k.strip().lower(): v.strip() for k, v in headers.items()}.get("content-length", 0))
            body = await reader.readexactly(length)
            method = request_line.split(" ", 1)[0]
            if method != "POST":  # the gateway's catalog asks for /openapi.json: there is none
                await self._answer(writer, b"404 Not Found", b'{"detail":"none"}')
                return
            self.posts.append(body)
            if len(self.posts) == 1:
                await self._die_mid_answer(writer)
            else:
                await self._answer(
                    writer, b"201 Created", self.whole_body, b"Location: /v1/documents/doc-whole\r\n"
                )
        finally:
            with contextlib.suppress(Exception):
                writer.close()

    @staticmethod
    async def _answer(writer: asyncio.StreamWriter, status: bytes, body: bytes, extra: bytes = b"") -> None:
        writer.write(
            b"HTTP/1.1 "
            + status
            + b"\r\nContent-Type: application/json\r\n"
            + extra
            + b"Content-Length: "
            + str(len(body)).encode()
            + b"\r\nConnection: close\r\n\r\n"
            + body
        )
        await writer.drain()

    async def _die_mid_answer(self, writer: asyncio.StreamWriter) -> None:
        start = b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n"
        if self.cut == "broken-chunked-stream":
            # One chunk of the body, then the connection ends without the last (empty) chunk.
            writer.write(start + b"Transfer-Encoding: chunked\r\n\r\n" + b"9\r\n" + b'{"id":"do' + b"\r\n")
        else:
            writer.write(start + b"Content-Length: 200\r\n\r\n" + b'{"id":"do')
        await writer.drain()
        if self.cut == "connection-reset":
            # Let the gateway read the status line first, then reset instead of closing.
            await asyncio.sleep(0.3)
            sock = writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()


@asynccontextmanager
async def cutting_upstream(cut: Cut) -> AsyncIterator[tuple[str, CuttingUpstream]]:
    upstream = CuttingUpstream(cut)
    server = await asyncio.start_server(upstream.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}", upstream
    finally:
        server.close()
        await server.wait_closed()


def office(domain: Domain) -> dict[str, str]:
    return bearer(domain.common, "office", department="office", client_id="bodies-office")


@pytest.mark.parametrize("cut", ["short-content-length", "broken-chunked-stream", "connection-reset"])
async def test_point_10_an_upstream_answer_cut_short_is_a_502_and_never_replayed(
    cut: Cut, domain: Domain, postgres: PostgresSource
) -> None:
    async with cutting_upstream(cut) as (url, upstream):
        database = await postgres.new_database()
        app = gateway_app(
            domain,
            database,
            disclosure_url=url,
            # Only the upstream under test answers; the others are not there.
            coordination_url=closed_port_url(),
            indicators_url=closed_port_url(),
            evaluation_url=closed_port_url(),
        )
        headers = {**office(domain), "Idempotency-Key": f"cut-{uuid.uuid4()}"}
        body = document()
        async with serve(app) as gateway, httpx.AsyncClient(base_url=gateway, timeout=30) as client:
            r = await client.post("/api/v1/disclosure/documents", json=body, headers=headers)
            assert r.status_code == 502, (r.status_code, r.headers, r.content)
            assert r.headers["content-type"] == PROBLEM
            problem = r.json()
            assert problem["type"] == "/problems/bad-gateway" and problem["service"] == "disclosure"
            assert len(upstream.posts) == 1
            # The key was given back before the 502 reached the client, not after: a client that
            # retries at once must not find it still held ("in use", 409).
            assert await held_keys(database, headers["Idempotency-Key"]) == 0

            # The retry with the same key is not answered from a record of the cut answer: it
            # reaches the service again and gets the whole answer.
            r = await client.post("/api/v1/disclosure/documents", json=body, headers=headers)
            assert r.status_code == 201, (r.status_code, r.content)
            assert "idempotent-replayed" not in r.headers
            assert r.content == upstream.whole_body
            assert r.headers["location"] == "/api/v1/disclosure/documents/doc-whole"
            assert len(upstream.posts) == 2

            # The whole answer is the one kept: a third try replays it without asking the service.
            r = await client.post("/api/v1/disclosure/documents", json=body, headers=headers)
            assert r.status_code == 201 and r.headers["idempotent-replayed"] == "true"
            assert r.content == upstream.whole_body
            assert len(upstream.posts) == 2


async def held_keys(database_url: str, key: str) -> int:
    """How many idempotency records the gateway's database holds for ``key``."""
    conn = await asyncpg.connect(make_url(database_url).set(drivername="postgresql").render_as_string(False))
    try:
        count: int = await conn.fetchval("SELECT count(*) FROM idempotency_keys WHERE key = $1", key)
        return count
    finally:
        await conn.close()


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def cursor_of(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


async def test_point_11_json_nested_10000_deep_in_a_body_or_a_cursor_is_a_400_problem(
    domain: Domain, postgres: PostgresSource
) -> None:
    auth = office(domain)
    json_headers = {**auth, "content-type": "application/json"}
    deep_body = b'{"title": ' + nested(DEEP) + b"}"
    deep_cursor = {"cursor": cursor_of(nested(DEEP)), "department": "fgw"}
    app = gateway_app(domain, await postgres.new_database())
    async with (
        httpx.AsyncClient(base_url=domain.urls["disclosure"], timeout=30) as service,
        serve(app) as gateway_url,
        httpx.AsyncClient(base_url=gateway_url, timeout=30) as gateway,
    ):
        for client, prefix in ((service, "/v1"), (gateway, "/api/v1/disclosure")):
            r = await client.post(f"{prefix}/documents", content=deep_body, headers=json_headers)
            assert r.status_code == 400, (prefix, r.status_code, r.text[:300])
            assert r.headers["content-type"] == PROBLEM
            assert r.json()["type"] == "/problems/json-too-deep" and r.json()["limit"] == 100

            r = await client.get(f"{prefix}/documents", params=deep_cursor, headers=auth)
            assert r.status_code == 400, (prefix, r.status_code, r.text[:300])
            assert r.headers["content-type"] == PROBLEM
            assert r.json()["type"] == "/problems/invalid-cursor"

            # Within the limit the body is read as usual: here a validation error on the field.
            r = await client.post(
                f"{prefix}/documents", content=b'{"title": ' + nested(99) + b"}", headers=json_headers
            )
            assert r.status_code == 422 and r.json()["type"] == "/problems/validation-error"

            # A normal body and a normal cursor still work.
            created = await client.post(f"{prefix}/documents", json=document(), headers=auth)
            assert created.status_code == 201, created.text
            await client.post(f"{prefix}/documents", json=document(), headers=auth)
            page = await client.get(
                f"{prefix}/documents", params={"department": "fgw", "limit": 1}, headers=auth
            )
            assert page.status_code == 200 and page.json()["next_cursor"]
            params = {"department": "fgw", "limit": 1, "cursor": page.json()["next_cursor"]}
            assert (await client.get(f"{prefix}/documents", params=params, headers=auth)).status_code == 200

        # The gateway's own operations (a cursor of its webhook listing, a body of its own).
        r = await gateway.get(
            "/api/v1/webhooks/endpoints", params={"cursor": deep_cursor["cursor"]}, headers=auth
        )
        assert r.status_code == 400 and r.json()["type"] == "/problems/invalid-cursor"
        r = await gateway.post("/api/v1/webhooks/endpoints", content=deep_body, headers=json_headers)
        assert r.status_code == 400 and r.json()["type"] == "/problems/json-too-deep"
        # A body that is not declared JSON is not refused for its brackets, but the Idempotency-Key
        # fingerprint (which compares JSON by content) must not fail on it either.
        r = await gateway.post(
            "/api/v1/disclosure/no-such-operation",
            content=nested(DEEP),
            headers={**auth, "content-type": "text/plain", "Idempotency-Key": str(uuid.uuid4())},
        )
        assert r.status_code == 404 and r.headers["content-type"] == PROBLEM
        assert json.loads(r.text)["status"] == 404
