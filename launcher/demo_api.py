"""What every demo module does through the gateway: get a demo client's token, send a request and
warn (never fail the start) when the system refuses it."""

from __future__ import annotations

import logging
from typing import Any
from weakref import WeakKeyDictionary

import httpx

log = logging.getLogger("xiaoneng.demo")

Headers = dict[str, str]

_TOKENS: WeakKeyDictionary[httpx.AsyncClient, dict[str, Headers]] = WeakKeyDictionary()


async def token(http: httpx.AsyncClient, client_id: str) -> Headers:
    """A bearer token of demo client ``client_id`` (its secret is ``<client_id>-secret``, see demo.py),
    asked for once per client and connection pool: checking a secret is slow by design."""
    cache = _TOKENS.setdefault(http, {})
    if client_id not in cache:
        form = {
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": f"{client_id}-secret",
        }
        answer = (await http.post("/api/v1/oauth/token", data=form)).json()
        cache[client_id] = {"Authorization": f"Bearer {answer['access_token']}"}
    return cache[client_id]


async def send(
    http: httpx.AsyncClient,
    method: str,
    url: str,
    headers: Headers,
    body: Any = None,
    *,
    expect: tuple[int, ...] = (200, 201),
) -> dict[str, Any] | None:
    """The answer's body, or None (with a warning naming the request) when its status is not in
    ``expect``: a demo step the system refuses is reported, and the start goes on."""
    response = await http.request(method, url, json=body, headers=headers)
    if response.status_code not in expect:
        log.warning(
            "demo step refused: %s %s -> %s %s", method, url, response.status_code, response.text[:300]
        )
        return None
    found: dict[str, Any] = response.json() if response.content else {}
    return found


async def exists(http: httpx.AsyncClient, url: str, headers: Headers) -> bool:
    """Whether ``url`` answers 200: the marker a demo module checks so that it seeds once."""
    return (await http.get(url, headers=headers)).status_code == 200
