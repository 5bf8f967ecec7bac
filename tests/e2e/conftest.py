"""End-to-end: the five services as separate processes on real Kafka and PostgreSQL."""

from __future__ import annotations

import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from launcher.processes import ServiceProcess, register_client
from launcher.topology import SERVICES, service_env
from tests.support.infra import KafkaSource, PostgresSource

pytestmark = [pytest.mark.e2e, pytest.mark.kafka]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Cluster:
    processes: dict[str, ServiceProcess]
    env: dict[str, str]
    topic_prefix: str
    kafka: KafkaSource

    @property
    def gateway(self) -> str:
        return self.processes["gateway"].url

    def __getitem__(self, service: str) -> ServiceProcess:
        return self.processes[service]


@contextmanager
def running_cluster(
    kafka: KafkaSource, urls: dict[str, str], log_dir: Path, extra_env: dict[str, str] | None = None
) -> Iterator[Cluster]:
    """The five services as processes on their own databases and topic prefix, stopped after."""
    prefix = f"e2e{uuid.uuid4().hex[:6]}."
    ports = {s: free_port() for s in SERVICES}
    env = service_env(database_urls=urls, ports=ports)
    env.update(
        {
            "XN_ENVIRONMENT": "test",
            "XN_BUS": "kafka",
            "XN_KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap,
            "XN_TOPIC_PREFIX": prefix,
            "XN_RELAY_POLL_SECONDS": "0.2",
            "XN_JWT_SECRET": f"e2e-{uuid.uuid4().hex}",
            **(extra_env or {}),
        }
    )
    processes = {s: ServiceProcess(s, ports[s], env, log_dir) for s in SERVICES}
    for proc in processes.values():
        proc.start()
    try:
        for proc in processes.values():
            proc.wait_ready(timeout=90)
        yield Cluster(processes, env, prefix, kafka)
    finally:
        for proc in processes.values():
            proc.stop()


@pytest.fixture(scope="session")
async def cluster(
    kafka: KafkaSource, postgres: PostgresSource, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Cluster]:
    urls = {s: await postgres.new_database(f"e2e_{s}") for s in SERVICES}
    with running_cluster(kafka, urls, tmp_path_factory.mktemp("service-logs")) as started:
        _register_client(started.env, "e2e-office", "office", "office")
        _register_client(started.env, "e2e-jtj", "department", "jtj")
        yield started


def _register_client(env: dict[str, str], client_id: str, roles: str, department: str) -> None:
    register_client(env, client_id, roles, department)


@pytest.fixture
def http(cluster: Cluster) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=cluster.gateway, timeout=30) as client:
        yield client


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
