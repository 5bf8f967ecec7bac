"""Alembic environment of the evaluation service."""

from services.evaluation.tables import metadata
from shared.migrations import run_env

run_env(metadata)
