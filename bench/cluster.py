"""The bench's own local cluster: embedded PostgreSQL, a real Kafka broker, five service processes.

Everything lives in a fresh temporary directory on free ports, so the bench never touches a
running ``make up`` cluster or a test session, and :meth:`BenchCluster.stop` removes it all.
"""

from __future__ import annotations

import asyncio
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import suppress
from pathlib import Path

import asyncpg
import httpx

from devtools.kafka_broker import KafkaBroker
from launcher.processes import ServiceProcess, register_client
from launcher.topology import SERVICES, database_name, service_env
from shared.embedded_pg import EmbeddedPostgres, free_port

from .stats import say

TOPIC_PREFIX = "bench."
CLIENT_ID = "bench-office"
CLIENT_SECRET = f"{CLIENT_ID}-{secrets.token_hex(8)}"


class BenchCluster:
    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="xn-bench-"))
        self.pg = EmbeddedPostgres(self.root / "postgres")
        self.broker = KafkaBroker(self.root / "kafka")
        self.processes: dict[str, ServiceProcess] = {}
        self.raw_stack: subprocess.Popen[bytes] | None = None
        self.env: dict[str, str] = {}
        self.bootstrap = ""

    # -- lifecycle ----------------------------------------------------------------------------------

    def start(self) -> None:
        say(f"starting PostgreSQL and Kafka under {self.root}")
        self.pg.start()
        # Commit timestamps let event_latency start its clock at the write's real commit.
        asyncio.run(self._enable_commit_timestamps())
        self.pg.stop()
        self.pg.start()
        self.bootstrap = self.broker.start()
        asyncio.run(self.pg.create_databases(*(database_name(s) for s in SERVICES)))
        ports = {s: free_port() for s in SERVICES}
        self.env = service_env(
            database_urls={s: self.pg.url_for(database_name(s)) for s in SERVICES}, ports=ports
        )
        self.env.update(
            {
                "XN_ENVIRONMENT": "test",
                "XN_BUS": "kafka",
                "XN_KAFKA_BOOTSTRAP_SERVERS": self.bootstrap,
                "XN_TOPIC_PREFIX": TOPIC_PREFIX,
                "XN_JWT_SECRET": f"bench-{secrets.token_hex(24)}",
                # The gateway's per-client token bucket would turn a load test into a 429 test;
                # the limiter still runs on every request, it just never refuses.
                "XN_GATEWAY_RATE_LIMIT_REQUESTS": "1000000000",
            }
        )
        log_dir = self.root / "logs"
        for service in SERVICES:
            self.processes[service] = ServiceProcess(service, ports[service], self.env, log_dir)
        say("starting the five services: " + ", ".join(SERVICES))
        for proc in self.processes.values():
            proc.start()
        for proc in self.processes.values():
            proc.wait_ready(timeout=120)
        self._register_client()
        say(f"cluster ready: Kafka {self.bootstrap}, PostgreSQL 127.0.0.1:{self.pg.port}")

    def stop(self) -> None:
        if self.raw_stack is not None:
            self.raw_stack.kill()
            self.raw_stack.wait(10)
        for proc in self.processes.values():
            with suppress(Exception):
                proc.stop()
        with suppress(Exception):
            self.broker.stop()
        with suppress(Exception):
            self.pg.stop()
        shutil.rmtree(self.root, ignore_errors=True)
        say("cluster stopped and removed")

    async def _enable_commit_timestamps(self) -> None:
        conn = await self.connect("postgres")
        try:
            await conn.execute("ALTER SYSTEM SET track_commit_timestamp = on")
        finally:
            await conn.close()

    def _register_client(self) -> None:
        register_client(self.env, CLIENT_ID, "office", "office", name="bench", secret=CLIENT_SECRET)

    # -- access -------------------------------------------------------------------------------------

    @property
    def gateway(self) -> str:
        return self.processes["gateway"].url

    def url(self, service: str) -> str:
        return self.processes[service].url

    async def token(self) -> dict[str, str]:
        async with httpx.AsyncClient(base_url=self.gateway, timeout=30) as http:
            r = await http.post(
                "/api/v1/oauth/token",
                data={
                    "grant_type": "client_credentials",
                    "client_id": CLIENT_ID,
                    "client_secret": CLIENT_SECRET,
                },
            )
            r.raise_for_status()
            return {"Authorization": f"Bearer {r.json()['access_token']}"}

    async def connect(self, database: str) -> asyncpg.Connection:
        """A raw connection to one of the cluster's databases (``xn_<service>`` or a bench database)."""
        return await asyncpg.connect(
            host="127.0.0.1", port=self.pg.port, user="postgres", password=self.pg.password, database=database
        )

    def start_raw_stack(self) -> str:
        """The reference app (bench/raw_stack.py) on disclosure's database; returns its base URL."""
        port = free_port()
        dsn = (
            f"postgresql://postgres:{self.pg.password}@127.0.0.1:{self.pg.port}/{database_name('disclosure')}"
        )
        log = (self.root / "logs" / "raw_stack.log").open("ab")
        self.raw_stack = subprocess.Popen(
            [sys.executable, "-m", "bench.raw_stack", str(port), dsn], stdout=log, stderr=subprocess.STDOUT
        )
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with suppress(httpx.HTTPError):
                httpx.get(f"{url}/v1/documents/none", timeout=2)
                return url
            time.sleep(0.2)
        raise TimeoutError("the raw-stack reference app did not answer within 60 s")

    async def new_database(self, name: str) -> str:
        """A fresh database on the cluster's PostgreSQL; returns its SQLAlchemy URL."""
        conn = await self.connect("postgres")
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
        return self.pg.url_for(name)
