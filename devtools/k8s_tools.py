"""Validate the Kubernetes manifests offline: kubeconform plus the Kubernetes and operators' schemas.

``assemble`` builds everything into ``${XDG_CACHE_HOME:-~/.cache}/xiaoneng/k8s-tools/`` once, from
the registries a developer machine and CI reach (no GitHub, no container registry):

- **kubeconform** (:data:`KUBECONFORM_VERSION`) built from the Go module proxy with ``go install``;
  the Go toolchain checks the module against the checksum database, and the module's hash is
  compared with :data:`KUBECONFORM_SUM`.
- **Kubernetes schemas** (:data:`KUBERNETES_VERSION`, strict: unknown fields rejected) from the
  ``kubernetes-validate`` package of the dev dependencies. Its files point into a shared
  ``_definitions.json`` by an absolute URL that kubeconform cannot resolve offline, so each
  top-level kind is written out standalone, with the definitions it reaches embedded under
  ``$defs``.
- **CloudNativePG CRDs** (:data:`CNPG_VERSION`) from the operator's own Go module
  (``config/crd/bases``), module hash compared with :data:`CNPG_SUM`.
- **Strimzi CRDs** (:data:`STRIMZI_VERSION`): Strimzi generates its CRDs from its API classes, so
  its CRD generator is run on ``io.strimzi:api`` from Maven Central (``devtools/k8s/strimzi-pom.xml``;
  jar hashes compared with :data:`STRIMZI_JARS`). The generator needs Java 21+.

CRD ``openAPIV3Schema`` trees become strict JSON Schemas (``additionalProperties: false`` wherever
an object lists its properties and does not preserve unknown fields), named as kubeconform expects:
``crds/<group>/<kind>_<version>.json``.

``check`` renders every overlay of ``deploy/k8s/overlays`` with ``kubectl kustomize`` and validates
every object; an invalid object, an unknown field or a kind without a schema fails.

Command line (the Makefile's ``k8s-tools`` target)::

    python -m devtools.k8s_tools assemble
    python -m devtools.k8s_tools check [OVERLAY_DIR ...]
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import yaml

from devtools.cache import cache_root, file_lock, pom_property, tail

__all__ = [
    "KUBERNETES_VERSION",
    "Problem",
    "Tools",
    "ToolsError",
    "assemble",
    "check_overlay",
    "check_overlays",
    "main",
    "render",
    "validate",
]

logger = logging.getLogger("devtools.k8s_tools")

ROOT: Final = Path(__file__).resolve().parent.parent
OVERLAYS_DIR: Final = ROOT / "deploy" / "k8s" / "overlays"
STRIMZI_POM: Final = Path(__file__).resolve().parent / "k8s" / "strimzi-pom.xml"

KUBECONFORM_MODULE: Final = "github.com/yannh/kubeconform"
KUBECONFORM_VERSION: Final = "v0.8.0"
# Kubernetes minor the manifests are checked against: the oldest minor still maintained upstream
# (1.35, 1.36, 1.37 in late 2026), so nothing here needs a newer cluster than a city may run.
KUBERNETES_VERSION: Final = "1.35.0"
CNPG_MODULE: Final = "github.com/cloudnative-pg/cloudnative-pg"
CNPG_VERSION: Final = "v1.27.1"
# CRDs of CloudNativePG the manifests use (file names under config/crd/bases).
CNPG_CRDS: Final = ("postgresql.cnpg.io_clusters.yaml", "postgresql.cnpg.io_scheduledbackups.yaml")
# Strimzi custom resources the manifests use: API class -> kind.
STRIMZI_CLASSES: Final = {
    "io.strimzi.api.kafka.model.kafka.Kafka": "Kafka",
    "io.strimzi.api.kafka.model.nodepool.KafkaNodePool": "KafkaNodePool",
    "io.strimzi.api.kafka.model.topic.KafkaTopic": "KafkaTopic",
    "io.strimzi.api.kafka.model.user.KafkaUser": "KafkaUser",
}
# Go module hashes (go.sum "h1:" form) as the checksum database records them.
KUBECONFORM_SUM: Final = "h1:loDYd3a3spjIFrauqW67CDKF55Oo9R6uvC8AvpVd4ug="
CNPG_SUM: Final = "h1:w+bbtXyEPoaa7sZGXxbb8qJ+/bUGWQ3M48kbNUEpKlk="
_MODULE_SUMS: Final = {
    (KUBECONFORM_MODULE, KUBECONFORM_VERSION): KUBECONFORM_SUM,
    (CNPG_MODULE, CNPG_VERSION): CNPG_SUM,
}
# SHA-256 of the Strimzi jars the CRDs are generated from.
STRIMZI_JARS: Final = {
    "api-1.2.0.jar": "566961ae5e5646a001ae91312beda5cba3a5d467e740e205e1b761754335fe4e",
    "crd-generator-1.2.0.jar": "76bb2430e702a1e6a24c071d26c865d5e9572cbc630d176d3b912033ae23ed00",
}
_MARKER_NAME: Final = ".assembled"
# Bump when the way the cache is built changes, so old caches are rebuilt.
_LAYOUT_VERSION: Final = "1"


class ToolsError(RuntimeError):
    """A tool could not be assembled or run (the message says what and why)."""


@dataclass(frozen=True)
class Problem:
    """One object that failed validation (or a whole overlay that failed to render)."""

    source: str
    kind: str
    name: str
    message: str

    def __str__(self) -> str:
        what = f"{self.kind}/{self.name}" if self.kind else "(render)"
        return f"{self.source}: {what}: {self.message}"


@dataclass(frozen=True)
class Tools:
    """Where an assembled cache keeps the validator and the schemas."""

    root: Path

    @property
    def kubeconform(self) -> Path:
        # Beside the schemas, per version: a schema change does not rebuild the binary.
        return self.root.parent / "bin" / f"kubeconform-{KUBECONFORM_VERSION}"

    @property
    def kubernetes_schemas(self) -> Path:
        return self.root / "schemas" / "kubernetes"

    @property
    def crd_schemas(self) -> Path:
        return self.root / "schemas" / "crds"

    def schema_locations(self) -> list[str]:
        return [
            str(self.kubernetes_schemas / "{{ .ResourceKind }}{{ .KindSuffix }}.json"),
            str(self.crd_schemas / "{{ .Group }}" / "{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json"),
        ]


STRIMZI_VERSION: Final = pom_property(STRIMZI_POM, "strimzi.version", error=ToolsError)


def default_cache_dir() -> Path:
    """``${XDG_CACHE_HOME:-~/.cache}/xiaoneng/k8s-tools``."""
    return cache_root() / "k8s-tools"


def _kubernetes_source() -> Path:
    import kubernetes_validate

    folder = (
        Path(kubernetes_validate.__file__).resolve().parent
        / "kubernetes-json-schema"
        / f"v{KUBERNETES_VERSION}-local-strict"
    )
    if not (folder / "_definitions.json").is_file():
        raise ToolsError(f"kubernetes-validate has no strict schemas for Kubernetes {KUBERNETES_VERSION}")
    return folder


def _fingerprint() -> str:
    """Changes whenever a pinned version or the way schemas are made changes."""
    h = hashlib.sha256()
    for part in (
        _LAYOUT_VERSION,
        KUBECONFORM_VERSION,
        KUBERNETES_VERSION,
        CNPG_VERSION,
        ",".join(CNPG_CRDS),
        ",".join(STRIMZI_CLASSES),
        json.dumps(STRIMZI_JARS, sort_keys=True),
    ):
        h.update(part.encode() + b"\0")
    h.update(STRIMZI_POM.read_bytes())
    h.update(Path(__file__).read_bytes())
    return h.hexdigest()


def _run(cmd: Sequence[str], what: str, *, env: dict[str, str] | None = None, cwd: Path | None = None) -> str:
    proc = subprocess.run(
        list(cmd), capture_output=True, text=True, check=False, env=env, cwd=cwd, stdin=subprocess.DEVNULL
    )
    if proc.returncode != 0:
        raise ToolsError(f"{what} failed (exit {proc.returncode}):\n{tail(proc.stdout + proc.stderr)}")
    return proc.stdout


# --- Go modules: kubeconform and the CloudNativePG CRDs ---------------------------------------------


def _go() -> str:
    go = shutil.which("go")
    if go is None:
        raise ToolsError("`go` not found on PATH: kubeconform and the CloudNativePG CRDs come as Go modules")
    return go


def _go_env() -> dict[str, str]:
    # Modules come through the proxy (GOPROXY) and are checked against the checksum database.
    env = dict(os.environ)
    env["GO111MODULE"] = "on"
    return env


def _download_module(module: str, version: str) -> Path:
    out = _run(
        [_go(), "mod", "download", "-json", f"{module}@{version}"],
        f"go mod download {module}@{version}",
        env=_go_env(),
        cwd=Path(tempfile.gettempdir()),
    )
    info = json.loads(out)
    if info.get("Error"):
        raise ToolsError(f"go mod download {module}@{version}: {info['Error']}")
    wanted = _MODULE_SUMS[(module, version)]
    if info.get("Sum") != wanted:
        raise ToolsError(f"{module}@{version} has hash {info.get('Sum')}, expected {wanted}")
    return Path(info["Dir"])


def _build_kubeconform(tools: Tools, work: Path) -> None:
    if tools.kubeconform.is_file():
        return
    _download_module(KUBECONFORM_MODULE, KUBECONFORM_VERSION)
    gobin = work / "gobin"
    env = _go_env()
    env["GOBIN"] = str(gobin)
    env["CGO_ENABLED"] = "0"
    logger.info("building kubeconform %s with go install (a minute or two on 2 cores)", KUBECONFORM_VERSION)
    started = time.monotonic()
    _run(
        [_go(), "install", f"{KUBECONFORM_MODULE}/cmd/kubeconform@{KUBECONFORM_VERSION}"],
        "go install kubeconform",
        env=env,
        cwd=Path(tempfile.gettempdir()),
    )
    if not (gobin / "kubeconform").is_file():
        raise ToolsError(f"go install succeeded but {gobin / 'kubeconform'} is missing")
    tools.kubeconform.parent.mkdir(parents=True, exist_ok=True)
    (gobin / "kubeconform").replace(tools.kubeconform)
    logger.info("built kubeconform in %.0f s", time.monotonic() - started)


def _cnpg_crds() -> list[dict[str, Any]]:
    logger.info("fetching CloudNativePG %s CRDs from the Go module proxy", CNPG_VERSION)
    folder = _download_module(CNPG_MODULE, CNPG_VERSION) / "config" / "crd" / "bases"
    crds = []
    for name in CNPG_CRDS:
        path = folder / name
        if not path.is_file():
            raise ToolsError(f"CloudNativePG {CNPG_VERSION} module has no {path.name}")
        crds.append(yaml.safe_load(path.read_text()))
    return crds


# --- Strimzi CRDs, generated from the API classes ---------------------------------------------------


def _java_major(java: Path) -> int:
    proc = subprocess.run(
        [str(java), "-version"], capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL
    )
    match = re.search(r'version "(\d+)(?:\.(\d+))?', proc.stderr + proc.stdout)
    if proc.returncode != 0 or match is None:
        return 0
    major = int(match.group(1))
    return int(match.group(2) or 0) if major == 1 else major


def _java_21() -> Path:
    """A Java 21+ runtime: JAVA_HOME, ``java`` on PATH, else the newest JDK under /usr/lib/jvm."""
    candidates: list[Path] = []
    if home := os.environ.get("JAVA_HOME"):
        candidates.append(Path(home) / "bin" / "java")
    if on_path := shutil.which("java"):
        candidates.append(Path(on_path))
    candidates.extend(sorted(Path("/usr/lib/jvm").glob("*/bin/java")))
    best: tuple[int, Path] | None = None
    for java in candidates:
        if java.is_file():
            major = _java_major(java)
            if major >= 21 and (best is None or major > best[0]):
                best = (major, java)
    if best is None:
        raise ToolsError(
            "the Strimzi CRD generator needs Java 21 or newer; none found in JAVA_HOME, PATH or "
            "/usr/lib/jvm (install one, e.g. apt-get install openjdk-21-jdk-headless where available)"
        )
    return best[1]


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _strimzi_crds(work: Path) -> list[dict[str, Any]]:
    mvn = shutil.which("mvn")
    if mvn is None:
        raise ToolsError("`mvn` not found on PATH; the Strimzi CRDs are generated from Maven Central jars")
    libs = work / "strimzi-libs"
    logger.info("fetching Strimzi %s API and CRD generator from Maven Central", STRIMZI_VERSION)
    _run(
        [
            mvn,
            "-q",
            "-B",
            "-f",
            str(STRIMZI_POM),
            "dependency:copy-dependencies",
            f"-DoutputDirectory={libs}",
        ],
        "mvn dependency:copy-dependencies (Strimzi)",
    )
    for name, digest in STRIMZI_JARS.items():
        jar = libs / name
        if not jar.is_file():
            raise ToolsError(f"Maven did not fetch {name}")
        if _sha256(jar) != digest:
            raise ToolsError(f"{name} has SHA-256 {_sha256(jar)}, expected {digest}")
    out = work / "strimzi-crds"
    out.mkdir()
    args = [f"{cls}={out / (kind.lower() + '.yaml')}" for cls, kind in STRIMZI_CLASSES.items()]
    java = _java_21()
    logger.info("generating Strimzi CRDs with %s", java)
    _run(
        [str(java), "-cp", f"{libs}/*", "io.strimzi.crdgenerator.CrdGenerator", "--yaml", *args],
        "Strimzi CRD generator",
    )
    return [yaml.safe_load((out / (kind.lower() + ".yaml")).read_text()) for kind in STRIMZI_CLASSES.values()]


# --- schema conversion ------------------------------------------------------------------------------


def _strict(node: Any) -> Any:
    """OpenAPI v3 (Kubernetes structural schema) -> strict JSON Schema, recursively."""
    if isinstance(node, list):
        return [_strict(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _strict(v) for k, v in node.items()}
    if out.pop("x-kubernetes-int-or-string", False):
        for key in ("type", "format"):
            out.pop(key, None)
        out.setdefault("anyOf", [{"type": "integer"}, {"type": "string"}])
    if out.pop("nullable", False) and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    preserve = out.get("x-kubernetes-preserve-unknown-fields", False)
    if "properties" in out and "additionalProperties" not in out and not preserve:
        out["additionalProperties"] = False
    return out


def crd_to_schemas(crd: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """``{"<group>/<kind>_<version>.json": schema}`` for every served version of a CRD."""
    spec = crd["spec"]
    group, kind = spec["group"], spec["names"]["kind"]
    schemas = {}
    for version in spec["versions"]:
        if not version.get("served", True):
            continue
        schema = _strict(copy.deepcopy(version["schema"]["openAPIV3Schema"]))
        props = schema.setdefault("properties", {})
        props["apiVersion"] = {"type": "string", "enum": [f"{group}/{version['name']}"]}
        props["kind"] = {"type": "string", "enum": [kind]}
        schema["additionalProperties"] = False
        schema["$schema"] = "http://json-schema.org/draft-07/schema#"
        schemas[f"{group}/{kind.lower()}_{version['name']}.json"] = schema
    return schemas


_DEFS_PREFIX: Final = "/api/_definitions.json#/$defs/"


def _refs(node: Any, found: set[str]) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            for prefix in (_DEFS_PREFIX, "#/$defs/"):
                if ref.startswith(prefix):
                    found.add(ref[len(prefix) :])
        for value in node.values():
            _refs(value, found)
    elif isinstance(node, list):
        for value in node:
            _refs(value, found)


def _local_refs(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            k: ("#/$defs/" + v[len(_DEFS_PREFIX) :])
            if k == "$ref" and isinstance(v, str) and v.startswith(_DEFS_PREFIX)
            else _local_refs(v)
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_local_refs(v) for v in node]
    return node


def standalone_kubernetes_schemas(source: Path, target: Path) -> int:
    """Write every top-level kind of ``source`` standalone into ``target``; returns how many."""
    definitions: dict[str, Any] = json.loads((source / "_definitions.json").read_text())["$defs"]
    written = 0
    for path in sorted(source.glob("*.json")):
        if path.name.startswith("_") or path.name == "all.json":
            continue
        schema = json.loads(path.read_text())
        props = schema.get("properties", {})
        if "enum" not in props.get("kind", {}) or "enum" not in props.get("apiVersion", {}):
            continue  # a definition, not a resource kind
        needed: set[str] = set()
        _refs(schema, needed)
        todo = list(needed)
        while todo:
            found: set[str] = set()
            _refs(definitions[todo.pop()], found)
            for name in found - needed:
                needed.add(name)
                todo.append(name)
        schema.pop("$id", None)
        schema = _local_refs(schema)
        schema["$defs"] = {name: _local_refs(definitions[name]) for name in sorted(needed)}
        (target / path.name).write_text(json.dumps(schema, separators=(",", ":")))
        written += 1
    return written


# --- assemble ---------------------------------------------------------------------------------------


def assemble(cache_dir: Path | None = None) -> Tools:
    """Build kubeconform and the schemas into the cache once; fast when already there.

    A marker (fingerprint of every pin and of this file) is written only after everything
    succeeded; anything else rebuilds the schemas from scratch. The kubeconform binary is kept per
    version beside them, so only a new version rebuilds it. Safe from several processes at once.
    """
    cache = (cache_dir or default_cache_dir()).expanduser().resolve()
    tools = Tools(cache / "current")
    marker = tools.root / _MARKER_NAME
    wanted = _fingerprint()
    with file_lock(cache / ".lock"):
        if marker.is_file() and marker.read_text().strip() == wanted and tools.kubeconform.is_file():
            logger.debug("k8s tools already assembled in %s", tools.root)
            return tools
        started = time.monotonic()
        logger.info("assembling kubeconform and schemas into %s", tools.root)
        staging = Tools(Path(tempfile.mkdtemp(prefix="staging-", dir=cache)))
        try:
            with tempfile.TemporaryDirectory(prefix="work-", dir=cache) as work_dir:
                work = Path(work_dir)
                staging.kubernetes_schemas.mkdir(parents=True)
                count = standalone_kubernetes_schemas(_kubernetes_source(), staging.kubernetes_schemas)
                logger.info("wrote %d standalone Kubernetes %s schemas", count, KUBERNETES_VERSION)
                crds = _cnpg_crds() + _strimzi_crds(work)
                for crd in crds:
                    for rel, schema in crd_to_schemas(crd).items():
                        path = staging.crd_schemas / rel
                        path.parent.mkdir(parents=True, exist_ok=True)
                        path.write_text(json.dumps(schema, separators=(",", ":")))
                logger.info(
                    "wrote CRD schemas: %s",
                    ", ".join(
                        sorted(
                            str(p.relative_to(staging.crd_schemas))
                            for p in staging.crd_schemas.rglob("*.json")
                        )
                    ),
                )
                _build_kubeconform(tools, work)
            (staging.root / _MARKER_NAME).write_text(wanted + "\n")
            shutil.rmtree(tools.root, ignore_errors=True)
            staging.root.rename(tools.root)
        finally:
            shutil.rmtree(staging.root, ignore_errors=True)
        logger.info("k8s tools assembled in %.0f s", time.monotonic() - started)
    return tools


# --- check ------------------------------------------------------------------------------------------


def _kubectl() -> str:
    beside = Path(sys.executable).parent / "kubectl"
    if beside.is_file():
        return str(beside)
    found = shutil.which("kubectl")
    if found is None:
        raise ToolsError("kubectl not found (it comes with the dev dependencies: make install)")
    return found


def render(overlay: Path) -> str:
    """``kubectl kustomize <overlay>``: the overlay's objects as one YAML stream."""
    return _run([_kubectl(), "kustomize", str(overlay)], f"kubectl kustomize {overlay}")


