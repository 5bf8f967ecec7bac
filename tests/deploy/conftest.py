"""Fixtures of the deploy checks: the assembled tools (kubeconform, schemas) and the rendered overlays."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from devtools import k8s_tools
from tests.support.infra import unavailable
from tests.support.manifests import OVERLAYS


@pytest.fixture(scope="session")
def tools() -> k8s_tools.Tools:
    try:
        return k8s_tools.assemble()
    except k8s_tools.ToolsError as exc:
        unavailable("kubeconform and the Kubernetes/operator schemas", str(exc))
        raise


@pytest.fixture(scope="session")
def rendered() -> dict[str, list[dict[str, Any]]]:
    """Every overlay's objects, as ``kubectl kustomize`` renders them."""
    try:
        return {
            name: [d for d in yaml.safe_load_all(k8s_tools.render(k8s_tools.OVERLAYS_DIR / name)) if d]
            for name in OVERLAYS
        }
    except k8s_tools.ToolsError as exc:
        unavailable("kubectl kustomize", str(exc))
        raise
