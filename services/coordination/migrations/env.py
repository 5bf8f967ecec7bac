"""Alembic environment of the coordination service."""

from services.coordination.tables import metadata
from shared.migrations import run_env

run_env(metadata)
