"""Demo data for the local modes (``make run``, ``make up``) in dev: API clients with known
secrets, the two 2018 documents of fgw with their assessment scheme, and a recent year of the city
in every service (``seed_year``: one module per service, ``launcher/demo_*.py``, each through the
public API and once), and the tour the banner ends with.

Their secrets are in this file, so they must never exist outside dev: :func:`retire` removes
those an earlier dev run left in the same data folder.
"""

from __future__ import annotations

import asyncio
import logging
import shlex
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
from sqlalchemy import delete, insert

from launcher import (
    demo_coordination,
    demo_disclosure,
    demo_evaluation,
    demo_indicators,
    demo_major_matters,
    demo_webhooks,
)
from launcher.demo_api import token
from services.gateway import clients
from services.gateway.tables import api_client_changes, api_clients
from shared.clock import utc_now
from shared.db import Database
from shared.deadlines import local_date

log = logging.getLogger("xiaoneng.demo")

DEMO_CLIENTS: dict[str, dict[str, Any]] = {
    "demo-office": {"name": "市政府办公室（演示）", "roles": ["office"], "department": "office"},
    "demo-fgw": {"name": "市发改委（演示）", "roles": ["department"], "department": "fgw"},
    "demo-supervisor": {"name": "市政府督查室（演示）", "roles": ["supervisor"], "department": "supervision"},
    "demo-admin": {"name": "管理员（演示）", "roles": ["admin"], "department": None},
    "demo-leader": {"name": "副秘书长（联系城建）（演示）", "roles": ["leader"], "department": "dsg-urban"},
    "demo-evaluator": {"name": "评定人（演示）", "roles": ["evaluator"], "department": None},
}

DEMO_DOCUMENTS = [
    {
        "document_number": "湖政办发〔2018〕30号",
        "title": "关于进一步加强行政效能建设的通知",
        "drafting_department": "fgw",
        "formed_on": "2018-05-10",
    },
    {
        "document_number": "湖政发〔2018〕12号",
        "title": "关于优化营商环境的若干意见",
        "drafting_department": "fgw",
        "formed_on": "2018-06-14",
    },
]

# The assessment scheme set for the demo year, the year of the demo documents.
DEMO_ASSESSMENT_SCHEME = "wenzhou-2013"
DEMO_ASSESSMENT_YEAR = 2018


async def seed(gateway_url: str, db: Database) -> dict[str, str]:
    """Register the demo clients (secret = ``<client_id>-secret``) in the gateway database ``db``,
    and the demo documents once."""
    credentials = {}
    for client_id, spec in DEMO_CLIENTS.items():
        secret = f"{client_id}-secret"
        await clients.register_client(db, client_id=client_id, secret=secret, actor="demo", **spec)
        credentials[client_id] = secret
    async with httpx.AsyncClient(base_url=gateway_url, timeout=60) as http:
        office = await token(http, "demo-office")
        for doc in DEMO_DOCUMENTS:
            response = await http.post("/api/v1/disclosure/documents", json=doc, headers=office)
            if response.status_code not in (201, 409):
                log.warning("demo document not registered: %s %s", response.status_code, response.text)
        await _demo_assessment_scheme(http, office)
        await seed_year(http)
    return credentials


async def seed_year(http: httpx.AsyncClient) -> None:
    """The twelve months up to today of this city, through the API, each service once; the
    services' parts side by side (they share nothing), each in its own order."""
    today = local_date(utc_now())
    started = time.monotonic()
    await asyncio.gather(*(token(http, c) for c in ("demo-office", "demo-admin", "demo-leader")))
    await asyncio.gather(
        demo_disclosure.seed(http, today),
        demo_major_matters.seed(http),
        demo_coordination.seed(http, today),
        demo_indicators.seed(http, today),
        demo_webhooks.seed(http),
    )
    await demo_evaluation.seed(http, today)
    log.info("demo year in place after %.1f s", time.monotonic() - started)


