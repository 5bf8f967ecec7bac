"""Coordination use cases; each runs in one transaction with its outbox rows."""
