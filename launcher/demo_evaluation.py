"""Demo data for the evaluation (E1–E5): the last two quarterly rounds, run to their published
results with the encrypted ballot and three trustees.

The administrator imports the panel's evaluator accounts and the working group's three trustee
accounts (``/api/v1/clients/import``; generated secrets, used here once and never printed); the
first seat is the ``demo-evaluator`` client's, which voted in both rounds
(``GET /api/v1/evaluation/rounds/{id}/participation/me``). Each round: the office names the panel
and the trustees (threshold two), the trustees run the key ceremony as their command does
(``services.evaluation.trustee``: register, deal, confirm), the pack is published and the vote
opened; 80 evaluators vote (their three choices, encrypted by the service), the vote closes, two
trustees decrypt the aggregates, the office tallies and publishes. 市体育局 is among the three
selected both quarters, so the second round calls it to an interview with its vice-mayor (E4); no
department is selected three quarters running, so none is designated. fgw, the demo department,
gets no vote (its facts stay the documents').

Seeds only while the older round does not exist: a second start adds nothing.
"""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from typing import Any

import httpx

from launcher.demo_api import Headers, exists, log, send, token
from services.evaluation import trustee
from services.evaluation.domain import Quarter, schedule_for
from shared.policy import load_profile
from shared.reference import evaluable_departments, panel_categories
from shared.settings import CommonSettings

API = "/api/v1/evaluation"
PANEL = "demo-panel-{n:03d}"
TRUSTEES = ["demo-trustee-1", "demo-trustee-2", "demo-trustee-3"]
TURNOUT = 80
INTERVIEWED = "tyj"
COUNTS = ({INTERVIEWED: 46, "rfb": 35, "dsjzx": 28}, {INTERVIEWED: 41, "zwb": 33, "lfw": 27})
"""Votes of the three departments selected in each round; the other places go round the rest."""
LEFT_OUT = "fgw"


def quarters(today: date) -> list[Quarter]:
    """The two latest quarters whose rounds are over (tally date passed), older first."""
    schedule = load_profile(CommonSettings().policy_profile).evaluation.schedule
    latest = Quarter.of(today).previous()
    if today <= schedule_for(latest, schedule).tally_due:
        latest = latest.previous()
    return [latest.previous(), latest]


def panel_seats() -> list[tuple[str, str | None]]:
    """(category, district) of each of the 100 seats, at the quotas and district splits of 附件4 §三."""
    return [
        (c.code, q.district) for c in panel_categories() for q in c.district_quotas for _ in range(q.quota)
    ] + [(c.code, None) for c in panel_categories() if not c.district_quotas for _ in range(c.quota)]


def ballots(counts: dict[str, int]) -> list[list[str]]:
    """``TURNOUT`` ballots of three distinct departments giving each of ``counts`` its votes and
    spreading the other places over the remaining departments (a few votes each)."""
    others = [d.code for d in evaluable_departments() if d.code not in counts and d.code != LEFT_OUT]
    spare = iter(others * TURNOUT)
    found = []
    for n in range(TURNOUT):
        names = [d for d, votes in counts.items() if n < votes]
        while len(names) < 3:
            names.append(next(spare))
        found.append(names)
    return found


async def seed(http: httpx.AsyncClient, today: date) -> None:
    office = await token(http, "demo-office")
    rounds = quarters(today)
    if (await http.get(f"{API}/rounds/{rounds[0]}", headers=office)).status_code != 404:
        return
    accounts = await _accounts(http)
    if accounts is None:
        return
    voters, trustees = accounts
    for quarter, counts in zip(rounds, COUNTS, strict=True):
        if not await _round(http, office, str(quarter), voters, trustees, counts):
            return


