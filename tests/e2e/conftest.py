"""End-to-end: the five services as separate processes on real Kafka and PostgreSQL
(``tests.support.clusters``), one cluster shared by the whole session."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from launcher.topology import SERVICES
from tests.support.clusters import Cluster, gateway_client, register_session_clients, running_cluster
from tests.support.infra import KafkaSource, PostgresSource

pytestmark = [pytest.mark.e2e, pytest.mark.kafka]


@pytest.fixture(scope="session")
async def cluster(
    kafka: KafkaSource, postgres: PostgresSource, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Cluster]:
    urls = {s: await postgres.new_database(f"e2e_{s}") for s in SERVICES}
    with running_cluster(kafka, urls, tmp_path_factory.mktemp("service-logs")) as started:
        register_session_clients(started)
        yield started


@pytest.fixture
def http(cluster: Cluster) -> Iterator[httpx.Client]:
    with gateway_client(cluster) as client:
        yield client
