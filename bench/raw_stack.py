"""The reference row: the raw stack under disclosure, doing what ``GET /v1/documents/{id}`` reads.

uvicorn + Starlette + an asyncpg pool, the same three SELECTs (the document, its versions, its
exemption requests) and a JSON answer; no framework validation, no ORM, no auth. What the
service costs beyond this is the price of its framework and its own code. Run as its own
process: ``python -m bench.raw_stack <port> <postgres dsn>``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

POOL_SIZE = 20


def app_for(dsn: str) -> Starlette:
    pool: dict[str, asyncpg.Pool] = {}

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        pool["db"] = await asyncpg.create_pool(dsn, min_size=POOL_SIZE, max_size=POOL_SIZE)
        yield
        await pool["db"].close()

    async def document(request: Request) -> Response:
        document_id = request.path_params["id"]
        async with pool["db"].acquire() as conn:
            doc = await conn.fetchrow("SELECT * FROM documents WHERE id = $1", document_id)
            if doc is None:
                return Response(status_code=404)
            versions = await conn.fetch(
                "SELECT * FROM document_versions WHERE document_id = $1 ORDER BY version", document_id
            )
            exemptions = await conn.fetch("SELECT * FROM exemptions WHERE document_id = $1", document_id)
        body: dict[str, Any] = {
            **dict(doc),
            "versions": [dict(v) for v in versions],
            "exemptions": [dict(e) for e in exemptions],
        }
        return Response(json.dumps(body, default=str, ensure_ascii=False), media_type="application/json")

    return Starlette(routes=[Route("/v1/documents/{id}", document)], lifespan=lifespan)


def main() -> None:
    port, dsn = int(sys.argv[1]), sys.argv[2]
    uvicorn.run(app_for(dsn), host="127.0.0.1", port=port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
