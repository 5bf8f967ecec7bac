"""The external HTTP load generator: wrk (Debian's package, unpacked by ``make wrk``).

A Python client on the same two cores costs as much CPU as the server it measures, so the HTTP
benchmarks drive load with wrk, pinned to the last core when the machine has more than one, and
report the CPU share wrk itself used (read from the kernel's accounting of the child process).
A Lua ``done`` hook prints the exact figures as one JSON line, so nothing is parsed from wrk's
human-readable report.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WRK_DIR = ROOT / ".tools" / "wrk"
WRK = WRK_DIR / "usr" / "bin" / "wrk"
LIBS = WRK_DIR / "usr" / "lib" / "x86_64-linux-gnu"

_DONE = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "connect": %d, "read": %d, "write": %d, "status": %d, '
    .. '"timeout": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
"""

_POST = """
local counter = %d
local body_template = %s
request = function()
  counter = counter + 1
  local body = string.gsub(body_template, "{n}", string.format("%%d", counter))
  return wrk.format("POST", nil, nil, body)
end
"""


@dataclass(frozen=True)
class WrkRun:
    requests: int
    duration_s: float
    errors: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    cpu_s: float
    wall_s: float

    @property
    def requests_per_s(self) -> float:
        return self.requests / self.duration_s if self.duration_s else 0.0

    @property
    def cpu_percent_of_one_core(self) -> float:
        return round(100 * self.cpu_s / self.wall_s, 1) if self.wall_s else 0.0

    def as_json(self) -> dict[str, float]:
        return {
            "requests": self.requests,
            "requests_per_s": round(self.requests_per_s, 1),
            "errors": self.errors,
            "p50_ms": self.p50_ms,
            "p90_ms": self.p90_ms,
            "p99_ms": self.p99_ms,
            "max_ms": self.max_ms,
            "wrk_cpu_percent_of_one_core": self.cpu_percent_of_one_core,
        }


def available() -> bool:
    return WRK.exists()


def pinned_core() -> int | None:
    """The core wrk runs on: the last one, when there is more than one (the servers keep the rest)."""
    count = os.cpu_count() or 1
    return count - 1 if count > 1 and shutil.which("taskset") else None


def run(
    url: str,
    *,
    connections: int,
    duration_s: float,
    headers: dict[str, str] | None = None,
    post_body: str | None = None,
    first_number: int = 0,
) -> WrkRun:
    """One wrk run (one thread, ``connections`` keep-alive connections) against ``url``.

    ``post_body`` makes every request a POST of that JSON, with ``{n}`` replaced by a counter
    starting after ``first_number`` so each request creates a distinct resource.
    """
    if not available():
        raise RuntimeError(f"wrk is not installed at {WRK}: run `make wrk`")
    script = _DONE + (
        _POST % (first_number, json.dumps(post_body, ensure_ascii=False)) if post_body is not None else ""
    )
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    command = [
        str(WRK),
        "-t1",
        f"-c{connections}",
        f"-d{duration_s:g}s",
        "--timeout",
        "30s",
        "-s",
        handle.name,
    ]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    if post_body is not None:
        command += ["-H", "Content-Type: application/json"]
    command.append(url)
    core = pinned_core()
    if core is not None:
        command = ["taskset", "-c", str(core), *command]
    env = {**os.environ, "LD_LIBRARY_PATH": str(LIBS)}
    try:
        started = time.perf_counter()
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, text=True)
        assert proc.stdout is not None
        out = proc.stdout.read()  # until wrk exits
        # wait4, not wait: the kernel's account of this one child's CPU time.
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - started
    finally:
        Path(handle.name).unlink(missing_ok=True)
    if proc.returncode != 0:
        raise RuntimeError(f"wrk failed ({proc.returncode}): {out.strip()}")
    figures = json.loads(out.strip().splitlines()[-1])
    return WrkRun(
        requests=figures["requests"],
        duration_s=figures["duration_us"] / 1e6,
        errors=sum(figures[k] for k in ("connect", "read", "write", "status", "timeout")),
        p50_ms=figures["p50_us"] / 1000,
        p90_ms=figures["p90_us"] / 1000,
        p99_ms=figures["p99_us"] / 1000,
        max_ms=figures["max_us"] / 1000,
        cpu_s=usage.ru_utime + usage.ru_stime,
        wall_s=wall,
    )
