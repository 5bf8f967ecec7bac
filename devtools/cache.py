"""What the development tools share: where they cache what they assemble, and the versions
their Maven poms pin."""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from pathlib import Path

_MAVEN_NS = {"m": "http://maven.apache.org/POM/4.0.0"}


def cache_root() -> Path:
    """``${XDG_CACHE_HOME:-~/.cache}/xiaoneng``: assembled tools live below it, one folder each."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "xiaoneng"


def pom_property(pom: Path, name: str) -> str:
    """The value of ``<properties><name>`` in ``pom``; ``LookupError`` if it is missing or empty."""
    node = ET.parse(pom).getroot().find(f"m:properties/m:{name}", _MAVEN_NS)
    if node is None or not (node.text or "").strip():
        raise LookupError(f"{pom} does not define <{name}>")
    return (node.text or "").strip()
