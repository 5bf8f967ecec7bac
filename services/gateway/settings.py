"""Gateway settings (prefix ``XN_GATEWAY_``).

List and mapping settings are read from the environment as JSON, e.g.
``XN_GATEWAY_WEBHOOK_RETRY_SCHEDULE_SECONDS='[0, 5, 300]'`` or
``XN_GATEWAY_RATE_LIMIT_OVERRIDES='{"city-portal": 1200}'``.
"""

from __future__ import annotations

import ipaddress

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.registry import DOMAIN_SERVICES

__all__ = ["DOMAIN_SERVICES", "GatewaySettings"]

# Standard Webhooks' reference schedule: immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h.
STANDARD_RETRY_SCHEDULE = [0.0, 5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0]


class GatewaySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="XN_GATEWAY_", extra="ignore")

    disclosure_url: str = "http://127.0.0.1:8001"
    coordination_url: str = "http://127.0.0.1:8002"
    indicators_url: str = "http://127.0.0.1:8003"
    evaluation_url: str = "http://127.0.0.1:8004"
    # Default upstream timeout; each service may have its own (``XN_GATEWAY_<SERVICE>_TIMEOUT_SECONDS``).
    upstream_timeout_seconds: float = Field(default=10.0, gt=0)
    upstream_connect_timeout_seconds: float = Field(default=2.0, gt=0)
    disclosure_timeout_seconds: float | None = Field(default=None, gt=0)
    coordination_timeout_seconds: float | None = Field(default=None, gt=0)
    indicators_timeout_seconds: float | None = Field(default=None, gt=0)
    evaluation_timeout_seconds: float | None = Field(default=None, gt=0)
    openapi_cache_seconds: float = Field(default=30.0, ge=0)
    # The built-in client-credentials issuer; production uses an external identity provider.
    token_issuer_enabled: bool = True
    token_ttl_seconds: int = Field(default=3600, ge=60)
    # Client secrets are checked with scrypt in this many worker threads, never on the event loop
    # (in the embedded mode every app shares that loop).
    token_kdf_workers: int = Field(default=2, ge=1)
    # After this many failed authentications of one client id within the window, the id gets 429
    # until the oldest failure leaves the window.
    token_max_failures: int = Field(default=10, ge=1)
    token_failure_window_seconds: int = Field(default=300, ge=1)
    # How long the gateway trusts its last look at a client in its database: a token of a client
    # deleted or disabled since is refused at most this long after.
    client_cache_seconds: float = Field(default=10.0, ge=0)

    # Largest request body accepted (413 beyond it).
    max_body_bytes: int = Field(default=1_048_576, ge=1)
    # Largest upstream answer the gateway reads before answering (502 beyond it): answers are
    # read whole so that one cut short by a dying service becomes a 502, never a partial 2xx.
    max_upstream_response_bytes: int = Field(default=16 * 1_048_576, ge=1)

    # Token bucket per client: ``rate_limit_requests`` per ``rate_limit_window_seconds``, bursts
    # up to the same number. Per-client quotas override the default.
    rate_limit_requests: int = Field(default=600, ge=1)
    rate_limit_window_seconds: int = Field(default=60, ge=1)
    rate_limit_overrides: dict[str, int] = Field(default_factory=dict)
    # Proxies (addresses or CIDRs, e.g. ``["10.0.0.0/8"]``) whose ``X-Forwarded-For`` names the
    # caller for the per-IP limit. Empty: forwarded headers are never believed, from anyone.
    trusted_proxies: list[str] = Field(default_factory=list)

    # Idempotency-Key records: kept this long; a claim whose request never finished (a crash)
    # is taken over after ``idempotency_lock_seconds``.
    idempotency_ttl_seconds: int = Field(default=86_400, ge=1)
    idempotency_lock_seconds: float = Field(default=60.0, gt=0)

    # Composite reads: each part gets this long, at most this many upstream calls at once.
    composite_part_timeout_seconds: float = Field(default=3.0, gt=0)
    composite_concurrency: int = Field(default=16, ge=1)

    # Webhooks (Standard Webhooks).
    webhooks_enabled: bool = True
    webhook_retry_schedule_seconds: list[float] = Field(default_factory=lambda: list(STANDARD_RETRY_SCHEDULE))
    webhook_retry_jitter: float = Field(default=0.1, ge=0, lt=1)
    webhook_timeout_seconds: float = Field(default=15.0, gt=0)
    webhook_secret_overlap_seconds: int = Field(default=86_400, ge=0)
    webhook_disable_after_failing_seconds: int = Field(default=5 * 86_400, ge=0)
    # Hosts webhooks may target: ``hooks.example.gov.cn``, ``*.example.gov.cn`` or a CIDR such as
    # ``203.0.113.0/24``. Empty: any host. Private and loopback addresses are always refused in
    # the production environment.
    webhook_allowed_targets: list[str] = Field(default_factory=list)
    webhook_poll_seconds: float = Field(default=1.0, gt=0)
    webhook_concurrency: int = Field(default=20, ge=1)
    webhook_retention_days: int = Field(default=30, ge=1)

    @field_validator("webhook_retry_schedule_seconds")
    @classmethod
    def _schedule_is_usable(cls, value: list[float]) -> list[float]:
        if not value or any(v < 0 for v in value):
            raise ValueError("the retry schedule needs at least one non-negative delay")
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies_are_networks(cls, value: list[str]) -> list[str]:
        for entry in value:
            try:
                ipaddress.ip_network(entry.strip(), strict=False)
            except ValueError as exc:
                raise ValueError(f"not an IP address or CIDR: {entry!r}") from exc
        return value

    def upstreams(self) -> dict[str, str]:
        return {name: str(getattr(self, f"{name}_url")).rstrip("/") for name in DOMAIN_SERVICES}

    def upstream_timeout(self, service: str) -> float:
        own: float | None = getattr(self, f"{service}_timeout_seconds", None)
        return own if own is not None else self.upstream_timeout_seconds
