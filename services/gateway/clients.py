"""Registered API clients and the client-credentials grant (embedded mode and tests)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert

from services.gateway.tables import api_clients
from shared.auth import ROLES
from shared.db import Database

_SCRYPT = {"n": 2**14, "r": 8, "p": 1}


def hash_secret(secret: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(secret.encode(), salt=salt, **_SCRYPT)
    return f"scrypt${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def verify_secret(secret: str, stored: str) -> bool:
    try:
        scheme, salt_b64, digest_b64 = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    digest = hashlib.scrypt(secret.encode(), salt=base64.b64decode(salt_b64), **_SCRYPT)
    return hmac.compare_digest(digest, base64.b64decode(digest_b64))


async def register_client(
    db: Database,
    *,
    client_id: str,
    name: str,
    roles: list[str],
    department: str | None = None,
    secret: str | None = None,
) -> str:
    """Create or replace a client; returns its secret (shown once)."""
    unknown = sorted(set(roles) - set(ROLES))
    if unknown:
        raise ValueError(f"unknown roles: {', '.join(unknown)}")
    secret = secret or secrets.token_urlsafe(24)
    values = {
        "client_id": client_id,
        "secret_hash": hash_secret(secret),
        "name": name,
        "department": department,
        "roles": roles,
    }
    async with db.transaction() as session:
        stmt = pg_insert(api_clients).values(**values)
        await session.execute(stmt.on_conflict_do_update(index_elements=["client_id"], set_=values))
    return secret


async def authenticate_client(db: Database, client_id: str, secret: str) -> dict[str, object] | None:
    async with db.reader() as session:
        row = (await session.execute(select(api_clients).where(api_clients.c.client_id == client_id))).first()
    if row is None or not verify_secret(secret, row.secret_hash):
        return None
    return {"client_id": row.client_id, "department": row.department, "roles": list(row.roles)}
