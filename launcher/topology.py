"""Which services run where: names, app factories, default ports, database names."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

SERVICES = ("gateway", "disclosure", "coordination", "indicators", "evaluation")
DOMAIN_SERVICES = SERVICES[1:]

DEFAULT_PORTS = {
    "gateway": 8000,
    "disclosure": 8001,
    "coordination": 8002,
    "indicators": 8003,
    "evaluation": 8004,
}


def database_name(service: str) -> str:
    return f"xn_{service}"


def app_factory(service: str) -> Callable[..., Any]:
    module = importlib.import_module(f"services.{service}.app")
    factory: Callable[..., Any] = module.create_app
    return factory


def service_env(
    *, database_urls: dict[str, str], ports: dict[str, int], host: str = "127.0.0.1"
) -> dict[str, str]:
    """Environment variables that wire the five services to their databases and each other."""
    env = {f"XN_{s.upper()}_DATABASE_URL": url for s, url in database_urls.items()}
    for s in DOMAIN_SERVICES:
        env[f"XN_GATEWAY_{s.upper()}_URL"] = f"http://{host}:{ports[s]}"
    return env
