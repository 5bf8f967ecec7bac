"""What the gateway knows about every operation: read from each service's OpenAPI document.

Each domain service's ``/openapi.json`` is fetched through its long-lived client and kept for
``openapi_cache_seconds``; a service that does not answer keeps its last document (and is
asked again after a short pause) so that an outage never turns every request into a fetch.
The route table maps a public path (``/api/v1/<service>/...``) and method to the operation's
access rules and declared request media types: auth, content types and the portal all read
the same documents, so nothing about a service's paths is written into the gateway.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from services.gateway.domain import Access, access_of, path_pattern, specificity

log = logging.getLogger("xiaoneng.gateway.catalog")

GATEWAY = "gateway"
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_RETRY_MISSING_SECONDS = 5.0


@dataclass(frozen=True)
class Operation:
    service: str
    method: str
    template: str
    access: Access
    # Media types the request body may have; empty when the operation declares no body.
    body_types: frozenset[str] = frozenset()
    summary: str = ""
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)


class RouteTable:
    def __init__(self, operations: list[Operation]) -> None:
        ordered = sorted(operations, key=lambda op: specificity(op.template))
        self._routes = [(path_pattern(op.template), op) for op in ordered]

    def match(self, method: str, path: str) -> Operation | None:
        method = method.lower()
        for pattern, op in self._routes:
            if op.method == method and pattern.match(path):
                return op
        return None

    def operations(self) -> list[Operation]:
        return [op for _, op in self._routes]


def public_path(service: str, path: str) -> str | None:
    """Where a service's ``/v1/...`` path is served by the gateway; None for other paths."""
    if service == GATEWAY:
        return path
    if not path.startswith("/v1/"):
        return None
    return f"/api/v1/{service}/{path[4:]}"


def operations_of(service: str, doc: Mapping[str, Any]) -> list[Operation]:
    default_security = doc.get("security")
    ops = []
    for path, item in doc.get("paths", {}).items():
        public = public_path(service, path)
        if public is None or not isinstance(item, Mapping):
            continue
        for method in METHODS:
            op = item.get(method)
            if not isinstance(op, Mapping):
                continue
            content = (op.get("requestBody") or {}).get("content") or {}
            ops.append(
                Operation(
                    service=service,
                    method=method,
                    template=public,
                    access=access_of(op, default_security),
                    body_types=frozenset(str(t).lower() for t in content),
                    summary=str(op.get("summary", "")),
                    raw=op,
                )
            )
    return ops


@dataclass
class _Entry:
    doc: dict[str, Any] | None = None
    table: RouteTable | None = None
    fetched_at: float = float("-inf")
    failed_at: float = float("-inf")
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class Catalog:
    """The OpenAPI documents of the gateway itself and of every upstream service."""

    def __init__(
        self,
        clients: Mapping[str, httpx.AsyncClient],
        gateway_doc: Callable[[], dict[str, Any]],
        ttl_seconds: float,
    ) -> None:
        self._clients = clients
        self._gateway_doc_factory = gateway_doc
        self._gateway: tuple[dict[str, Any], RouteTable] | None = None
        self._ttl = ttl_seconds
        self._entries = {name: _Entry() for name in clients}

    @property
    def services(self) -> list[str]:
        return list(self._clients)

    def gateway(self) -> tuple[dict[str, Any], RouteTable]:
        if self._gateway is None:
            doc = self._gateway_doc_factory()
            self._gateway = (doc, RouteTable(operations_of(GATEWAY, doc)))
        return self._gateway

    async def document(self, service: str) -> dict[str, Any] | None:
        entry = self._entries[service]
        now = time.monotonic()
        if entry.doc is not None and now - entry.fetched_at < self._ttl:
            return entry.doc
        if entry.doc is None and now - entry.failed_at < min(self._ttl, _RETRY_MISSING_SECONDS):
            return None
        async with entry.lock:
            if entry.doc is not None and time.monotonic() - entry.fetched_at < self._ttl:
                return entry.doc
            doc = await self._fetch(service)
            if doc is None:
                entry.failed_at = time.monotonic()
                # Keep serving the last known document; try again after a short pause.
                if entry.doc is not None:
                    entry.fetched_at = time.monotonic() - self._ttl + _RETRY_MISSING_SECONDS
                return entry.doc
            entry.doc, entry.table, entry.fetched_at = (
                doc,
                RouteTable(operations_of(service, doc)),
                time.monotonic(),
            )
            return doc

    async def documents(self) -> dict[str, dict[str, Any] | None]:
        docs = await asyncio.gather(*(self.document(s) for s in self._clients))
        return dict(zip(self._clients, docs, strict=True))

    async def table(self, service: str) -> RouteTable | None:
        await self.document(service)
        return self._entries[service].table

    async def operation(self, method: str, path: str) -> Operation | None:
        """The operation a request addresses, or None when no document describes it."""
        service = upstream_of(path, self._clients)
        if service is None:
            return self.gateway()[1].match(method, path)
        table = await self.table(service)
        return table.match(method, path) if table is not None else None

    async def _fetch(self, service: str) -> dict[str, Any] | None:
        try:
            response = await self._clients[service].get("/openapi.json")
            response.raise_for_status()
            body: dict[str, Any] = response.json()
            return body
        except (httpx.HTTPError, ValueError) as exc:
            log.warning("OpenAPI document of %s unavailable: %s", service, exc)
            return None


def upstream_of(path: str, services: Mapping[str, object]) -> str | None:
    """The upstream a public path belongs to (``/api/v1/<service>/...``), if any."""
    if not path.startswith("/api/v1/"):
        return None
    name = path[len("/api/v1/") :].split("/", 1)[0]
    return name if name in services else None
