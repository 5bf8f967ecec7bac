"""Service tests: real PostgreSQL, in-process bus, apps run in-process."""

from __future__ import annotations

import pytest

from shared.settings import CommonSettings
from tests.support.apps import test_settings
from tests.support.infra import PostgresSource


@pytest.fixture
def common() -> CommonSettings:
    return test_settings()


@pytest.fixture
async def database_url(postgres: PostgresSource) -> str:
    return await postgres.new_database()