async def _accounts(http: httpx.AsyncClient) -> tuple[list[Headers], list[Headers]] | None:
    """The panel's and the trustees' accounts, imported at once (or, made by a start interrupted
    before its rounds, given new secrets), each with a token."""
    admin = await token(http, "demo-admin")
    seats = panel_seats()
    clients: list[dict[str, Any]] = [
        {"client_id": PANEL.format(n=n), "name": f"评定人 {n:03d}（演示）", "roles": ["evaluator"]}
        for n in range(2, len(seats) + 1)
    ] + [
        {"client_id": t, "name": f"受托人 {t[-1]}（演示，评定工作小组）", "roles": ["supervisor"]}
        for t in TRUSTEES
    ]
    gate = asyncio.Semaphore(8)
    if await exists(http, f"/api/v1/clients/{PANEL.format(n=2)}", admin):
        # Imported by a start interrupted before its rounds: new secrets.

        async def rotated(client_id: str) -> dict[str, Any] | None:
            async with gate:
                return await send(http, "POST", f"/api/v1/clients/{client_id}/secret/rotate", admin)

        granted = await asyncio.gather(*(rotated(c["client_id"]) for c in clients))
    else:
        imported = await send(http, "POST", "/api/v1/clients/import", admin, {"clients": clients})
        granted = [None] if imported is None else imported["clients"]
    if None in granted:
        return None

    async def bearer(account: dict[str, Any]) -> Headers:
        form = {"grant_type": "client_credentials", **account}
        async with gate:
            answer = (await http.post("/api/v1/oauth/token", data=form)).json()
        return {"Authorization": f"Bearer {answer['access_token']}"}

    headers = await asyncio.gather(*(bearer(a) for a in granted if a is not None))
    own = await token(http, "demo-evaluator")
    return [own, *headers[: len(seats) - 1]], list(headers[len(seats) - 1 :])


async def _round(
    http: httpx.AsyncClient,
    office: Headers,
    quarter: str,
    voters: list[Headers],
    trustees: list[Headers],
    counts: dict[str, int],
) -> bool:
    """One round from creation to published results; False (with a warning) if a step is refused."""
    url = f"{API}/rounds/{quarter}"
    created = await send(http, "POST", f"{API}/rounds", office, {"quarter": quarter})
    if created is None:
        return False
    vote_on = date.fromisoformat(created["schedule"]["vote_on"])
    named_on = (vote_on - timedelta(days=2)).isoformat()
    entries = [
        {
            "person_id": f"demo-person-{n:03d}",
            "name": f"评定人{n:03d}",
            "category": category,
            "district": district,
            "account": trustee.account_of(headers),
            "named_on": named_on,
        }
        for n, ((category, district), headers) in enumerate(zip(panel_seats(), voters, strict=True), start=1)
    ]
    body: dict[str, Any] = {
        "threshold": 2,
        "trustees": [
            {"account": trustee.account_of(h), "name": f"受托人{i}"} for i, h in enumerate(trustees, 1)
        ],
    }
    if (
        await send(http, "POST", f"{url}/panel", office, {"entries": entries}) is None
        or await send(http, "PUT", f"{url}/trustees", office, body) is None
    ):
        return False
    try:
        secrets = [await trustee.register(http, API, quarter, h) for h in trustees]
        for secret, h in zip(secrets, trustees, strict=True):
            await trustee.deal(http, API, secret, h)
        for secret, h in zip(secrets, trustees, strict=True):
            await trustee.confirm(http, API, secret, h)
    except trustee.TrusteeError as error:
        return await _refused(f"key ceremony of {quarter}: {error}")
    if not await _steps(http, url, office, "publish-reference-pack", "open-voting"):
        return False
    gate = asyncio.Semaphore(8)

    async def cast(headers: Headers, names: list[str]) -> None:
        async with gate:
            await send(
                http, "POST", f"{url}/ballots", headers, {"choices": [{"department": d} for d in names]}
            )

    await asyncio.gather(*(cast(h, names) for h, names in zip(voters, ballots(counts), strict=False)))
    if not await _steps(http, url, office, "close-voting"):
        return False
    try:
        for secret, h in list(zip(secrets, trustees, strict=True))[:2]:
            await trustee.decrypt(http, API, secret, h)
    except trustee.TrusteeError as error:
        return await _refused(f"decryption of {quarter}: {error}")
    return await _steps(http, url, office, "tally", "publish-results")


async def _steps(http: httpx.AsyncClient, url: str, office: Headers, *steps: str) -> bool:
    """The office's ``steps`` of the round at ``url`` in order; False at the first refused."""
    for step in steps:
        if await send(http, "POST", f"{url}/{step}", office) is None:
            return False
    return True


async def _refused(what: str) -> bool:
    log.warning("demo step refused: %s", what)
    return False
