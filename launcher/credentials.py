"""Secrets of the local modes (``make run``, ``make up``), kept in their data folder."""

from __future__ import annotations

import os
from pathlib import Path

from shared.embedded_pg import private_secret


def jwt_secret_env(data_dir: Path) -> dict[str, str]:
    """``XN_JWT_SECRET`` from ``data_dir/jwt-secret`` (0600, made on first start) unless the
    environment names a secret or a JWKS: nobody else knows it, and tokens outlive a restart."""
    if os.environ.get("XN_JWT_SECRET") or os.environ.get("XN_JWKS_URL"):
        return {}
    return {"XN_JWT_SECRET": private_secret(data_dir / "jwt-secret")}
