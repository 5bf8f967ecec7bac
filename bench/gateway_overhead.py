"""1. HTTP: GET one document by id on the raw stack, direct on disclosure and through the gateway;
POST documents through the gateway.

Load comes from wrk (bench/wrk.py), pinned to the last core, one thread, ``c`` keep-alive
connections, the same office bearer token on every side (the service verifies it either way; the
gateway verifies it first). Per concurrency level the three sides run one after the other, in
an order that rotates per level so drift on a shared machine does not always hit the same side.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx

from . import wrk
from .cluster import BenchCluster
from .common import new_document, register_document
from .stats import BenchResult, Target, ratio, say

NAME = "gateway_overhead"
LEVELS = (1, 8, 32)
WRITE_CONCURRENCY = 32
SIDES = ("raw", "direct", "gateway")


async def run(cluster: BenchCluster, *, quick: bool) -> BenchResult:
    seconds = 3.0 if quick else 10.0
    headers = await cluster.token()
    async with httpx.AsyncClient(base_url=cluster.url("disclosure"), timeout=30) as http:
        doc = await register_document(http, headers)
    raw = await asyncio.to_thread(cluster.start_raw_stack)
    urls = {
        "raw": f"{raw}/v1/documents/{doc['id']}",
        "direct": f"{cluster.url('disclosure')}/v1/documents/{doc['id']}",
        "gateway": f"{cluster.gateway}/api/v1/disclosure/documents/{doc['id']}",
    }
    figures: dict[str, Any] = {}
    rows: list[list[object]] = []
    for n, c in enumerate(LEVELS):
        order = SIDES[n % 3 :] + SIDES[: n % 3]
        say(f"{NAME}: GET at concurrency {c}: {seconds:.0f} s each on {', '.join(order)}")
        level: dict[str, wrk.WrkRun] = {}
        for side in order:
            level[side] = await asyncio.to_thread(
                wrk.run, urls[side], connections=c, duration_s=seconds, headers=headers
            )
        figures[f"get_c{c}"] = {side: level[side].as_json() for side in SIDES}
        rows.append(_row(f"GET c={c}", level))
    say(f"{NAME}: POST /api/v1/disclosure/documents at concurrency {WRITE_CONCURRENCY} for {seconds:.0f} s")
    before = await _index_serials(cluster)
    write = await asyncio.to_thread(
        wrk.run,
        f"{cluster.gateway}/api/v1/disclosure/documents",
        connections=WRITE_CONCURRENCY,
        duration_s=seconds,
        headers=headers,
        post_body=_document_template(),
        # Serials have at most five digits (D4); the API's own registrations use small ones.
        first_number=50_000,
    )
    after = await _index_serials(cluster)
    gap_free = after == list(range(1, len(after) + 1))
    figures[f"post_c{WRITE_CONCURRENCY}"] = {
        **write.as_json(),
        "documents_written": len(after) - len(before),
        "index_serials_gap_free": gap_free,
    }
    post_row: list[object] = [f"POST c={WRITE_CONCURRENCY}", "", "", f"{write.requests_per_s:.0f}"]
    post_row += [
        "",
        "",
        "",
        "",
        f"{write.p99_ms:.1f}",
        "",
        write.errors,
        f"{write.cpu_percent_of_one_core:.0f}%",
    ]
    rows.append(post_row)
    return BenchResult(
        name=NAME,
        title="HTTP: GET a document by id (raw stack / direct / gateway), POST documents through the gateway",
        headers=[
            "load",
            "raw req/s",
            "direct req/s",
            "gw req/s",
            "direct/raw",
            "gw/direct",
            "raw p99 ms",
            "direct p99 ms",
            "gw p99 ms",
            "p99 gw/direct",
            "errors",
            "wrk CPU raw/direct/gw",
        ],
        rows=rows,
        notes=[
            f"wrk, one thread, {seconds:.0f} s per side and level, keep-alive connections = concurrency, "
            f"pinned to core {wrk.pinned_core()}; the same office bearer token on every side",
            "raw: bench/raw_stack.py (uvicorn + Starlette + asyncpg, the same three SELECTs, no auth); "
            "direct: GET {disclosure}/v1/documents/{id}; "
            "gateway: GET {gateway}/api/v1/disclosure/documents/{id}",
            "POST: a new document per request through the gateway; "
            f"index serials of the year gap-free: {gap_free}",
        ],
        figures=figures,
        ratios=_ratios(figures),
        parameters={
            "levels": list(LEVELS),
            "seconds_per_side": seconds,
            "write_concurrency": WRITE_CONCURRENCY,
        },
        targets=_targets(figures, gap_free),
    )


def _row(label: str, level: dict[str, wrk.WrkRun]) -> list[object]:
    raw, direct, gateway = level["raw"], level["direct"], level["gateway"]
    return [
        label,
        f"{raw.requests_per_s:.0f}",
        f"{direct.requests_per_s:.0f}",
        f"{gateway.requests_per_s:.0f}",
        _fmt(ratio(direct.requests_per_s, raw.requests_per_s)),
        _fmt(ratio(gateway.requests_per_s, direct.requests_per_s)),
        f"{raw.p99_ms:.1f}",
        f"{direct.p99_ms:.1f}",
        f"{gateway.p99_ms:.1f}",
        _fmt(ratio(gateway.p99_ms, direct.p99_ms)),
        raw.errors + direct.errors + gateway.errors,
        "/".join(f"{r.cpu_percent_of_one_core:.0f}%" for r in (raw, direct, gateway)),
    ]


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}x"


def _ratios(figures: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for c in LEVELS:
        level = figures[f"get_c{c}"]
        out[f"get_c{c}"] = {
            "direct_over_raw_requests_per_s": ratio(
                level["direct"]["requests_per_s"], level["raw"]["requests_per_s"]
            ),
            "gateway_over_direct_requests_per_s": ratio(
                level["gateway"]["requests_per_s"], level["direct"]["requests_per_s"]
            ),
            "gateway_over_direct_p99": ratio(level["gateway"]["p99_ms"], level["direct"]["p99_ms"]),
        }
    return out


def _targets(figures: dict[str, Any], gap_free: bool) -> list[Target]:
    c8 = figures["get_c8"]
    ratios = _ratios(figures)
    post = figures[f"post_c{WRITE_CONCURRENCY}"]
    targets = [
        Target("GET by id direct, c=8, req/s", c8["direct"]["requests_per_s"], 1500, True),
        Target(
            "GET by id direct / raw stack, c=8", ratios["get_c8"]["direct_over_raw_requests_per_s"], 0.3, True
        ),
        Target("GET by id direct, c=8, p99", c8["direct"]["p99_ms"], 10, False, " ms"),
    ]
    for c in (8, 32):
        targets += [
            Target(
                f"gateway / direct req/s, c={c}",
                ratios[f"get_c{c}"]["gateway_over_direct_requests_per_s"],
                0.8,
                True,
            ),
            Target(
                f"gateway / direct p99, c={c}", ratios[f"get_c{c}"]["gateway_over_direct_p99"], 1.3, False
            ),
        ]
    targets += [
        Target(f"POST through the gateway, c={WRITE_CONCURRENCY}, req/s", post["requests_per_s"], 250, True),
        Target(f"POST through the gateway, c={WRITE_CONCURRENCY}, p99", post["p99_ms"], 200, False, " ms"),
        Target("index serials gap-free after the writes", 1.0 if gap_free else 0.0, 1, True),
        Target("failed requests (non-2xx or socket errors)", _errors(figures), 0, False),
    ]
    return targets


def _errors(figures: dict[str, Any]) -> float:
    """Every failed request of the run: a figure measured on refusals would mean nothing."""
    reads = sum(
        level[side]["errors"] for key, level in figures.items() if key.startswith("get_") for side in SIDES
    )
    return float(reads + figures[f"post_c{WRITE_CONCURRENCY}"]["errors"])


def _document_template() -> str:
    body = new_document()
    body["document_number"] = "湖政办发〔2026〕{n}号"
    return json.dumps(body, ensure_ascii=False)


async def _index_serials(cluster: BenchCluster) -> list[int]:
    conn = await cluster.connect("xn_disclosure")
    try:
        rows = await conn.fetch(
            "SELECT index_serial FROM documents WHERE index_year = (SELECT max(index_year) FROM documents) "
            "ORDER BY index_serial"
        )
    finally:
        await conn.close()
    return [r["index_serial"] for r in rows]
