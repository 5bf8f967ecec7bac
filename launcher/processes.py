"""Service processes: each service as its own uvicorn process, started and stopped on command.

Used by ``make up`` and by the end-to-end and resilience tests, which need to kill and restart
a single service for real.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


class ServiceProcess:
    def __init__(self, service: str, port: int, env: dict[str, str], log_dir: Path) -> None:
        self.service = service
        self.port = port
        self.env = env
        self.log_path = log_dir / f"{service}.log"
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def start(self, extra_env: dict[str, str] | None = None) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, **self.env, **(extra_env or {})}
        with self.log_path.open("ab") as log:
            self._proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    f"services.{self.service}.app:create_app",
                    "--factory",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                    "--no-access-log",
                    # The gateway reads X-Forwarded-For itself, from XN_GATEWAY_TRUSTED_PROXIES only.
                    "--no-proxy-headers",
                    "--log-level",
                    "warning",
                ],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            if self._proc is not None and self._proc.poll() is not None:
                raise RuntimeError(f"{self.service} exited with {self._proc.returncode}:\n{self.log_tail()}")
            try:
                response = httpx.get(f"{self.url}/readyz", timeout=5)
                if response.status_code == 200:
                    return
                last = response.text
            except httpx.HTTPError as exc:
                last = repr(exc)
            time.sleep(0.3)
        raise TimeoutError(f"{self.service} not ready within {timeout}s ({last}):\n{self.log_tail()}")

    def exited(self, timeout: float) -> int | None:
        if self._proc is None:
            return None
        try:
            return self._proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, timeout: float = 20) -> None:
        if self._proc is None or self._proc.poll() is not None:
            return
        os.killpg(self._proc.pid, signal.SIGTERM)
        try:
            self._proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            os.killpg(self._proc.pid, signal.SIGKILL)
            self._proc.wait(10)

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log)"


def register_client(
    env: dict[str, str],
    client_id: str,
    roles: str,
    department: str,
    *,
    name: str | None = None,
    secret: str | None = None,
) -> None:
    """Register an API client in the gateway database named by ``env`` (``services.gateway.cli
    add-client``, as an operator would); the secret defaults to ``<client_id>-secret``."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "services.gateway.cli",
            "add-client",
            "--id",
            client_id,
            "--name",
            name or client_id,
            "--roles",
            roles,
            "--department",
            department,
            "--secret",
            secret or f"{client_id}-secret",
        ],
        cwd=ROOT,
        env={**os.environ, **env},
        check=True,
        capture_output=True,
    )
