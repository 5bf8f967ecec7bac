"""E5: no process that serves a ballot request writes an access-log line for it (the path, with a
round and maybe a tracker, and the instant): uvicorn's access log is off for the gateway and the
evaluation service in every overlay, in the image's default command and in the local launchers."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from launcher import embedded, processes
from tests.support.manifests import OVERLAYS, Obj, one

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize("service", ["gateway", "evaluation"])
def test_E5_no_access_log_where_ballots_pass(
    overlay: str, service: str, rendered: dict[str, list[Obj]]
) -> None:
    deployments = [
        o
        for o in rendered[overlay]
        if o["kind"] == "Deployment" and o["metadata"]["name"].startswith(f"xn-{service}")
    ]
    web = [d for d in deployments if "worker" not in d["metadata"]["name"]]
    assert web
    for deployment in web:
        (container,) = one(rendered[overlay], "Deployment", deployment["metadata"]["name"])["spec"][
            "template"
        ]["spec"]["containers"]
        assert "--no-access-log" in container["command"], deployment["metadata"]["name"]


def test_E5_no_access_log_in_the_image_and_the_launchers() -> None:
    cmd = next(line for line in (ROOT / "Dockerfile").read_text().splitlines() if line.startswith("CMD"))
    assert "--no-access-log" in cmd
    assert "--no-access-log" in inspect.getsource(processes)
    assert "access_log=False" in inspect.getsource(embedded)
