"""Every overlay renders and validates strictly; a broken manifest fails the very same check.

The check is ``devtools.k8s_tools.check_overlay`` (what ``python -m devtools.k8s_tools check``
runs): ``kubectl kustomize`` then kubeconform against the Kubernetes schemas and the operators'
own CRD schemas, unknown fields rejected, a kind without a schema an error.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from devtools import k8s_tools
from tests.support.manifests import OVERLAYS

PRODUCTION = k8s_tools.OVERLAYS_DIR / "production"


def test_every_overlay_renders_and_every_object_is_valid(tools: k8s_tools.Tools) -> None:
    assert sorted(p.name for p in k8s_tools.overlays()) == sorted(OVERLAYS)
    for overlay in k8s_tools.overlays():
        seen, problems = k8s_tools.check_overlay(overlay, tools)
        assert problems == [], "\n".join(map(str, problems))
        assert seen > 50, f"{overlay.name} rendered only {seen} objects"


def test_the_command_line_check_passes_on_the_repository() -> None:
    assert k8s_tools.main(["check"]) == 0


def _overlay_with(tmp_path: Path, manifest: str) -> Path:
    """The production overlay plus one extra manifest, as a new overlay in ``tmp_path``."""
    (tmp_path / "extra.yaml").write_text(manifest)
    (tmp_path / "kustomization.yaml").write_text(
        "apiVersion: kustomize.config.k8s.io/v1beta1\n"
        "kind: Kustomization\n"
        f"resources:\n  - {os.path.relpath(PRODUCTION, tmp_path)}\n  - extra.yaml\n"
    )
    return tmp_path


BROKEN = {
    "deployment-wrong-type": (
        """
apiVersion: apps/v1
kind: Deployment
metadata:
  name: broken-web
spec:
  replicas: "two"
  selector:
    matchLabels: {app: broken}
  template:
    metadata:
      labels: {app: broken}
    spec:
      containers:
        - name: web
          image: xiaoneng
""",
        "Deployment/broken-web",
        "/spec/replicas",
    ),
    "container-unknown-field": (
        """
apiVersion: batch/v1
kind: Job
metadata:
  name: broken-job
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: job
          image: xiaoneng
          comand: ["python"]
""",
        "Job/broken-job",
        "comand",
    ),
    "kafkatopic-unknown-field": (
        """
apiVersion: kafka.strimzi.io/v1
kind: KafkaTopic
metadata:
  name: broken-topic
  labels: {strimzi.io/cluster: xn-kafka}
spec:
  partitions: 3
  replicas: 3
  retention: 7d
""",
        "KafkaTopic/broken-topic",
        "retention",
    ),
    "kafka-nodepool-bad-role": (
        """
apiVersion: kafka.strimzi.io/v1
kind: KafkaNodePool
metadata:
  name: broken-pool
  labels: {strimzi.io/cluster: xn-kafka}
spec:
  replicas: 3
  roles: ["zookeeper"]
  storage: {type: ephemeral}
""",
        "KafkaNodePool/broken-pool",
        "/spec/roles/0",
    ),
    "kafkauser-unknown-acl-operation": (
        """
apiVersion: kafka.strimzi.io/v1
kind: KafkaUser
metadata:
  name: broken-user
  labels: {strimzi.io/cluster: xn-kafka}
spec:
  authentication: {type: scram-sha-512}
  authorization:
    type: simple
    acls:
      - resource: {type: topic, name: gov.efficiency., patternType: prefix}
        operations: [Describe, Publish]
""",
        "KafkaUser/broken-user",
        "/spec/authorization/acls/0/operations/1",
    ),
    "cnpg-cluster-invalid": (
        """
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: broken-db
spec:
  instances: 3
  storage: {size: 1Gi}
  bootstrap:
    initdb:
      database: xn_broken
      ownr: xn_broken
""",
        "Cluster/broken-db",
        "ownr",
    ),
    "kind-without-schema": (
        """
apiVersion: example.gov.cn/v1
kind: Unheard
metadata:
  name: mystery
spec: {}
""",
        "Unheard/mystery",
        "could not find schema",
    ),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_a_broken_manifest_fails_the_check_naming_the_object(
    case: str, tools: k8s_tools.Tools, tmp_path: Path
) -> None:
    manifest, what, detail = BROKEN[case]
    seen, problems = k8s_tools.check_overlay(_overlay_with(tmp_path, manifest), tools)
    messages = [str(p) for p in problems]
    assert len(problems) == 1, messages
    assert what in messages[0] and detail in messages[0], messages[0]
    # Everything else of the production overlay was still validated, and was valid.
    assert seen > 50


def test_the_command_line_check_exits_non_zero_on_a_broken_overlay(tmp_path: Path) -> None:
    manifest = BROKEN["deployment-wrong-type"][0]
    assert k8s_tools.main(["check", str(_overlay_with(tmp_path, manifest))]) == 1


def test_an_overlay_that_does_not_render_fails_the_check(tools: k8s_tools.Tools, tmp_path: Path) -> None:
    (tmp_path / "kustomization.yaml").write_text("resources:\n  - missing.yaml\n")
    _, problems = k8s_tools.check_overlay(tmp_path, tools)
    assert len(problems) == 1 and "kubectl kustomize" in problems[0].message
