"""Resilience fixtures: a cluster of its own that the tests may break for real
(``tests.support.resilience``), started once for the resilience tests; each test leaves it
running as it found it. With ``CI=true`` missing infrastructure fails the run instead of skipping.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.support.clusters import gateway_client, token_for
from tests.support.resilience import OFFICE, ResilientCluster, resilient_cluster_in

pytestmark = [pytest.mark.e2e, pytest.mark.kafka]


@pytest.fixture(scope="session")
def resilient_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ResilientCluster]:
    with resilient_cluster_in(tmp_path_factory.mktemp("resilience")) as started:
        yield started


@pytest.fixture
def cluster(resilient_cluster: ResilientCluster) -> ResilientCluster:
    resilient_cluster.ensure_running()
    return resilient_cluster


@pytest.fixture
def http(cluster: ResilientCluster) -> Iterator[httpx.Client]:
    with gateway_client(cluster) as client:
        yield client


@pytest.fixture
def office(http: httpx.Client) -> dict[str, str]:
    return token_for(http, OFFICE)
