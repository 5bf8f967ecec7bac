"""Gateway settings (prefix ``XN_GATEWAY_``)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DOMAIN_SERVICES = ("disclosure", "coordination", "indicators", "evaluation")


class GatewaySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="XN_GATEWAY_", extra="ignore")

    disclosure_url: str = "http://127.0.0.1:8001"
    coordination_url: str = "http://127.0.0.1:8002"
    indicators_url: str = "http://127.0.0.1:8003"
    evaluation_url: str = "http://127.0.0.1:8004"
    upstream_timeout_seconds: float = Field(default=10.0, gt=0)
    openapi_cache_seconds: float = Field(default=30.0, ge=0)
    # The built-in client-credentials issuer; production uses an external identity provider.
    token_issuer_enabled: bool = True
    token_ttl_seconds: int = Field(default=3600, ge=60)

    def upstreams(self) -> dict[str, str]:
        return {name: str(getattr(self, f"{name}_url")).rstrip("/") for name in DOMAIN_SERVICES}
