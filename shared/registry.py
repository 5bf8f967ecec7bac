"""The services of the platform, listed once.

The launcher (ports, databases, app factories), the gateway (upstreams, the portal's tags and
the merged OpenAPI), the import contracts in ``pyproject.toml`` and the Kubernetes base
(``deploy/k8s/base/<name>/``) all follow this list; ``tests/deploy/test_registry.py`` checks that
the parts that cannot import it (pyproject, manifests) name the same services. Adding a service:
README, "Adding a service".
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ServiceEntry:
    name: str
    port: int
    """Default port in the embedded mode and the local cluster."""
    tag: str
    """The portal's tag for its operations."""
    summary: str
    domain: bool = True
    """A domain service (proxied by the gateway under ``/api/v1/<name>``, keeps the calendar)."""

    @property
    def database(self) -> str:
        return f"xn_{self.name}"

    @property
    def package(self) -> str:
        return f"services.{self.name}"


REGISTRY: tuple[ServiceEntry, ...] = (
    ServiceEntry("gateway", 8000, "网关 gateway", "认证、Webhook 订阅与投递、组合查询", domain=False),
    ServiceEntry("disclosure", 8001, "政务公开 disclosure", "政务公开：文件限时公开与不予公开审批"),
    ServiceEntry("coordination", 8002, "会办督办 coordination", "会办事项限时办结与领导批示督办"),
    ServiceEntry("indicators", 8003, "保五争三 indicators", "重要指标“保五争三”排名通报"),
    ServiceEntry("evaluation", 8004, "低效能评定 evaluation", "低效能部门评定"),
)

SERVICES: tuple[str, ...] = tuple(s.name for s in REGISTRY)
DOMAIN_SERVICES: tuple[str, ...] = tuple(s.name for s in REGISTRY if s.domain)


def entry(name: str) -> ServiceEntry:
    for service in REGISTRY:
        if service.name == name:
            return service
    raise KeyError(f"no service named {name!r}; services: {', '.join(SERVICES)}")