async def _demo_assessment_scheme(http: httpx.AsyncClient, office: dict[str, str]) -> None:
    """The 003 scheme (wenzhou-2013) for the demo year over this city's departments, once (E6)."""
    url = f"/api/v1/evaluation/assessment/years/{DEMO_ASSESSMENT_YEAR}/scheme"
    if (await http.get(url, headers=office)).status_code == 200:
        return
    response = await http.put(url, json={"based_on": DEMO_ASSESSMENT_SCHEME}, headers=office)
    if response.status_code != 200:
        log.warning("demo assessment scheme not set: %s %s", response.status_code, response.text)


async def retire(db: Database) -> None:
    """Remove the demo clients from the gateway database ``db`` (any environment but dev)."""
    now = utc_now()
    async with db.transaction() as session:
        removed = (
            await session.execute(
                delete(api_clients)
                .where(api_clients.c.client_id.in_(DEMO_CLIENTS))
                .returning(api_clients.c.client_id)
            )
        ).scalars()
        changes = [clients.change_row(c, "deleted", "launcher", now, {"demo": True}) for c in removed]
        if changes:
            await session.execute(insert(api_client_changes), changes)
    if changes:
        log.warning("removed %d demo client(s) an earlier dev run had registered", len(changes))


async def prepare(gateway_url: str, database_url: str, *, dev: bool) -> dict[str, str]:
    """In dev the demo clients and documents (their credentials returned), elsewhere none; for a
    gateway in another process (``make up``), reached through its database URL."""
    db = Database(database_url)
    try:
        if dev:
            return await seed(gateway_url, db)
        await retire(db)
        return {}
    finally:
        await db.dispose()


def client_lines(credentials: dict[str, str], gateway_db: str) -> list[str]:
    """The banner's lines about API clients: the demo ones, or how to register one."""
    if credentials:
        return ["  Demo clients (client_id / client_secret) for POST /api/v1/oauth/token:"] + [
            f"    {cid} / {secret}" for cid, secret in credentials.items()
        ]
    return [
        "  No demo clients outside XN_ENVIRONMENT=dev; register a client with",
        f'    XN_GATEWAY_DATABASE_URL="{gateway_db}" \\',
        "      .venv/bin/python -m services.gateway.cli add-client --id ID --name NAME --roles ROLES",
    ]


def tour_lines(gateway_url: str) -> list[str]:
    """The banner's short tour of the demo year: five requests, as curl commands that run verbatim
    in a POSIX shell (Chinese in a URL percent-encoded; the token read with jq)."""
    today = local_date(utc_now())
    search = quote("交通")
    auth = '-H "Authorization: Bearer $TOKEN"'
    return [
        "  A short tour of the demo year (first a token of demo-office):",
        f"    TOKEN=$(curl -s -d grant_type=client_credentials -d client_id=demo-office "
        f"-d client_secret=demo-office-secret {gateway_url}/api/v1/oauth/token | jq -r .access_token)",
        "    # 1. the public catalogue, searched (no token)",
        f"    curl -s '{gateway_url}/api/v1/disclosure/catalogue?q={search}'",
        "    # 2. this year's disclosure: published on time, late, overdue, exempt per department",
        f"    curl -s {auth} '{gateway_url}/api/v1/disclosure/statistics?period={today.year}'",
        "    # 3. joint-matter items deemed consent at their deadline (C4)",
        f"    curl -s {auth} '{gateway_url}/api/v1/coordination/joint-items?state=deemed-consent'",
        "    # 4. the interview after three monthly releases below 5th (I5; the bulletins: .../bulletins)",
        f"    curl -s {auth} '{gateway_url}/api/v1/indicators/interviews'",
        "    # 5. what the evaluation knows of 市经信委 (jxw) from every service",
        f"    curl -s {auth} '{gateway_url}/api/v1/evaluation/departments/jxw/facts'",
    ]


def gateway_database_command(password_file: Path, port: int) -> str:
    """The gateway database URL as a shell word that reads the password from its file."""
    return (
        f"postgresql+asyncpg://postgres:$(cat {shlex.quote(str(password_file))})@127.0.0.1:{port}/xn_gateway"
    )


def find_app(app: Any) -> Any:
    # uvicorn wraps the app in middleware proxies; the FastAPI app holds ``state.ctx``.
    while not hasattr(getattr(app, "state", None), "ctx"):
        app = app.app
    return app
