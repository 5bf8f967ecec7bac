"""1. Gateway overhead: GET one document by id, direct to disclosure and through the gateway.

Closed loop at fixed concurrency levels for a fixed duration each, one keep-alive connection per
worker on both sides; the same bearer token (the service checks it either way, the gateway checks
it once more). Direct and gateway alternate per level so drift on a shared machine hits both.
"""

from __future__ import annotations

import httpx

from .cluster import BenchCluster
from .common import register_document
from .load import LoadRun, closed_loop
from .stats import BenchResult, CpuMeter, fmt_ratio, latency_summary, ratio, say

NAME = "gateway_overhead"
ROUNDS = 4


async def run(cluster: BenchCluster, *, quick: bool) -> BenchResult:
    levels = [1, 8, 32]
    slice_s = 1.0 if quick else 3.0
    duration = ROUNDS * slice_s
    headers = await cluster.token()
    async with httpx.AsyncClient(base_url=cluster.url("disclosure"), timeout=30) as http:
        doc = await register_document(http, headers)
    direct_path = f"/v1/documents/{doc['id']}"
    gateway_path = f"/api/v1/disclosure/documents/{doc['id']}"
    rows: list[list[object]] = []
    figures: dict[str, object] = {}
    ratios: dict[str, object] = {}
    with CpuMeter() as cpu:
        for c in levels:
            say(
                f"{NAME}: concurrency {c}: {ROUNDS} rounds of {slice_s:.0f} s direct "
                f"and {slice_s:.0f} s gateway"
            )
            direct, gateway = LoadRun(c), LoadRun(c)
            for n in range(ROUNDS):
                # Alternate which side goes first, so drift on a shared machine hits both alike.
                sides = [("direct", direct), ("gateway", gateway)]
                for label, total in sides if n % 2 == 0 else sides[::-1]:
                    base, path = (
                        (cluster.url("disclosure"), direct_path)
                        if label == "direct"
                        else (cluster.gateway, gateway_path)
                    )
                    part = await closed_loop(
                        base, path, concurrency=c, duration_s=slice_s, headers=headers, warmup_s=0.5
                    )
                    total.latencies_s += part.latencies_s
                    total.duration_s += part.duration_s
                    total.errors += part.errors
                    total.first_error = total.first_error or part.first_error
            for label, r in (("direct", direct), ("gateway", gateway)):
                if not r.latencies_s:
                    raise RuntimeError(f"{NAME}: no successful request {label} at {c}: {r.first_error}")
            d, g = latency_summary(direct.latencies_s), latency_summary(gateway.latencies_s)
            d_rps, g_rps = direct.requests_per_s, gateway.requests_per_s
            level = {
                "p50_ms": ratio(g["p50_ms"], d["p50_ms"]),
                "p99_ms": ratio(g["p99_ms"], d["p99_ms"]),
                "requests_per_s": ratio(g_rps, d_rps),
            }
            figures[f"c{c}"] = {
                "direct": {**d, "requests_per_s": round(d_rps, 1), "errors": direct.errors},
                "gateway": {**g, "requests_per_s": round(g_rps, 1), "errors": gateway.errors},
            }
            ratios[f"c{c}_gateway_over_direct"] = level
            rows.append(
                [
                    c,
                    f"{d_rps:.0f}",
                    f"{g_rps:.0f}",
                    fmt_ratio(level["requests_per_s"]),
                    f"{d['p50_ms']:.2f}",
                    f"{g['p50_ms']:.2f}",
                    fmt_ratio(level["p50_ms"]),
                    f"{d['p99_ms']:.2f}",
                    f"{g['p99_ms']:.2f}",
                    fmt_ratio(level["p99_ms"]),
                    direct.errors + gateway.errors,
                ]
            )
    return BenchResult(
        name=NAME,
        title="GET one document by id, direct to disclosure vs through the gateway",
        headers=[
            "conc",
            "direct req/s",
            "gw req/s",
            "gw/direct",
            "direct p50 ms",
            "gw p50 ms",
            "gw/direct",
            "direct p99 ms",
            "gw p99 ms",
            "gw/direct",
            "errors",
        ],
        rows=rows,
        notes=[
            f"closed loop, {duration:.0f} s per side and level in {ROUNDS} alternating slices of "
            f"{slice_s:.0f} s "
            "(each after 0.5 s warm-up); one keep-alive connection per worker; the same office bearer token "
            "on both sides",
            f"direct: GET {{disclosure}}{direct_path}; gateway: GET {{gateway}}{gateway_path}",
            "the load generator shares the machine with the services, so absolute req/s are a floor",
        ],
        figures=figures,
        ratios=ratios,
        parameters={
            "concurrency_levels": levels,
            "duration_s_per_side": duration,
            "rounds": ROUNDS,
            "slice_s": slice_s,
            "warmup_s_per_slice": 0.5,
        },
        load_generator_cpu=cpu.as_json(),
    )
