"""The five services as separate processes, as ``make up`` runs them, and what tests do with them.

The end-to-end tests share one cluster on the session's Kafka and PostgreSQL (``running_cluster``);
the resilience tests own theirs (``tests.support.resilience``). Both are driven through the
gateway with client-credentials tokens, and both read the evaluation service's department facts
to see that an event crossed.
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from launcher.processes import ServiceProcess, register_client
from launcher.topology import SERVICES, service_env
from tests.support.infra import KafkaSource


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Services:
    """Service processes by name and the environment they were started with."""

    processes: dict[str, ServiceProcess]
    env: dict[str, str]

    @property
    def gateway(self) -> str:
        return self.processes["gateway"].url

    def __getitem__(self, service: str) -> ServiceProcess:
        return self.processes[service]


@dataclass
class Cluster(Services):
    """The end-to-end cluster: its topics carry ``topic_prefix`` on the session's broker."""

    topic_prefix: str
    kafka: KafkaSource


def kafka_env(
    database_urls: dict[str, str], bootstrap: str, prefix: str, **extra: str
) -> tuple[dict[str, int], dict[str, str]]:
    """Free ports and the environment of the five services on Kafka, as a test deployment."""
    ports = {s: free_port() for s in SERVICES}
    env = service_env(database_urls=database_urls, ports=ports)
    env.update(
        {
            "XN_ENVIRONMENT": "test",
            "XN_BUS": "kafka",
            "XN_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "XN_TOPIC_PREFIX": prefix,
            "XN_RELAY_POLL_SECONDS": "0.2",
            "XN_JWT_SECRET": f"{prefix}{uuid.uuid4().hex}",
            **extra,
        }
    )
    return ports, env


def start_all(
    ports: dict[str, int], env: dict[str, str], log_dir: Path, timeout: float
) -> dict[str, ServiceProcess]:
    """Start every service, then wait until each is ready: they start side by side."""
    processes = {s: ServiceProcess(s, ports[s], env, log_dir) for s in SERVICES}
    try:
        for process in processes.values():
            process.start()
        for process in processes.values():
            process.wait_ready(timeout=timeout)
    except BaseException:
        stop_all(processes)
        raise
    return processes


def stop_all(processes: dict[str, ServiceProcess]) -> None:
    for process in processes.values():
        process.stop()


@contextmanager
def running_cluster(
    kafka: KafkaSource, urls: dict[str, str], log_dir: Path, extra_env: dict[str, str] | None = None
) -> Iterator[Cluster]:
    """The five services as processes on their own databases and topic prefix, stopped after."""
    prefix = f"e2e{uuid.uuid4().hex[:6]}."
    ports, env = kafka_env(urls, kafka.bootstrap, prefix, **(extra_env or {}))
    processes = start_all(ports, env, log_dir, timeout=90)
    try:
        yield Cluster(processes, env, prefix, kafka)
    finally:
        stop_all(processes)


@contextmanager
def restarted_with(process: ServiceProcess, env: dict[str, str]) -> Iterator[ServiceProcess]:
    """``process`` restarted with ``env`` added, and restarted again with its own afterwards."""
    process.stop()
    process.start(env)
    process.wait_ready()
    try:
        yield process
    finally:
        process.stop()
        process.start()
        process.wait_ready()


@contextmanager
def gateway_client(services: Services, timeout: float = 30) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=services.gateway, timeout=timeout) as client:
        yield client


def _credentials(client_id: str) -> dict[str, str]:
    """A registered test client's grant: its secret is ``<client_id>-secret`` (launcher.processes)."""
    return {
        "grant_type": "client_credentials",
        "client_id": client_id,
        "client_secret": f"{client_id}-secret",
    }


def _bearer(r: httpx.Response) -> dict[str, str]:
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def token_for(http: httpx.Client, client_id: str) -> dict[str, str]:
    return _bearer(http.post("/api/v1/oauth/token", data=_credentials(client_id)))


async def token_of(client: httpx.AsyncClient, client_id: str) -> dict[str, str]:
    """``token_for`` from an async client."""
    return _bearer(await client.post("/api/v1/oauth/token", data=_credentials(client_id)))


def department_facts(
    http: httpx.Client, headers: dict[str, str], department: str, **params: Any
) -> dict[str, Any]:
    """What the evaluation service recorded about ``department``: ``counts`` by kind and ``facts``."""
    r = http.get(f"/api/v1/evaluation/departments/{department}/facts", params=params, headers=headers)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def fact_counts(http: httpx.Client, headers: dict[str, str], department: str) -> dict[str, int]:
    counts: dict[str, int] = department_facts(http, headers, department)["counts"]
    return counts


# The clients every e2e test may use: (id, roles, department).
SESSION_CLIENTS = (("e2e-office", "office", "office"), ("e2e-jtj", "department", "jtj"))


def register_session_clients(cluster: Cluster) -> None:
    """Register (again) the session's clients, as they were: also after a test that may change them."""
    for client_id, roles, department in SESSION_CLIENTS:
        register_client(cluster.env, client_id, roles, department)
