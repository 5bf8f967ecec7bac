"""``python -m bench [--only NAME ...] [--quick]``: start a cluster, run the benchmarks, tear down."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
import time
import traceback
from collections.abc import Awaitable, Callable
from types import FrameType

from . import deadline_sweep, document_search, encrypted_tally, event_latency, gateway_overhead, tally
from .cluster import BenchCluster
from .stats import BenchResult, CpuMeter, cores, say, write_result

Runner = Callable[..., Awaitable[BenchResult]]

BENCHMARKS: dict[str, Runner] = {
    gateway_overhead.NAME: gateway_overhead.run,
    event_latency.NAME: event_latency.run,
    deadline_sweep.NAME: deadline_sweep.run,
    tally.NAME: tally.run,
    encrypted_tally.NAME: encrypted_tally.run,
    document_search.NAME: document_search.run,
}


async def _run_all(cluster: BenchCluster, names: list[str], quick: bool) -> list[BenchResult]:
    results: list[BenchResult] = []
    failed: list[str] = []
    for name in names:
        say(f"--- {name}")
        started = time.perf_counter()
        try:
            result = await BENCHMARKS[name](cluster, quick=quick)
        except Exception:
            failed.append(name)
            sys.stdout.write(f"benchmark {name} FAILED:\n{traceback.format_exc()}\n")
            continue
        result.duration_s = time.perf_counter() - started
        path = write_result(result, quick=quick)
        sys.stdout.write("\n" + result.text() + f"\n  -> {path.relative_to(path.parents[2])}\n\n")
        sys.stdout.flush()
        results.append(result)
    if failed:
        raise SystemExit(f"benchmarks failed: {', '.join(failed)}")
    return results


def _terminate(signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--only", action="append", choices=list(BENCHMARKS), help="run only this benchmark")
    parser.add_argument("--quick", action="store_true", help="small sizes and short runs, for iterating")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    names = args.only or list(BENCHMARKS)
    signal.signal(signal.SIGTERM, _terminate)
    say(f"machine: {cores()} cores; benchmarks: {', '.join(names)}{' (quick sizes)' if args.quick else ''}")
    cluster = BenchCluster()
    with CpuMeter() as total:
        try:
            cluster.start()
            results = asyncio.run(_run_all(cluster, names, args.quick))
        finally:
            cluster.stop()
    say(
        f"done: {len(results)} benchmark(s) in {total.wall_s:.0f} s on {cores()} cores; the bench process "
        f"used {total.cpu_s:.0f} s CPU ({total.percent_of_one_core:.0f}% of one core)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
