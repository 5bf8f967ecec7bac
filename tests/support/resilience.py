"""Resilience: a cluster of its own that the tests may break for real.

Unlike the end-to-end cluster (shared, never broken), this one owns its PostgreSQL server and
its Kafka broker, so a test can stop and restart them on the same port and data folder, and kill
a service process with SIGKILL. Five uvicorn processes on ``XN_BUS=kafka``, as in ``make up``.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from launcher.processes import ServiceProcess, register_client
from launcher.topology import SERVICES
from shared.clock import utc_now
from shared.deadlines import local_date
from tests.support.clusters import Services, kafka_env, start_all, stop_all
from tests.support.infra import unavailable

SHANGHAI = ZoneInfo("Asia/Shanghai")
PROBLEM_JSON = "application/problem+json"
OFFICE = "resilience-office"

# Short webhook retries so a receiver outage is a matter of seconds, not hours; enough of them
# that a delivery is never given up while the test keeps its receiver down.
WEBHOOK_RETRY_SCHEDULE = str([0, 0.5, 0.5, 1, 1] + [2] * 25)  # about 50 s of retrying in all


@dataclass
class ResilientCluster(Services):
    postgres: Any  # shared.embedded_pg.EmbeddedPostgres
    broker: Any  # devtools.kafka_broker.KafkaBroker

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


def _own_postgres(root: Path) -> Any:
    try:
        from shared.embedded_pg import EmbeddedPostgres

        postgres = EmbeddedPostgres(root / "postgres")
        postgres.start(timeout=60)
    except Exception as exc:
        unavailable("PostgreSQL (embedded, restartable)", repr(exc))
    return postgres


def _own_broker(root: Path, postgres: Any) -> Any:
    try:
        from devtools.kafka_broker import KafkaBroker

        broker = KafkaBroker(root / "kafka")
        broker.start(timeout=120)
    except Exception as exc:
        postgres.stop("immediate")
        unavailable("Apache Kafka (own broker, restartable)", repr(exc))
    return broker


@contextmanager
def resilient_cluster_in(root: Path) -> Iterator[ResilientCluster]:
    """Its own PostgreSQL and broker under ``root``, the five services on them; all stopped after."""
    postgres = _own_postgres(root)
    broker = _own_broker(root, postgres)
    processes: dict[str, ServiceProcess] = {}
    try:
        names = {s: f"res_{s}" for s in SERVICES}
        asyncio.run(postgres.create_databases(*names.values()))
        ports, env = kafka_env(
            {s: postgres.url_for(n) for s, n in names.items()},
            broker.bootstrap,
            f"res{uuid.uuid4().hex[:6]}.",
            # One client writes thousands of times here; the rate limit is not under test.
            XN_GATEWAY_RATE_LIMIT_REQUESTS="1000000",
            XN_GATEWAY_WEBHOOK_RETRY_SCHEDULE_SECONDS=WEBHOOK_RETRY_SCHEDULE,
            XN_GATEWAY_WEBHOOK_RETRY_JITTER="0",
            XN_GATEWAY_WEBHOOK_POLL_SECONDS="0.2",
        )
        processes = start_all(ports, env, root / "service-logs", timeout=120)
        register_client(env, OFFICE, "office", "office")
        yield ResilientCluster(processes, env, postgres, broker)
    finally:
        stop_all(processes)
        broker.stop()
        postgres.stop("immediate")


def today() -> str:
    return local_date(utc_now()).isoformat()


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
