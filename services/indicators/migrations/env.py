"""Alembic environment of the indicators service."""

from services.indicators.tables import metadata
from shared.migrations import run_env

run_env(metadata)
