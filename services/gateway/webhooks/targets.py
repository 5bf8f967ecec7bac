"""Where webhooks may be sent: the allow-list, and no private or loopback targets in production.

Checked when an endpoint is created or changed and again before every attempt, with the
host's addresses resolved at that moment (a name may later point somewhere else).
"""

from __future__ import annotations

import asyncio
import socket

from services.gateway.domain import ip_literal, target_host, target_refusal
from services.gateway.settings import GatewaySettings
from shared.settings import CommonSettings


async def resolve(host: str) -> list[str]:
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return []
    return sorted({str(info[4][0]).split("%", 1)[0] for info in infos})


async def refusal(url: str, settings: GatewaySettings, common: CommonSettings) -> str | None:
    """Why ``url`` may not receive webhooks in this deployment, or None."""
    host = target_host(url)
    if host is None:
        return "地址须为 http 或 https URL"
    production = common.environment == "production"
    literal = ip_literal(host)
    if literal is not None:
        addresses = [literal]
    elif production or any("/" in entry for entry in settings.webhook_allowed_targets):
        addresses = await resolve(host)
    else:
        addresses = []
    return target_refusal(
        url, settings.webhook_allowed_targets, forbid_private=production, addresses=addresses
    )
