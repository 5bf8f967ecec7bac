"""Latency statistics, the load generator's own CPU use, plain-text tables and the JSON results."""

from __future__ import annotations

import json
import math
import os
import platform
import resource
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shared.clock import utc_now

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def percentile(values: Sequence[float], p: float) -> float:
    """The ``p``-th percentile (0–100) by linear interpolation between closest ranks."""
    if not values:
        raise ValueError("percentile of an empty sample")
    if not 0 <= p <= 100:
        raise ValueError(f"percentile {p} outside 0..100")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p / 100
    low, high = math.floor(rank), math.ceil(rank)
    if low == high:
        return ordered[low]
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def latency_summary(seconds: Sequence[float]) -> dict[str, float]:
    """p50, p99, mean and max in milliseconds, and the sample size."""
    ms = [s * 1000 for s in seconds]
    return {
        "n": len(ms),
        "p50_ms": round(percentile(ms, 50), 3),
        "p99_ms": round(percentile(ms, 99), 3),
        "mean_ms": round(sum(ms) / len(ms), 3),
        "max_ms": round(max(ms), 3),
    }


def ratio(numerator: float, denominator: float) -> float | None:
    return round(numerator / denominator, 3) if denominator > 0 else None


def fmt_ratio(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}x"


def cores() -> int:
    return os.cpu_count() or 1


@dataclass
class CpuMeter:
    """CPU time used by this process (the load generator) over a span of wall-clock time."""

    wall_start: float = 0.0
    cpu_start: float = 0.0
    wall_s: float = 0.0
    cpu_s: float = 0.0

    @staticmethod
    def _cpu() -> float:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime

    def __enter__(self) -> CpuMeter:
        self.wall_start, self.cpu_start = time.perf_counter(), self._cpu()
        return self

    def __exit__(self, *_: object) -> None:
        self.wall_s = time.perf_counter() - self.wall_start
        self.cpu_s = self._cpu() - self.cpu_start

    @property
    def percent_of_one_core(self) -> float:
        return round(100 * self.cpu_s / self.wall_s, 1) if self.wall_s > 0 else 0.0

    def as_json(self) -> dict[str, float]:
        return {
            "wall_s": round(self.wall_s, 3),
            "cpu_s": round(self.cpu_s, 3),
            "percent_of_one_core": self.percent_of_one_core,
        }


def render_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = [[str(h) for h in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(_width(r[i]) for r in cells) for i in range(len(headers))]
    lines = []
    for n, row in enumerate(cells):
        lines.append("  ".join(_pad(c, widths[i], right=i > 0) for i, c in enumerate(row)).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _width(text: str) -> int:
    # CJK characters take two columns in a terminal.
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in text)


def _pad(text: str, width: int, *, right: bool) -> str:
    gap = " " * (width - _width(text))
    return gap + text if right else text + gap


@dataclass(frozen=True)
class Target:
    """One performance target of the issue: a measured figure against its bound."""

    what: str
    measured: float | None
    bound: float
    at_least: bool  # True: measured >= bound is met; False: measured <= bound is met
    unit: str = ""

    @property
    def met(self) -> bool:
        if self.measured is None:
            return False
        return self.measured >= self.bound if self.at_least else self.measured <= self.bound

    def row(self) -> list[str]:
        shown = "n/a" if self.measured is None else f"{self.measured:g}{self.unit}"
        return [
            self.what,
            shown,
            f"{'≥' if self.at_least else '≤'} {self.bound:g}{self.unit}",
            "✓" if self.met else "✗",
        ]

    def as_json(self) -> dict[str, Any]:
        return {
            "what": self.what,
            "measured": self.measured,
            "bound": self.bound,
            "at_least": self.at_least,
            "unit": self.unit,
            "met": self.met,
        }


@dataclass
class BenchResult:
    """One benchmark's table, its notes and everything written to its JSON file."""

    name: str
    title: str
    headers: list[str]
    rows: list[list[Any]]
    notes: list[str] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)
    ratios: dict[str, Any] = field(default_factory=dict)
    parameters: dict[str, Any] = field(default_factory=dict)
    load_generator_cpu: dict[str, float] = field(default_factory=dict)
    duration_s: float = 0.0
    # Set when the measured code runs inside the bench process (its CPU is then counted here).
    in_process: bool = False
    targets: list[Target] = field(default_factory=list)

    @property
    def in_process_note(self) -> str:
        return " and the service code it runs in-process" if self.in_process else ""

    def text(self) -> str:
        out = [f"== {self.name}: {self.title}", render_table(self.headers, self.rows)]
        out += [f"  * {n}" for n in self.notes]
        if self.targets:
            out += ["", render_table(["target", "measured", "bound", "met"], [t.row() for t in self.targets])]
        if self.load_generator_cpu:
            cpu = self.load_generator_cpu
            out.append(
                f"  * bench process (load generator{self.in_process_note}): {cpu['cpu_s']:.1f} s CPU over "
                f"{cpu['wall_s']:.1f} s "
                f"= {cpu['percent_of_one_core']:.0f}% of one core; benchmark took {self.duration_s:.0f} s"
            )
        return "\n".join(out)

    def as_json(self, *, quick: bool) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "timestamp": utc_now().isoformat(timespec="seconds"),
            "machine": {
                "cores": cores(),
                "platform": platform.platform(),
                "python": platform.python_version(),
            },
            "quick": quick,
            "parameters": self.parameters,
            "figures": self.figures,
            "ratios": self.ratios,
            "load_generator_cpu": self.load_generator_cpu,
            "service_code_in_bench_process": self.in_process,
            "duration_s": round(self.duration_s, 1),
            "table": {"headers": self.headers, "rows": self.rows},
            "targets": [t.as_json() for t in self.targets],
            "notes": self.notes,
        }


def write_result(result: BenchResult, *, quick: bool, directory: Path = RESULTS_DIR) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{result.name}{'.quick' if quick else ''}.json"
    path.write_text(json.dumps(result.as_json(quick=quick), ensure_ascii=False, indent=2) + "\n")
    return path


def say(message: str) -> None:
    """A progress line (the bench reports on stdout; ``print`` is banned by the style guide)."""
    sys.stdout.write(f"[bench {time.strftime('%H:%M:%S')}] {message}\n")
    sys.stdout.flush()
