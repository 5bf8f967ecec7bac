"""What the issue asks of every workload, checked on the rendered overlays.

Hardening (non-root, read-only root filesystem, no capabilities, resources, probes), one
migration Job per service, the web/worker split the settings switch, every environment variable
one the code reads (and the settings load with the values the manifests give), databases and
network policies per service.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator

import asyncpg.connect_utils
import pytest
from pydantic_settings import BaseSettings
from sqlalchemy.engine import make_url

from launcher.topology import SERVICES, database_name
from services.disclosure.settings import DisclosureSettings
from services.gateway.settings import GatewaySettings
from services.indicators.settings import IndicatorsSettings
from shared.settings import CommonSettings, ServiceSettings, load_service_settings
from tests.support.manifests import OVERLAYS, Obj, environment, one

# libpq variables the PostgreSQL driver (asyncpg) reads when the URL leaves them out: the
# manifests pass the database user, password and TLS settings this way.
DRIVER_VARIABLES = ("PGUSER", "PGPASSWORD", "PGSSLMODE", "PGSSLROOTCERT")


def _settings_variables() -> set[str]:
    """Every environment variable a settings class of the code reads."""
    classes: list[tuple[str, type[BaseSettings]]] = [
        ("XN_", CommonSettings),
        ("XN_GATEWAY_", GatewaySettings),
        ("XN_DISCLOSURE_", DisclosureSettings),
        ("XN_INDICATORS_", IndicatorsSettings),
    ]
    classes += [(f"XN_{s.upper()}_", ServiceSettings) for s in SERVICES]
    return {f"{prefix}{field.upper()}" for prefix, cls in classes for field in cls.model_fields}


def _workloads(objects: list[Obj]) -> Iterator[tuple[Obj, Obj]]:
    """(workload, pod spec) of every Deployment and Job."""
    for o in objects:
        if o["kind"] in ("Deployment", "Job"):
            yield o, o["spec"]["template"]["spec"]


def _web(service: str) -> str:
    return f"xn-{service}"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_container_is_hardened_and_sized(overlay: str, rendered: dict[str, list[Obj]]) -> None:
    workloads = list(_workloads(rendered[overlay]))
    assert len(workloads) == 3 * len(SERVICES)  # web, worker, migration
    for workload, pod in workloads:
        name = f"{workload['kind']}/{workload['metadata']['name']}"
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["securityContext"]["runAsUser"] > 0, name
        assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", name
        assert pod["automountServiceAccountToken"] is False, name
        assert pod["serviceAccountName"].startswith("xn-"), name
        mounts_tmp = {v["name"] for v in pod["volumes"] if "emptyDir" in v}
        for c in pod["containers"] + pod.get("initContainers", []):
            sc = c["securityContext"]
            assert sc["readOnlyRootFilesystem"] is True, name
            assert sc["allowPrivilegeEscalation"] is False, name
            assert sc["runAsNonRoot"] is True, name
            assert sc["capabilities"]["drop"] == ["ALL"] and "add" not in sc["capabilities"], name
            assert {"cpu", "memory"} <= c["resources"]["requests"].keys(), name
            assert {"cpu", "memory"} <= c["resources"]["limits"].keys(), name
            assert any(m["mountPath"] == "/tmp" and m["name"] in mounts_tmp for m in c["volumeMounts"]), name


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_deployment_has_probes_pdb_and_the_web_ones_a_service_and_an_hpa(
    overlay: str, rendered: dict[str, list[Obj]]
) -> None:
    objects = rendered[overlay]
    for deployment in (o for o in objects if o["kind"] == "Deployment"):
        name = deployment["metadata"]["name"]
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz", name
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz", name
        labels = deployment["spec"]["selector"]["matchLabels"]
        pdbs = [
            o
            for o in objects
            if o["kind"] == "PodDisruptionBudget" and o["spec"]["selector"]["matchLabels"] == labels
        ]
        assert len(pdbs) == 1, name
    for service in SERVICES:
        one(objects, "ServiceAccount", f"xn-{service}")
        one(objects, "ConfigMap", f"xn-{service}-config")
        svc = one(objects, "Service", _web(service))
        assert (
            svc["spec"]["selector"]
            == one(objects, "Deployment", _web(service))["spec"]["selector"]["matchLabels"]
        )
        # The autoscaler owns the replica count; a fixed one would be reset by every apply.
        assert "replicas" not in one(objects, "Deployment", _web(service))["spec"]
        hpa = one(objects, "HorizontalPodAutoscaler", _web(service))
        assert hpa["spec"]["scaleTargetRef"] == {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "name": _web(service),
        }
        assert 1 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_service_has_a_migration_job_running_its_alembic_upgrade(
    overlay: str, rendered: dict[str, list[Obj]]
) -> None:
    objects = rendered[overlay]
    for service in SERVICES:
        job = one(objects, "Job", f"xn-{service}-migrate")
        (container,) = job["spec"]["template"]["spec"]["containers"]
        assert container["command"] == ["python", "-m", "shared.migrations", service]
        env = environment(objects, container)
        assert f"XN_{service.upper()}_DATABASE_URL" in env


def test_production_never_migrates_at_start_up_and_runs_as_production(rendered: dict[str, list[Obj]]) -> None:
    objects = rendered["production"]
    for deployment in (o for o in objects if o["kind"] == "Deployment"):
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        env = environment(objects, container)
        name = deployment["metadata"]["name"]
        assert env["XN_MIGRATE_ON_START"] == "false", name
        assert env["XN_ENVIRONMENT"] == "production", name
        assert env["XN_BUS"] == "kafka", name


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_web_serves_and_relays_while_the_worker_consumes_and_sweeps(
    overlay: str, rendered: dict[str, list[Obj]]
) -> None:
    objects = rendered[overlay]
    for service in SERVICES:
        for name, web in ((_web(service), True), (f"xn-{service}-worker", False)):
            (container,) = one(objects, "Deployment", name)["spec"]["template"]["spec"]["containers"]
            assert container["command"][:3] == ["uvicorn", f"services.{service}.app:create_app", "--factory"]
            settings = _load(service, environment(objects, container))
            assert isinstance(settings, ServiceSettings)
            assert settings.relay_enabled is web, name
            assert settings.consumers_enabled is not web, name
            assert settings.sweepers_enabled is not web, name
            if service == "gateway":
                assert _load_gateway(environment(objects, container)).webhooks_enabled is not web, name


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_environment_variable_is_one_the_code_reads(
    overlay: str, rendered: dict[str, list[Obj]]
) -> None:
    known = _settings_variables()
    driver_source = inspect.getsource(asyncpg.connect_utils)
    for variable in DRIVER_VARIABLES:
        assert f"'{variable}'" in driver_source, f"asyncpg no longer reads {variable}"
    objects = rendered[overlay]
    for workload, pod in _workloads(objects):
        for container in pod["containers"]:
            unknown = sorted(set(environment(objects, container)) - known - set(DRIVER_VARIABLES))
            assert unknown == [], f"{workload['metadata']['name']}: variables no code reads: {unknown}"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_settings_load_with_the_manifests_values(
    overlay: str, rendered: dict[str, list[Obj]], monkeypatch: pytest.MonkeyPatch
) -> None:
    objects = rendered[overlay]
    for workload, pod in _workloads(objects):
        (container,) = pod["containers"]
        env = environment(objects, container)
        with monkeypatch.context() as m:
            for key, value in env.items():
                m.setenv(key, value)
            if workload["kind"] == "Deployment":
                common = CommonSettings()
                assert common.bus == "kafka"
                assert common.environment == ("dev" if overlay == "dev" else "production")
                GatewaySettings()
                IndicatorsSettings()
                DisclosureSettings()


def _load(service: str, env: dict[str, str]) -> ServiceSettings:
    mp = pytest.MonkeyPatch()
    try:
        for key, value in env.items():
            mp.setenv(key, value)
        return load_service_settings(service)
    finally:
        mp.undo()


def _load_gateway(env: dict[str, str]) -> GatewaySettings:
    mp = pytest.MonkeyPatch()
    try:
        for key, value in env.items():
            mp.setenv(key, value)
        return GatewaySettings()
    finally:
        mp.undo()


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_service_has_its_own_postgresql_cluster_and_reads_its_credentials_from_secrets(
    overlay: str, rendered: dict[str, list[Obj]]
) -> None:
    objects = rendered[overlay]
    for service in SERVICES:
        cluster = one(objects, "Cluster", f"xn-{service}-db")
        initdb = cluster["spec"]["bootstrap"]["initdb"]
        assert initdb["database"] == initdb["owner"] == database_name(service)
        for workload, pod in _workloads(objects):
            if workload["metadata"]["labels"]["app.kubernetes.io/name"] != f"xn-{service}":
                continue
            (container,) = pod["containers"]
            env = environment(objects, container)
            url = make_url(env[f"XN_{service.upper()}_DATABASE_URL"])
            assert url.drivername == "postgresql+asyncpg"
            assert (url.host, url.database) == (f"xn-{service}-db-rw", database_name(service))
            assert url.password is None, "credentials belong in a Secret, not in a ConfigMap"
            refs = {v["name"]: v["valueFrom"]["secretKeyRef"] for v in container["env"] if "valueFrom" in v}
            assert refs["PGUSER"] == {"name": f"xn-{service}-db-app", "key": "username"}
            assert refs["PGPASSWORD"] == {"name": f"xn-{service}-db-app", "key": "password"}
    if overlay == "production":
        scheduled = {o["spec"]["cluster"]["name"] for o in objects if o["kind"] == "ScheduledBackup"}
        assert scheduled == {f"xn-{s}-db" for s in SERVICES}
        for cluster in (o for o in objects if o["kind"] == "Cluster"):
            assert cluster["spec"]["instances"] == 3
            assert cluster["spec"]["backup"]["barmanObjectStore"]["destinationPath"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_no_secret_values_are_committed_outside_the_dev_overlay(
    overlay: str, rendered: dict[str, list[Obj]]
) -> None:
    secrets = [o for o in rendered[overlay] if o["kind"] == "Secret"]
    if overlay == "production":
        assert secrets == []
    else:
        assert all(s["metadata"]["labels"]["xiaoneng.gov/dev-only"] == "true" for s in secrets)


def _policies(objects: list[Obj]) -> list[Obj]:
    return [o for o in objects if o["kind"] == "NetworkPolicy"]


def _selects(policy: Obj, labels: dict[str, str]) -> bool:
    selector = policy["spec"]["podSelector"]
    if "matchExpressions" in selector:
        return False
    return all(labels.get(k) == v for k, v in selector.get("matchLabels", {}).items())


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_network_policies_deny_by_default_and_open_only_the_service_paths(
    overlay: str, rendered: dict[str, list[Obj]]
) -> None:
    policies = _policies(rendered[overlay])
    deny = one(policies, "NetworkPolicy", "default-deny")
    assert deny["spec"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    for service in SERVICES:
        web = {"app.kubernetes.io/name": f"xn-{service}", "app.kubernetes.io/component": "web"}
        ingress = [p for p in policies if _selects(p, web) and p["spec"].get("ingress")]
        assert len(ingress) == 1, service
        rules = ingress[0]["spec"]["ingress"]
        if service == "gateway":
            assert all("from" not in r for r in rules), "the gateway takes traffic from anywhere"
        else:
            sources = [peer["podSelector"]["matchLabels"] for r in rules for peer in r["from"]]
            assert sources == [{"app.kubernetes.io/name": "xn-gateway", "app.kubernetes.io/component": "web"}]
            to_service = [
                p
                for p in policies
                if _selects(p, {"app.kubernetes.io/name": "xn-gateway", "app.kubernetes.io/component": "web"})
                and any(
                    peer.get("podSelector", {}).get("matchLabels") == web
                    for r in p["spec"].get("egress", [])
                    for peer in r.get("to", [])
                )
            ]
            assert len(to_service) == 1, f"gateway egress to {service}"
        db = [
            p
            for p in policies
            if _selects(p, {"app.kubernetes.io/name": f"xn-{service}"})
            and any(
                peer.get("podSelector", {}).get("matchLabels") == {"cnpg.io/cluster": f"xn-{service}-db"}
                for r in p["spec"].get("egress", [])
                for peer in r.get("to", [])
            )
        ]
        assert len(db) == 1, f"{service} to its database"
    kafka_clients = one(policies, "NetworkPolicy", "kafka-clients-to-kafka")
    assert kafka_clients["spec"]["podSelector"]["matchLabels"] == {"xiaoneng.gov/kafka-client": "true"}
    for workload, _pod in _workloads(rendered[overlay]):
        if workload["kind"] == "Deployment":
            labels = workload["spec"]["template"]["metadata"]["labels"]
            assert labels["xiaoneng.gov/kafka-client"] == "true", workload["metadata"]["name"]
