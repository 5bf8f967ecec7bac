"""Session-wide test infrastructure: PostgreSQL and Kafka, started once when first needed."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Protocol, TypeVar

import pytest

from tests.support.infra import KafkaSource, PostgresSource, start_kafka, start_postgres, unavailable


class _Stoppable(Protocol):
    def stop(self) -> None: ...


S = TypeVar("S", bound=_Stoppable)


def _for_the_session(what: str, start: Callable[[Path], S], folder: Path) -> Iterator[S]:
    """``start`` the server in ``folder`` (or skip, or fail in CI, saying why not); stop it after."""
    try:
        source = start(folder)
    except Exception as exc:
        unavailable(what, repr(exc))
    yield source
    source.stop()


@pytest.fixture(scope="session")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresSource]:
    yield from _for_the_session("PostgreSQL", start_postgres, tmp_path_factory.mktemp("pg"))


@pytest.fixture(scope="session")
def kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaSource]:
    yield from _for_the_session("Apache Kafka", start_kafka, tmp_path_factory.mktemp("kafka"))
