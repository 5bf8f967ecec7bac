"""Which services run where: names, app factories, default ports, database names (from the
one list in ``shared.registry``)."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from shared.registry import DOMAIN_SERVICES, REGISTRY, SERVICES, entry

__all__ = ["DEFAULT_PORTS", "DOMAIN_SERVICES", "SERVICES", "app_factory", "database_name", "service_env"]

DEFAULT_PORTS = {s.name: s.port for s in REGISTRY}


def database_name(service: str) -> str:
    return entry(service).database


def app_factory(service: str) -> Callable[..., Any]:
    module = importlib.import_module(f"{entry(service).package}.app")
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