def _explain(res: dict[str, Any]) -> str:
    """The leaf errors of a kubeconform result, e.g. ``/spec/replicas: got string, want integer``."""
    msg = str(res.get("msg") or "")
    leaves = [
        f"{path or '/'}: {text.strip()}"
        for path, text in re.findall(r"at '([^']*)': (.*?)(?=\s+- at '|$)", msg)
        if text.strip() != "validation failed"
    ]
    if leaves:
        return "; ".join(leaves)
    errors = res.get("validationErrors") or []
    return (
        "; ".join(f"{e.get('path') or '/'}: {e.get('msg')}" for e in errors) or msg or str(res.get("status"))
    )


def validate(manifests: str, source: str, tools: Tools) -> tuple[int, list[Problem]]:
    """Validate a YAML stream strictly; returns (objects seen, problems)."""
    cmd = [str(tools.kubeconform), "-strict", "-summary", "-verbose", "-output", "json"]
    cmd += ["-kubernetes-version", KUBERNETES_VERSION]
    for location in tools.schema_locations():
        cmd += ["-schema-location", location]
    proc = subprocess.run([*cmd, "-"], input=manifests, capture_output=True, text=True, check=False)
    try:
        report = json.loads(proc.stdout)
    except json.JSONDecodeError as exc:
        raise ToolsError(f"kubeconform gave no report (exit {proc.returncode}): {tail(proc.stderr)}") from exc
    problems = []
    seen = 0
    for res in report.get("resources", []):
        seen += 1
        if res.get("status") in ("statusValid",):
            continue
        message = _explain(res)
        if res.get("status") == "statusSkipped":
            message = f"skipped (no schema?): {message}"
        problems.append(Problem(source, res.get("kind", ""), res.get("name", ""), message))
    if proc.returncode != 0 and not problems:
        problems.append(Problem(source, "", "", f"kubeconform exit {proc.returncode}: {tail(proc.stderr)}"))
    return seen, problems


