"""The one list of services (``shared.registry``) and the places that cannot import it.

The launcher and the gateway read the registry; the import contracts in ``pyproject.toml``, the
Kubernetes base and the source tree are text, so this compares them with it: a service added to
one and not the others fails here, naming what is missing.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import yaml

from launcher.topology import DEFAULT_PORTS, database_name
from services.gateway.settings import GatewaySettings
from shared.registry import DOMAIN_SERVICES, REGISTRY, SERVICES

ROOT = Path(__file__).resolve().parents[2]


def test_the_registry_names_each_service_once_with_its_own_port():
    assert len(set(SERVICES)) == len(SERVICES)
    assert len({s.port for s in REGISTRY}) == len(REGISTRY)
    assert DEFAULT_PORTS == {s.name: s.port for s in REGISTRY}
    assert {database_name(s) for s in SERVICES} == {f"xn_{s}" for s in SERVICES}


def test_every_registered_service_has_its_package_and_nothing_else_does():
    packages = {p.parent.name for p in (ROOT / "services").glob("*/app.py")}
    assert packages == set(SERVICES)


def test_the_import_contracts_keep_every_service_independent():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = {c["name"]: c for c in config["tool"]["importlinter"]["contracts"]}
    independent = contracts["No service imports another service"]["modules"]
    assert sorted(independent) == sorted(f"services.{s}" for s in SERVICES)
    pure = set(contracts["Domain modules are pure: no web, database or broker"]["source_modules"])
    domains = {f"services.{s}.domain" for s in DOMAIN_SERVICES}
    assert domains <= pure
    # A service may keep more pure rules beside its domain.py, in modules named *_domain
    # (evaluation's assessment_domain); nothing else is in the contract.
    extra = pure - domains
    owners = tuple(f"services.{s}." for s in DOMAIN_SERVICES)
    assert all(m.startswith(owners) and m.endswith("_domain") for m in extra), extra


def test_the_kubernetes_base_deploys_every_registered_service():
    base = ROOT / "deploy" / "k8s" / "base"
    resources = yaml.safe_load((base / "kustomization.yaml").read_text(encoding="utf-8"))["resources"]
    folders = {r for r in resources if (base / r).is_dir() and (base / r / "web.yaml").exists()}
    assert folders == set(SERVICES)


def test_the_gateway_has_an_upstream_and_a_timeout_setting_for_every_domain_service():
    settings = GatewaySettings()
    assert set(settings.upstreams()) == set(DOMAIN_SERVICES)
    for service in DOMAIN_SERVICES:
        assert f"{service}_url" in GatewaySettings.model_fields
        assert f"{service}_timeout_seconds" in GatewaySettings.model_fields
        assert settings.upstreams()[service].endswith(f":{DEFAULT_PORTS[service]}")
