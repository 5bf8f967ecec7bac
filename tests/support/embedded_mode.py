"""`make run` as a user runs it: ``python -m launcher.embedded`` in a folder of its own, on free ports."""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from launcher.processes import ROOT

ANNOUNCED = "Press Ctrl-C to stop."


def _free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def free_ports() -> tuple[int, int]:
    """A free range of five ports for the services, and a free port for PostgreSQL."""
    for _ in range(50):
        base = random.randrange(20000, 30000, 10)
        if all(_free(base + i) for i in range(5)):
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                return base, int(s.getsockname()[1])
    raise RuntimeError("no free port range")


@dataclass
class Embedded:
    proc: subprocess.Popen[bytes]
    output: Path
    base: int

    @property
    def gateway(self) -> str:
        return f"http://127.0.0.1:{self.base}"

    @property
    def announcement(self) -> str:
        """What the command printed for its user: from the banner to the Ctrl-C line."""
        lines = self.output.read_text(errors="replace").splitlines()
        start = next(i for i, line in enumerate(lines) if "is running (embedded mode)" in line)
        end = next(i for i, line in enumerate(lines) if ANNOUNCED in line)
        return "\n".join(lines[start : end + 1])

    def token(self, client_id: str, secret: str) -> httpx.Response:
        return httpx.post(
            f"{self.gateway}/api/v1/oauth/token",
            data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
            timeout=30,
        )

    def stop(self) -> int:
        """Ctrl-C, as in a terminal; the exit code."""
        self.proc.send_signal(signal.SIGINT)
        return self.proc.wait(60)

    def kill(self) -> None:
        """``kill -9``: nothing of the launcher runs after this."""
        self.proc.kill()
        self.proc.wait(10)


def start_embedded(data_dir: Path, base: int, pg_port: int, **env: str) -> Embedded:
    """Start ``python -m launcher.embedded`` with only ``env`` of the XN_ settings; wait for its banner."""
    output = data_dir.parent / f"{data_dir.name}-{time.monotonic_ns()}.out"
    output.parent.mkdir(parents=True, exist_ok=True)
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("XN_")}
    settings = {"XN_DATA_DIR": str(data_dir), "XN_PORT": str(base), "XN_EMBEDDED_PG_PORT": str(pg_port)}
    with output.open("wb") as out:
        # A file, not a pipe: nobody reads a pipe after the banner, and a full one would block.
        proc = subprocess.Popen(
            [sys.executable, "-m", "launcher.embedded"],
            cwd=ROOT,
            env={**inherited, **settings, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    started = Embedded(proc, output, base)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if ANNOUNCED in output.read_text(errors="replace"):
            return started
        time.sleep(0.2)
    if proc.poll() is None:
        proc.kill()
    tail = "\n".join(output.read_text(errors="replace").splitlines()[-30:])
    raise AssertionError(f"the embedded mode did not print its banner (exit {proc.poll()}):\n{tail}")