def check_overlay(overlay: Path, tools: Tools) -> tuple[int, list[Problem]]:
    """Render one overlay and validate every object in it."""
    try:
        manifests = render(overlay)
    except ToolsError as exc:
        return 0, [Problem(str(overlay), "", "", str(exc))]
    objects = [d for d in yaml.safe_load_all(manifests) if d]
    seen, problems = validate(manifests, overlay.name, tools)
    if seen != len(objects):
        problems.append(Problem(overlay.name, "", "", f"rendered {len(objects)} objects, validated {seen}"))
    return seen, problems


def overlays() -> list[Path]:
    return sorted(p for p in OVERLAYS_DIR.iterdir() if (p / "kustomization.yaml").is_file())


def check_overlays(paths: Sequence[Path] | None = None, tools: Tools | None = None) -> list[Problem]:
    tools = tools or assemble()
    problems: list[Problem] = []
    for overlay in paths or overlays():
        seen, found = check_overlay(overlay, tools)
        status = "ok" if not found else f"{len(found)} problem(s)"
        logger.info("%s: %d objects validated, %s", overlay.name, seen, status)
        problems += found
    return problems


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.k8s_tools", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("assemble", help="build kubeconform and the schemas into the cache")
    chk = sub.add_parser("check", help="render and validate overlays (default: every overlay)")
    chk.add_argument("overlays", nargs="*", type=Path)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="k8s-tools: %(message)s")
    try:
        if args.command == "assemble":
            tools = assemble()
            logger.info("ready: %s", tools.root)
            return 0
        problems = check_overlays(args.overlays or None)
    except ToolsError as exc:
        logger.error("%s", exc)
        return 2
    for problem in problems:
        logger.error("%s", problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
