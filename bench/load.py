"""A small asyncio HTTP load generator: closed loop, fixed concurrency, fixed duration."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import httpx


@dataclass
class LoadRun:
    concurrency: int
    duration_s: float = 0.0
    latencies_s: list[float] = field(default_factory=list)
    errors: int = 0
    first_error: str | None = None

    @property
    def requests_per_s(self) -> float:
        return len(self.latencies_s) / self.duration_s if self.duration_s > 0 else 0.0


def client(base_url: str, concurrency: int) -> httpx.AsyncClient:
    """One keep-alive connection per worker, no more: both sides of a comparison get the same pool."""
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    return httpx.AsyncClient(base_url=base_url, limits=limits, timeout=30)


async def closed_loop(
    base_url: str,
    path: str,
    *,
    concurrency: int,
    duration_s: float,
    headers: dict[str, str] | None = None,
    warmup_s: float = 1.0,
) -> LoadRun:
    """``concurrency`` workers each send the next GET as soon as the previous answer arrived."""
    run = LoadRun(concurrency)
    async with client(base_url, concurrency) as http:
        for phase_s, record in ((warmup_s, False), (duration_s, True)):
            stop_at = time.perf_counter() + phase_s

            async def worker(stop_at: float = stop_at, record: bool = record) -> None:
                while time.perf_counter() < stop_at:
                    t0 = time.perf_counter()
                    try:
                        response = await http.get(path, headers=headers)
                        await response.aread()
                        ok = response.status_code == 200
                        error = None if ok else f"HTTP {response.status_code}: {response.text[:200]}"
                    except httpx.HTTPError as exc:
                        ok, error = False, repr(exc)
                    elapsed = time.perf_counter() - t0
                    if not record:
                        continue
                    if ok:
                        run.latencies_s.append(elapsed)
                    else:
                        run.errors += 1
                        run.first_error = run.first_error or error

            started = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(concurrency)))
            if record:
                run.duration_s = time.perf_counter() - started
    return run


async def sequential(
    base_url: str, path: str, *, count: int, headers: dict[str, str] | None = None, warmup: int = 5
) -> list[float]:
    """``count`` GETs one after the other on one keep-alive connection; latencies in seconds."""
    latencies: list[float] = []
    async with client(base_url, 1) as http:
        for n in range(warmup + count):
            t0 = time.perf_counter()
            response = await http.get(path, headers=headers)
            elapsed = time.perf_counter() - t0
            if response.status_code != 200:
                raise RuntimeError(
                    f"GET {base_url}{path}: HTTP {response.status_code}: {response.text[:300]}"
                )
            if n >= warmup:
                latencies.append(elapsed)
    return latencies
