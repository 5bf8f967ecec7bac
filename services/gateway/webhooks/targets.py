"""Where webhooks may be sent: the allow-list, and no private or loopback targets in production.

Checked when an endpoint is created or changed and again before every attempt, with the
host's addresses resolved at that moment (a name may later point somewhere else).

The check and the sender must agree on where a URL points, so the URL is parsed once, with
``httpx.URL`` (the parser of the client that sends), and the attempt connects to the very
address the check approved: the request goes to the IP, with the original ``Host`` header and,
for https, the original name for SNI and certificate verification. A second DNS answer
(rebinding) cannot redirect it. Forms that parsers read differently are refused outright:
user information (``user@host``: ``%23`` or ``\\`` before ``@`` moves the host), backslashes,
whitespace and control characters, hosts that are neither an IP nor a plain DNS name.
IPv6 addresses that embed an IPv4 address (mapped ``::ffff:a.b.c.d``, compatible
``::a.b.c.d``, SIIT ``::ffff:0:a.b.c.d``, NAT64 ``64:ff9b::/96``, 6to4 ``2002::/16``, Teredo)
are judged by the IPv4 address as well.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from services.gateway.settings import GatewaySettings
from shared.settings import CommonSettings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# A DNS name as httpx leaves it (lower case, IDNA already turned into xn--): letters, digits,
# hyphens and underscores in dot-separated labels, optionally fully qualified.
_DNS_NAME = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)(\.(?!-)[a-z0-9_-]{1,63}(?<!-))*\.?$")
# Characters no target URL needs and that parsers disagree about.
_FORBIDDEN = re.compile(r"[\\\s\x00-\x1f\x7f]")

_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")
_IPV4_TRANSLATED = ipaddress.IPv6Network("::ffff:0:0:0/96")


@dataclass(frozen=True)
class Target:
    """A URL that passed the check, and the address an attempt must connect to."""

    url: httpx.URL
    # The checked address to connect to; None when this deployment checks no address (no
    # production rule, no CIDR in the allow-list), and the name is connected to as usual.
    address: str | None

    def request(self) -> tuple[httpx.URL, dict[str, str], dict[str, Any]]:
        """URL, extra headers and httpx extensions of a request pinned to ``address``."""
        host = self.url.host
        if self.address is None or ip_literal(host) is not None:
            return self.url, {}, {}
        headers = {
            "host": self.url.netloc.decode("ascii"),
            # The pool keys connections by address: a TLS connection set up for one name must
            # not carry another name's request, so pinned connections are not reused.
            "connection": "close",
        }
        extensions: dict[str, Any] = {"sni_hostname": host} if self.url.scheme == "https" else {}
        return self.url.copy_with(host=self.address), headers, extensions


def parse(raw: str) -> httpx.URL | str:
    """``raw`` as httpx reads it, or why it cannot be a webhook target."""
    if _FORBIDDEN.search(raw):
        return "地址不得含反斜杠、空白或控制字符"
    try:
        url = httpx.URL(raw)
    except (httpx.InvalidURL, TypeError, ValueError):
        return "地址无法解析为 URL"
    if url.scheme not in ("http", "https") or not url.host:
        return "地址须为 http 或 https URL"
    if url.userinfo:
        return "地址不得含用户信息（user:password@）"
    if ip_literal(url.host) is None and not _DNS_NAME.match(url.host):
        return f"目标主机 {url.host} 不是有效的主机名或 IP 地址"
    return url


def ip_literal(host: str) -> str | None:
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return None


def embedded_ipv4(ip: IPAddress) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address stands for (mapped, compatible, NAT64, 6to4, Teredo)."""
    if isinstance(ip, ipaddress.IPv4Address):
        return []
    found: list[ipaddress.IPv4Address] = []
    if ip.ipv4_mapped is not None:
        found.append(ip.ipv4_mapped)
    if ip.sixtofour is not None:
        found.append(ip.sixtofour)
    if ip.teredo is not None:
        found.extend(ip.teredo)
    low32 = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip in _NAT64 or ip in _IPV4_TRANSLATED or (ip in _IPV4_COMPATIBLE and int(ip) > 1):
        found.append(low32)
    return found


def is_public(address: str) -> bool:
    """A globally reachable unicast address, and so is every IPv4 address it embeds."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and (ip in _NAT64_LOCAL or ip.scope_id):
        return False  # local-use NAT64 (RFC 8215) translates to whatever the site decides
    return all(a.is_global and not a.is_multicast for a in (ip, *embedded_ipv4(ip)))


def _allowed_by(entry: str, host: str, addresses: Sequence[str]) -> bool:
    entry = entry.strip().lower()
    try:
        network = ipaddress.ip_network(entry, strict=False)
    except ValueError:
        network = None
    if network is not None:
        return bool(addresses) and all(ipaddress.ip_address(a) in network for a in addresses)
    if entry.startswith("*."):
        return host.endswith(entry[1:])
    return host == entry.rstrip(".")


def address_refusal(
    host: str, allowed: Sequence[str], *, forbid_private: bool, addresses: Sequence[str]
) -> str | None:
    """Why ``host`` (resolving to ``addresses``) may not receive webhooks, or None."""
    name = host.rstrip(".")
    if allowed and not any(_allowed_by(entry, name, addresses) for entry in allowed):
        return f"目标主机 {host} 不在允许列表中"
    if forbid_private:
        if name == "localhost" or name.endswith(".localhost"):
            return "生产环境不允许回环地址"
        if not addresses:
            return f"无法解析目标主机 {host}"
        private = [a for a in addresses if not is_public(a)]
        if private:
            return f"生产环境不允许私有或回环地址 ({', '.join(private)})"
    return None


async def resolve(host: str, port: int) -> list[str]:
    """The host's addresses, in the resolver's order of preference."""
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return []
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


async def check(raw: str, settings: GatewaySettings, common: CommonSettings) -> Target | str:
    """The target of ``raw`` with the address to connect to, or why it is refused."""
    url = parse(raw)
    if isinstance(url, str):
        return url
    production = common.environment == "production"
    literal = ip_literal(url.host)
    if literal is not None:
        addresses = [literal]
    elif production or any("/" in entry for entry in settings.webhook_allowed_targets):
        port = url.port or (443 if url.scheme == "https" else 80)
        addresses = await resolve(url.host, port)
    else:
        addresses = []
    refused = address_refusal(
        url.host, settings.webhook_allowed_targets, forbid_private=production, addresses=addresses
    )
    if refused is not None:
        return refused
    # Every address passed; connect to the first, the one the resolver prefers.
    return Target(url=url, address=addresses[0] if addresses else None)


async def refusal(raw: str, settings: GatewaySettings, common: CommonSettings) -> str | None:
    """Why ``raw`` may not receive webhooks in this deployment, or None."""
    found = await check(raw, settings, common)
    return found if isinstance(found, str) else None
