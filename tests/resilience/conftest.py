"""Resilience: a cluster of our own that the tests may break for real.

Unlike the end-to-end cluster (shared, never broken), this one owns its PostgreSQL server and
its Kafka broker, so a test can stop and restart them on the same port and data folder, and kill
a service process with SIGKILL. Five uvicorn processes on ``XN_BUS=kafka``, as in ``make up``.
The cluster is started once for the resilience tests; each test leaves it running as it found it.
With ``CI=true`` missing infrastructure fails the run instead of skipping.
"""

from __future__ import annotations

import asyncio
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import httpx
import pytest

from launcher.processes import ServiceProcess, register_client
from launcher.topology import SERVICES, service_env
from tests.support.infra import unavailable

pytestmark = [pytest.mark.e2e, pytest.mark.kafka]

SHANGHAI = ZoneInfo("Asia/Shanghai")
PROBLEM_JSON = "application/problem+json"
OFFICE = "resilience-office"
T = TypeVar("T")

# Short webhook retries so a receiver outage is a matter of seconds, not hours; enough of them
# that a delivery is never given up while the test keeps its receiver down.
WEBHOOK_RETRY_SCHEDULE = str([0, 0.5, 0.5, 1, 1] + [2] * 25)  # about 50 s of retrying in all


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Cluster:
    processes: dict[str, ServiceProcess]
    env: dict[str, str]
    postgres: Any  # shared.embedded_pg.EmbeddedPostgres
    broker: Any  # devtools.kafka_broker.KafkaBroker

    @property
    def gateway(self) -> str:
        return self.processes["gateway"].url

    def __getitem__(self, service: str) -> ServiceProcess:
        return self.processes[service]

    def ensure_running(self) -> None:
        """Bring back whatever an earlier (failed) test left down."""
        if not self.postgres._running():
            self.postgres.start(timeout=60)
        if not self.broker.is_running:
            self.broker.start(timeout=90)
        for process in self.processes.values():
            if process.pid is None or process.exited(timeout=0) is not None:
                process.start()
        for process in self.processes.values():
            process.wait_ready(timeout=90)


@pytest.fixture(scope="session")
def resilient_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    root: Path = tmp_path_factory.mktemp("resilience")
    try:
        from shared.embedded_pg import EmbeddedPostgres

        postgres = EmbeddedPostgres(root / "postgres")
        postgres.start(timeout=60)
    except Exception as exc:
        unavailable("PostgreSQL (embedded, restartable)", repr(exc))
    try:
        from devtools.kafka_broker import KafkaBroker

        broker = KafkaBroker(root / "kafka")
        broker.start(timeout=120)
    except Exception as exc:
        postgres.stop("immediate")
        unavailable("Apache Kafka (own broker, restartable)", repr(exc))
    processes: dict[str, ServiceProcess] = {}
    try:
        names = {s: f"res_{s}" for s in SERVICES}
        asyncio.run(postgres.create_databases(*names.values()))
        ports = {s: free_port() for s in SERVICES}
        env = service_env(database_urls={s: postgres.url_for(n) for s, n in names.items()}, ports=ports)
        env.update(
            {
                "XN_ENVIRONMENT": "test",
                "XN_BUS": "kafka",
                "XN_KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap,
                "XN_TOPIC_PREFIX": f"res{uuid.uuid4().hex[:6]}.",
                "XN_RELAY_POLL_SECONDS": "0.2",
                "XN_JWT_SECRET": f"resilience-{uuid.uuid4().hex}",
                # One client writes thousands of times here; the rate limit is not under test.
                "XN_GATEWAY_RATE_LIMIT_REQUESTS": "1000000",
                "XN_GATEWAY_WEBHOOK_RETRY_SCHEDULE_SECONDS": WEBHOOK_RETRY_SCHEDULE,
                "XN_GATEWAY_WEBHOOK_RETRY_JITTER": "0",
                "XN_GATEWAY_WEBHOOK_POLL_SECONDS": "0.2",
            }
        )
        log_dir = root / "service-logs"
        processes = {s: ServiceProcess(s, ports[s], env, log_dir) for s in SERVICES}
        for process in processes.values():
            process.start()
        for process in processes.values():
            process.wait_ready(timeout=120)
        register_client(env, OFFICE, "office", "office")
        yield Cluster(processes, env, postgres, broker)
    finally:
        for process in processes.values():
            process.stop()
        broker.stop()
        postgres.stop("immediate")


@pytest.fixture
def cluster(resilient_cluster: Cluster) -> Cluster:
    resilient_cluster.ensure_running()
    return resilient_cluster


@pytest.fixture
def http(cluster: Cluster) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=cluster.gateway, timeout=30) as client:
        yield client


@pytest.fixture
def office(http: httpx.Client) -> dict[str, str]:
    return token_for(http, OFFICE)


def token_for(http: httpx.Client, client_id: str) -> dict[str, str]:
    r = http.post(
        "/api/v1/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": f"{client_id}-secret",
        },
    )
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def wait_for(check: Callable[[], T], *, timeout: float, what: str, interval: float = 0.2) -> T:
    """Poll ``check`` until it returns something truthy; fail with ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while not (result := check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not reached within {timeout:g} s")
        time.sleep(interval)
    return result


def today() -> str:
    return datetime.now(SHANGHAI).date().isoformat()


def document(prefix: str, serial: int, department: str) -> dict[str, str]:
    """A document formed today (its clock still runs, so no sweeper touches it during a test)."""
    return {
        "document_number": f"{prefix}〔2019〕{serial}号",
        "title": "关于韧性测试的通知",
        "drafting_department": department,
        "formed_on": today(),
    }


def is_problem(response: httpx.Response, *statuses: int) -> bool:
    return response.status_code in statuses and response.headers.get("content-type", "").startswith(
        PROBLEM_JSON
    )


def documents_of(http: httpx.Client, headers: dict[str, str], department: str) -> list[dict[str, Any]]:
    """Every document the disclosure service lists for ``department`` (all pages)."""
    items: list[dict[str, Any]] = []
    params: dict[str, Any] = {"department": department, "limit": 200}
    while True:
        r = http.get("/api/v1/disclosure/documents", params=params, headers=headers)
        assert r.status_code == 200, r.text
        page = r.json()
        items.extend(page["items"])
        if not page.get("next_cursor"):
            return items
        params["cursor"] = page["next_cursor"]


def fact_counts(http: httpx.Client, headers: dict[str, str], department: str) -> dict[str, int]:
    r = http.get(f"/api/v1/evaluation/departments/{department}/facts", headers=headers)
    assert r.status_code == 200, r.text
    counts: dict[str, int] = r.json()["counts"]
    return counts
