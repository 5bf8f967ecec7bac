"""Outbox, inbox and dead letters: this service's first tables are the shared messaging ones."""

from shared.migrations import create_messaging_tables, drop_messaging_tables

revision = "0001"
down_revision = None
upgrade, downgrade = create_messaging_tables, drop_messaging_tables
