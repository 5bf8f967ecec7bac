"""Settings read from the environment (pydantic-settings).

Every service reads the common ``XN_`` variables and its own ``XN_<SERVICE>_`` ones, so one
environment can configure several services at once (the embedded mode runs all five in one
process) while each keeps its own database.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_JWT_SECRET = "xiaoneng-dev-secret-change-me-0123456789"

Environment = Literal["dev", "test", "production"]
BusKind = Literal["memory", "kafka"]


class CommonSettings(BaseSettings):
    """Settings shared by every service of one deployment (prefix ``XN_``)."""

    model_config = SettingsConfigDict(env_prefix="XN_", extra="ignore")

    environment: Environment = "dev"
    bus: BusKind = "memory"
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    topic_prefix: str = ""
    policy_profile: str = "huzhou-2018"
    jwt_secret: str = DEV_JWT_SECRET
    jwt_issuer: str = "xiaoneng"
    jwt_audience: str = "xiaoneng-api"
    jwks_url: str | None = None
    log_level: str = "INFO"
    log_json: bool = True
    relay_poll_seconds: float = Field(default=0.5, gt=0)
    consumer_max_attempts: int = Field(default=5, ge=1)
    consumer_retry_base_seconds: float = Field(default=0.05, ge=0)
    sweep_interval_seconds: float = Field(default=30.0, gt=0)
    migrate_on_start: bool = True

    @model_validator(mode="after")
    def _refuse_default_secret_outside_dev(self) -> CommonSettings:
        if self.environment != "dev" and self.jwks_url is None and self.jwt_secret == DEV_JWT_SECRET:
            raise ValueError(
                f"XN_JWT_SECRET still has the development default; set a secret or XN_JWKS_URL "
                f"(environment {self.environment})"
            )
        if self.environment == "production" and self.jwks_url is None and len(self.jwt_secret) < 32:
            raise ValueError("XN_JWT_SECRET must be at least 32 characters in production")
        return self


class ServiceSettings(BaseSettings):
    """Settings of one service (prefix ``XN_<SERVICE>_``, e.g. ``XN_DISCLOSURE_DATABASE_URL``)."""

    model_config = SettingsConfigDict(extra="ignore")

    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
    database_pool_size: int = Field(default=5, ge=1)
    relay_enabled: bool = True
    consumers_enabled: bool = True
    sweepers_enabled: bool = True
    # Fault injection for the outbox crash test: the process dies right after claiming rows,
    # i.e. between the database commit of the write and the send to the bus. Dev/test only.
    fault_crash_before_send: bool = False


def load_service_settings(service: str) -> ServiceSettings:
    """Read the settings of ``service`` from ``XN_<SERVICE>_*``."""
    return ServiceSettings(_env_prefix=f"XN_{service.upper()}_")
