"""Settings read from the environment (pydantic-settings).

Every service reads the common ``XN_`` variables and its own ``XN_<SERVICE>_`` ones, so one
environment can configure several services at once (the embedded mode runs all five in one
process) while each keeps its own database.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Published in this repository's history as the old default: anyone can sign with it, so it is
# refused everywhere.
DEV_JWT_SECRET = "xiaoneng-dev-secret-change-me-0123456789"

Environment = Literal["dev", "test", "production"]
BusKind = Literal["memory", "kafka"]
KafkaSecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
KafkaSaslMechanism = Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]


class CommonSettings(BaseSettings):
    """Settings shared by every service of one deployment (prefix ``XN_``)."""

    # No input values in validation errors: they would print the Kafka password and the JWT secret.
    model_config = SettingsConfigDict(env_prefix="XN_", extra="ignore", hide_input_in_errors=True)

    environment: Environment = "dev"
    bus: BusKind = "memory"
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    # How the services reach Kafka (production: SASL_SSL with SCRAM-SHA-512, see deploy/k8s).
    kafka_security_protocol: KafkaSecurityProtocol = "PLAINTEXT"
    kafka_sasl_mechanism: KafkaSaslMechanism | None = None
    kafka_sasl_username: str | None = None
    # SecretStr: never shown by repr() or in a validation error.
    kafka_sasl_password: SecretStr | None = None
    # CA bundle (PEM) the brokers' certificates are checked against; unset: the system's CAs.
    kafka_ssl_cafile: str | None = None
    # False where something else owns the topics (Strimzi KafkaTopics in production): the bus then
    # never creates a topic, with whatever partitions and replication factor it would pick.
    kafka_create_topics: bool = True
    topic_prefix: str = ""
    policy_profile: str = "huzhou-2018"
    # Without XN_JWT_SECRET, dev makes up a secret nobody knows, valid in this process only;
    # make run and make up keep one per data folder (launcher). Test and production must set it.
    jwt_secret: str = Field(default_factory=lambda: secrets.token_urlsafe(32), repr=False)
    jwt_issuer: str = "xiaoneng"
    jwt_audience: str = "xiaoneng-api"
    jwks_url: str | None = None
    # Longest life a token may claim (exp - iat, and exp - now): a token minted to live for years
    # would otherwise be a credential that nothing can revoke. Applies to every verifier.
    jwt_max_lifetime_seconds: int = Field(default=86_400, ge=60)
    log_level: str = "INFO"
    log_json: bool = True
    relay_poll_seconds: float = Field(default=0.5, gt=0)
    consumer_max_attempts: int = Field(default=5, ge=1)
    consumer_retry_base_seconds: float = Field(default=0.05, ge=0)
    sweep_interval_seconds: float = Field(default=30.0, gt=0)
    # Rows a deadline sweep claims per transaction (shared.sweeps); it loops until none are due.
    sweep_batch_size: int = Field(default=200, ge=1, le=10_000)
    migrate_on_start: bool = True
    # Where the business clock of the use cases starts (it runs on from there), for tests and
    # demonstrations of dates to come, e.g. 2026-12-28T10:00:00+08:00. Never in production.
    clock_start: datetime | None = None

    @model_validator(mode="after")
    def _refuse_a_known_or_missing_secret(self) -> CommonSettings:
        if self.jwt_secret == DEV_JWT_SECRET:
            raise ValueError("XN_JWT_SECRET is the published development value, which anyone can sign with")
        if self.environment != "dev" and self.jwks_url is None and "jwt_secret" not in self.model_fields_set:
            raise ValueError(
                f"XN_JWT_SECRET is not set; set a secret or XN_JWKS_URL (environment {self.environment})"
            )
        if self.environment == "production" and self.jwks_url is None and len(self.jwt_secret) < 32:
            raise ValueError("XN_JWT_SECRET must be at least 32 characters in production")
        return self

    @model_validator(mode="after")
    def _no_clock_start_in_production(self) -> CommonSettings:
        if self.clock_start is not None:
            if self.environment == "production":
                raise ValueError("XN_CLOCK_START moves the business clock; it is refused in production")
            if self.clock_start.tzinfo is None:
                raise ValueError("XN_CLOCK_START needs an offset, e.g. 2026-12-28T10:00:00+08:00")
        return self

    @model_validator(mode="after")
    def _kafka_security_is_consistent(self) -> CommonSettings:
        protocol = self.kafka_security_protocol
        password = self.kafka_sasl_password
        sasl = {
            "XN_KAFKA_SASL_MECHANISM": self.kafka_sasl_mechanism,
            "XN_KAFKA_SASL_USERNAME": (self.kafka_sasl_username or "").strip() or None,
            "XN_KAFKA_SASL_PASSWORD": password.get_secret_value() or None if password else None,
        }
        if protocol.startswith("SASL_"):
            if missing := [name for name, value in sasl.items() if value is None]:
                raise ValueError(
                    f"XN_KAFKA_SECURITY_PROTOCOL={protocol} needs {', '.join(missing)} (SASL authentication)"
                )
        elif given := [name for name, value in sasl.items() if value is not None]:
            # Credentials that would silently go unused hide a misconfigured protocol.
            raise ValueError(
                f"{', '.join(given)} set but XN_KAFKA_SECURITY_PROTOCOL={protocol} does not authenticate; "
                f"use SASL_SSL (or SASL_PLAINTEXT)"
            )
        if self.kafka_ssl_cafile is not None and not protocol.endswith("SSL"):
            raise ValueError(
                f"XN_KAFKA_SSL_CAFILE set but XN_KAFKA_SECURITY_PROTOCOL={protocol} does not use TLS; "
                f"use SSL or SASL_SSL"
            )
        return self


class ServiceSettings(BaseSettings):
    """Settings of one service (prefix ``XN_<SERVICE>_``, e.g. ``XN_DISCLOSURE_DATABASE_URL``)."""

    model_config = SettingsConfigDict(extra="ignore")

    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
    database_pool_size: int = Field(default=20, ge=1)
    relay_enabled: bool = True
    consumers_enabled: bool = True
    sweepers_enabled: bool = True
    # Fault injection for the outbox crash test: the process dies right after claiming rows,
    # i.e. between the database commit of the write and the send to the bus. Dev/test only.
    fault_crash_before_send: bool = False


def load_service_settings(service: str) -> ServiceSettings:
    """Read the settings of ``service`` from ``XN_<SERVICE>_*``."""
    return ServiceSettings(_env_prefix=f"XN_{service.upper()}_")
