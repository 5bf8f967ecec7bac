"""Session-wide test infrastructure: PostgreSQL and Kafka, started once when first needed."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.infra import KafkaSource, PostgresSource, start_kafka, start_postgres, unavailable


@pytest.fixture(scope="session")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresSource]:
    try:
        source = start_postgres(tmp_path_factory.mktemp("pg"))
    except Exception as exc:
        unavailable("PostgreSQL", repr(exc))
    yield source
    source.stop()


@pytest.fixture(scope="session")
def kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaSource]:
    try:
        source = start_kafka(tmp_path_factory.mktemp("kafka"))
    except Exception as exc:
        unavailable("Apache Kafka", repr(exc))
    yield source
    source.stop()
