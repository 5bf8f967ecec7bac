"""Integration tests run on a real Apache Kafka broker and a real PostgreSQL."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.kafka
