"""What the development tools share: where they cache what they assemble, the versions their
Maven poms pin, a lock around assembling, and the tail of a failed command's output."""

from __future__ import annotations

import contextlib
import fcntl
import os
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

_MAVEN_NS = {"m": "http://maven.apache.org/POM/4.0.0"}


def cache_root() -> Path:
    """``${XDG_CACHE_HOME:-~/.cache}/xiaoneng``: assembled tools live below it, one folder each."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "xiaoneng"


def pom_property(pom: Path, name: str, *, error: type[Exception] = LookupError) -> str:
    """The value of ``<properties><name>`` in ``pom``; ``error`` (the tool's own) if missing or empty."""
    node = ET.parse(pom).getroot().find(f"m:properties/m:{name}", _MAVEN_NS)
    if node is None or not (node.text or "").strip():
        raise error(f"{pom} does not define <{name}>")
    return (node.text or "").strip()


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """An exclusive lock on ``path`` (created): one process assembles a cache at a time."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def tail(text: str, lines: int = 40) -> str:
    """The last ``lines`` lines of a command's output, for an error message."""
    return "\n".join(text.splitlines()[-lines:])
