"""Alembic environment of the disclosure service."""

from services.disclosure.tables import metadata
from shared.migrations import run_env

run_env(metadata)
