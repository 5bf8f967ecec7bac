"""Gateway tables: API clients and their change log, idempotency records, webhook endpoints,
messages, deliveries, attempts.

Kept identical to the migrations (``tests/service/test_migrations.py`` checks it).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

metadata = MetaData()

api_clients = Table(
    "api_clients",
    metadata,
    Column("client_id", String(128), primary_key=True),
    Column("secret_hash", String(256), nullable=False),
    Column("name", String(256), nullable=False),
    Column("department", String(32)),
    Column("roles", JSONB, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    # Moved on by every change of secret, roles or department and by disabling: tokens carry the
    # generation they were issued under, and an older one is refused.
    Column("token_generation", Integer, nullable=False, server_default=text("0")),
    Column("disabled_at", DateTime(timezone=True)),
    Column("updated_at", DateTime(timezone=True)),
    Index("ix_api_clients_created", "created_at", "client_id"),
)

# Every change of a client (who, when, what), never a secret; kept when the client is deleted.
api_client_changes = Table(
    "api_client_changes",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("client_id", String(128), nullable=False),
    Column("action", String(32), nullable=False),
    Column("actor", String(160), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("changes", JSONB, nullable=False),
    Column("request_id", String(128)),
    Index("ix_api_client_changes_at", "at", "id"),
    Index("ix_api_client_changes_client", "client_id", "at", "id"),
)

# One row per (client, Idempotency-Key): a claim while the first request runs, then its response.
idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("scope", String(160), nullable=False),
    Column("key", String(255), nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("method", String(8), nullable=False),
    Column("path", Text, nullable=False),
    Column("state", String(16), nullable=False),
    Column("locked_until", DateTime(timezone=True), nullable=False),
    Column("response_status", Integer),
    Column("response_headers", JSONB),
    Column("response_body", LargeBinary),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("scope", "key", name="pk_idempotency_keys"),
    Index("ix_idempotency_keys_expires_at", "expires_at"),
)

webhook_endpoints = Table(
    "webhook_endpoints",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("owner", String(128), nullable=False),
    # The owner's roles and department claim when it created (or last changed) the endpoint:
    # deliveries are filtered by what they may read (services/gateway/webhooks/visibility.py).
    Column("owner_roles", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Column("owner_department", String(128)),
    Column("url", Text, nullable=False),
    Column("description", String(500), nullable=False),
    # Event types to deliver; empty means every type.
    Column("event_types", JSONB, nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("disabled_reason", String(32)),
    Column("disabled_at", DateTime(timezone=True)),
    # Start of the current run of failed attempts; cleared by any success.
    Column("failing_since", DateTime(timezone=True)),
    Column("secret", String(128), nullable=False),
    Column("previous_secret", String(128)),
    Column("previous_secret_expires_at", DateTime(timezone=True)),
    Column("version", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_webhook_endpoints_owner", "owner", "created_at", "id"),
    Index("ix_webhook_endpoints_created", "created_at", "id"),
)

# A message is one event as sent to receivers; its id is the stable ``webhook-id``.
webhook_messages = Table(
    "webhook_messages",
    metadata,
    Column("id", String(80), primary_key=True),
    Column("event_type", String(255), nullable=False),
    # The exact body sent (and signed) on every attempt.
    Column("payload", Text, nullable=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_webhook_messages_created", "created_at"),
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("endpoint_id", String(40), ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), nullable=False),
    Column("message_id", String(80), ForeignKey("webhook_messages.id", ondelete="CASCADE"), nullable=False),
    Column("event_type", String(255), nullable=False),
    Column("status", String(16), nullable=False),
    # Attempts made in the current cycle: the index into the retry schedule.
    Column("attempts", Integer, nullable=False),
    # What started the current cycle: the event, a resend or a recovery.
    Column("trigger", String(16), nullable=False),
    Column("next_attempt_at", DateTime(timezone=True)),
    Column("last_attempt_at", DateTime(timezone=True)),
    Column("last_status_code", Integer),
    Column("last_error", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("succeeded_at", DateTime(timezone=True)),
    Column("failed_at", DateTime(timezone=True)),
    UniqueConstraint("endpoint_id", "message_id", name="uq_webhook_deliveries_endpoint_message"),
    # The worker claims only pending rows; the partial index keeps that scan small.
    Index("ix_webhook_deliveries_due", "next_attempt_at", postgresql_where=text("status = 'pending'")),
    Index("ix_webhook_deliveries_endpoint", "endpoint_id", "created_at", "id"),
    Index(
        "ix_webhook_deliveries_failed",
        "endpoint_id",
        "created_at",
        postgresql_where=text("status = 'failed'"),
    ),
)

webhook_attempts = Table(
    "webhook_attempts",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column(
        "delivery_id", String(40), ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), nullable=False
    ),
    Column("attempted_at", DateTime(timezone=True), nullable=False),
    Column("trigger", String(16), nullable=False),
    Column("status_code", Integer),
    Column("error", Text),
    Column("response_body", Text),
    Column("duration_ms", Integer, nullable=False),
    Index("ix_webhook_attempts_delivery", "delivery_id", "id"),
)
