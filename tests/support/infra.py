"""Where the tests get PostgreSQL and Kafka from.

In order: ``DATABASE_URL`` / ``KAFKA_BOOTSTRAP_SERVERS`` when set; testcontainers when a
Docker engine answers a ping; otherwise the embedded PostgreSQL from PyPI and a real Apache
Kafka broker assembled from Maven Central, started once per test session with a readiness
deadline. With ``CI=true`` a missing server fails the run instead of skipping.
"""

from __future__ import annotations

import logging
import os
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from sqlalchemy.engine import make_url

log = logging.getLogger("tests.infra")


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def unavailable(what: str, why: str) -> None:
    message = f"{what} is not available: {why}"
    if in_ci():
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def docker_engine_answers() -> bool:
    try:
        import docker

        client = docker.from_env(timeout=3)
        client.ping()
        return True
    except Exception:
        return False


class _Started:
    """A server the session started (or was given): ``stop`` ends it, if the session owns it."""

    def __init__(self, stopper: Any = None) -> None:
        self._stopper = stopper

    def stop(self) -> None:
        if self._stopper is not None:
            self._stopper()


class PostgresSource(_Started):
    """A PostgreSQL server; hands out a fresh database per caller."""

    def __init__(self, admin_url: str, stopper: Any = None) -> None:
        super().__init__(stopper)
        self.admin_url = make_url(admin_url).set(drivername="postgresql+asyncpg")

    def url_for(self, database: str) -> str:
        return self.admin_url.set(database=database).render_as_string(hide_password=False)

    async def new_database(self, prefix: str = "t") -> str:
        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        u = self.admin_url
        conn = await asyncpg.connect(
            host=u.host, port=u.port, user=u.username, password=u.password, database=u.database or "postgres"
        )
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
        return self.url_for(name)


def start_postgres(tmp: Path) -> PostgresSource:
    if url := os.environ.get("DATABASE_URL"):
        return PostgresSource(url)
    if docker_engine_answers():
        from testcontainers.postgres import PostgresContainer

        container = PostgresContainer("postgres:16-alpine", driver="asyncpg")
        container.start()
        return PostgresSource(container.get_connection_url(), container.stop)
    from shared.embedded_pg import EmbeddedPostgres

    pg = EmbeddedPostgres(tmp / "postgres")
    pg.start(timeout=60)
    return PostgresSource(pg.url, lambda: pg.stop("immediate"))


class KafkaSource(_Started):
    def __init__(self, bootstrap: str, stopper: Any = None, broker: Any = None) -> None:
        super().__init__(stopper)
        self.bootstrap = bootstrap
        self.broker = broker


def start_kafka(tmp: Path) -> KafkaSource:
    if bootstrap := os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        return KafkaSource(bootstrap)
    if docker_engine_answers():
        from testcontainers.kafka import KafkaContainer

        container = KafkaContainer().with_kraft()
        container.start()
        return KafkaSource(container.get_bootstrap_server(), container.stop)
    from devtools.kafka_broker import KafkaBroker

    broker = KafkaBroker(tmp / "kafka")
    bootstrap = broker.start(timeout=90)
    return KafkaSource(bootstrap, broker.stop, broker)
