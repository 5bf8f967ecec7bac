"""Pure rules of the gateway: rate-limit buckets, idempotency fingerprints, conditional requests,
operation security, Standard Webhooks signing, retry timing and what a webhook endpoint may be
asked. No I/O here; a refusal is a ``RuleViolation`` (``shared.rules``).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import ipaddress
import json
import math
import re
import secrets
from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from shared.rules import Conflict, RuleViolation

# --- rate limits (token bucket) -------------------------------------------------------------


@dataclass(frozen=True)
class QuotaPolicy:
    """``quota`` requests per ``window_seconds``, bursts up to ``quota`` (IETF RateLimit draft)."""

    name: str
    quota: int
    window_seconds: int

    @property
    def refill_per_second(self) -> float:
        return self.quota / self.window_seconds

    def policy_header(self) -> str:
        return f'"{self.name}";q={self.quota};w={self.window_seconds}'


@dataclass(frozen=True)
class RateDecision:
    allowed: bool
    remaining: int
    # Seconds until the bucket is full again.
    reset_seconds: int
    # Seconds until the next request would be allowed (only when refused).
    retry_after_seconds: int | None

    def header(self, policy: QuotaPolicy) -> str:
        return f'"{policy.name}";r={self.remaining};t={self.reset_seconds}'


@dataclass
class TokenBucket:
    policy: QuotaPolicy
    tokens: float
    updated: float

    @classmethod
    def full(cls, policy: QuotaPolicy, now: float) -> TokenBucket:
        return cls(policy=policy, tokens=float(policy.quota), updated=now)

    def _refill(self, now: float) -> None:
        elapsed = max(0.0, now - self.updated)
        self.tokens = min(float(self.policy.quota), self.tokens + elapsed * self.policy.refill_per_second)
        self.updated = now

    def is_full(self, now: float) -> bool:
        self._refill(now)
        return self.tokens >= self.policy.quota

    def take(self, now: float) -> RateDecision:
        self._refill(now)
        rate = self.policy.refill_per_second
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return RateDecision(
                allowed=True,
                remaining=int(self.tokens),
                reset_seconds=math.ceil((self.policy.quota - self.tokens) / rate),
                retry_after_seconds=None,
            )
        wait = max(1, math.ceil((1.0 - self.tokens) / rate))
        return RateDecision(
            allowed=False,
            remaining=0,
            reset_seconds=math.ceil((self.policy.quota - self.tokens) / rate),
            retry_after_seconds=wait,
        )


class RateLimiter:
    """Buckets per client key, in this process. Idle full buckets are dropped to bound memory."""

    def __init__(self, default: QuotaPolicy, overrides: Mapping[str, QuotaPolicy], *, max_keys: int = 50_000):
        self._default = default
        self._overrides = dict(overrides)
        self._buckets: dict[str, TokenBucket] = {}
        self._max_keys = max_keys

    def policy_for(self, client_id: str | None) -> QuotaPolicy:
        if client_id is not None and client_id in self._overrides:
            return self._overrides[client_id]
        return self._default

    def take(self, key: str, client_id: str | None, now: float) -> tuple[QuotaPolicy, RateDecision]:
        policy = self.policy_for(client_id)
        bucket = self._buckets.get(key)
        if bucket is None or bucket.policy != policy:
            if len(self._buckets) >= self._max_keys:
                self._prune(now)
            bucket = self._buckets[key] = TokenBucket.full(policy, now)
        return policy, bucket.take(now)

    def _prune(self, now: float) -> None:
        for key in [k for k, b in self._buckets.items() if b.is_full(now)]:
            del self._buckets[key]


# --- failed sign-ins (the token endpoint) ---------------------------------------------------


class FailedAttempts:
    """Failed client authentications per client id, to stop guessing a client's secret.

    After ``limit`` failures within ``window_seconds`` the id is refused until the oldest of
    them leaves the window. An attempt counts as failed from the moment it starts, so a burst
    of concurrent guesses is capped as well as a sequence; a success takes back only its own
    attempt, so a client signing in meanwhile does not wipe out someone else's failures.
    Unknown ids are counted like known ones, which keeps the answers alike.
    """

    def __init__(self, limit: int, window_seconds: float, *, max_keys: int = 10_000) -> None:
        self.limit = limit
        self.window_seconds = window_seconds
        self._attempts: dict[str, list[float]] = {}
        self._max_keys = max_keys

    def begin(self, key: str, now: float) -> int | None:
        """Count an attempt; None when it may go ahead, else seconds until one may."""
        attempts = self._recent(key, now)
        if len(attempts) >= self.limit:
            return max(1, math.ceil(attempts[0] + self.window_seconds - now))
        if key not in self._attempts and len(self._attempts) >= self._max_keys:
            self._prune(now)
        self._attempts.setdefault(key, []).append(now)
        return None

    def succeeded(self, key: str, started: float) -> None:
        attempts = self._attempts.get(key)
        if attempts is not None and started in attempts:
            attempts.remove(started)
            if not attempts:
                del self._attempts[key]

    def _recent(self, key: str, now: float) -> list[float]:
        attempts = self._attempts.get(key)
        if not attempts:
            return []
        attempts[:] = [t for t in attempts if t > now - self.window_seconds]
        return attempts

    def _prune(self, now: float) -> None:
        for key in [k for k in self._attempts if not self._recent(k, now)]:
            del self._attempts[key]
        # Still full (a flood of made-up ids): forget the longest-known ids first.
        while len(self._attempts) >= self._max_keys:
            del self._attempts[next(iter(self._attempts))]


# --- who is calling (forwarded headers) -----------------------------------------------------

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@functools.lru_cache(maxsize=16)
def trusted_networks(entries: tuple[str, ...]) -> tuple[Network, ...]:
    """``XN_GATEWAY_TRUSTED_PROXIES`` entries (addresses or CIDRs) as networks."""
    return tuple(ipaddress.ip_network(e.strip(), strict=False) for e in entries)


def _address(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """An address as a proxy writes it: ``a.b.c.d``, ``a.b.c.d:port``, ``v6`` or ``[v6]:port``."""
    value = value.strip()
    if value.startswith("["):
        value = value[1 : value.find("]")] if "]" in value else ""
    elif value.count(":") == 1:
        value = value.split(":", 1)[0]
    try:
        ip = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def _trusted(ip: ipaddress.IPv4Address | ipaddress.IPv6Address, trusted: Sequence[Network]) -> bool:
    return any(ip.version == net.version and ip in net for net in trusted)


def client_address(peer: str, forwarded_for: Sequence[str], trusted: Sequence[Network]) -> str:
    """The address a request came from, for per-IP limits.

    The connecting peer, unless it is one of the ``trusted`` proxies: then ``X-Forwarded-For``
    is read from the right (each proxy appends the address it was called from, so only entries
    appended by trusted proxies are believable) and the first address that is not a trusted
    proxy is the caller. Anyone else's forwarded headers are ignored, whatever they claim, and
    so are ``Forwarded`` and ``X-Real-IP``: a deployment's proxy is configured to send
    ``X-Forwarded-For``.
    """
    current = _address(peer)
    if current is None or not _trusted(current, trusted):
        return str(current) if current is not None else peer
    hops = [hop for value in forwarded_for for hop in value.split(",")]
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:
            # Not an address: nothing left of it can be believed; the last trusted hop answers.
            break
        current = address
        if not _trusted(address, trusted):
            break
    return str(current)


# --- idempotency ------------------------------------------------------------------------------


def canonical_body(body: bytes) -> bytes:
    """JSON bodies compare by content (key order and spacing do not matter); others by bytes."""
    try:
        parsed = json.loads(body)
    except (ValueError, RecursionError):
        # RecursionError: nested too deep to be JSON we accept (a JSON-typed body that deep is
        # refused before this; any other body is compared by its bytes).
        return body
    return json.dumps(parsed, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def request_fingerprint(method: str, path: str, query: str, body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (method.upper().encode(), path.encode(), query.encode(), canonical_body(body)):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")


def parse_idempotency_key(header: str) -> str | None:
    """The key from an ``Idempotency-Key`` header (an sf-string, quotes optional); None if invalid."""
    value = header.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    return value if _KEY.match(value) and '"' not in value else None


# --- conditional requests --------------------------------------------------------------------


def if_match_admits(header: str, current: str) -> bool:
    """Whether an ``If-Match`` header names the entity tag ``current`` (or ``*``); weak tags count."""
    tags = {t.strip().removeprefix("W/") for t in header.split(",")}
    return "*" in tags or current in tags


# --- operation security (OpenAPI) -----------------------------------------------------------


@dataclass(frozen=True)
class Access:
    """Who may call an operation: anyone, any valid token, or a token holding one of ``roles``."""

    token_required: bool
    roles: frozenset[str] = frozenset()


def access_of(operation: Mapping[str, Any], default_security: Sequence[Any] | None) -> Access:
    """Read an operation's ``security`` (or the document's) as access rules.

    An empty list, or an empty requirement object among the alternatives, means public. Role
    names listed in every alternative (OpenAPI 3.1 allows role names for non-OAuth2 schemes)
    restrict the operation to those roles.
    """
    security = operation.get("security", default_security)
    if not security:
        return Access(token_required=False)
    requirements = [r for r in security if isinstance(r, Mapping)]
    if not requirements or any(not r for r in requirements):
        return Access(token_required=False)
    roles: set[str] = set()
    for requirement in requirements:
        scopes = [str(s) for values in requirement.values() for s in (values or [])]
        if not scopes:
            return Access(token_required=True)
        roles.update(scopes)
    return Access(token_required=True, roles=frozenset(roles))


def path_pattern(template: str) -> re.Pattern[str]:
    """``/api/v1/x/{id}/y`` → a regex matching one segment per parameter."""
    parts = re.split(r"(\{[^/{}]+\})", template)
    regex = "".join("[^/]+" if p.startswith("{") and p.endswith("}") else re.escape(p) for p in parts)
    return re.compile(f"^{regex}$")


def specificity(template: str) -> tuple[int, int]:
    """Literal segments win over parameters (``/documents/search`` before ``/documents/{id}``)."""
    segments = template.strip("/").split("/")
    literal = sum(1 for s in segments if not s.startswith("{"))
    return (-literal, -len(segments))


_DEPARTMENT_READ = re.compile(r"^/v1/departments/\{[^/{}]+\}(?:/([A-Za-z0-9_-]+))?$")


def department_part(path: str) -> str | None:
    """The part name of a department-scoped read: ``/v1/departments/{code}/facts`` → ``facts``."""
    match = _DEPARTMENT_READ.match(path)
    if match is None:
        return None
    return match.group(1) or "department"


# --- Standard Webhooks ----------------------------------------------------------------------

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32


def new_secret() -> str:
    """``whsec_`` + base64 of random bytes (the spec asks for 24 to 64)."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def _secret_key(secret: str) -> bytes:
    raw = secret.removeprefix(SECRET_PREFIX)
    return base64.b64decode(raw + "=" * (-len(raw) % 4))


def sign(secret: str, message_id: str, timestamp: int, body: str) -> str:
    """``v1,`` + base64 HMAC-SHA256 over ``id.timestamp.body``."""
    content = f"{message_id}.{timestamp}.{body}".encode()
    digest = hmac.new(_secret_key(secret), content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signature_header(active_secrets: Sequence[str], message_id: str, timestamp: int, body: str) -> str:
    """One ``v1,`` signature per active secret, space-separated (rotation keeps the old one)."""
    return " ".join(sign(s, message_id, timestamp, body) for s in active_secrets)


def webhook_body(event_type: str, occurred_at: datetime, data: Mapping[str, Any]) -> str:
    """The Standard Webhooks payload ``{type, timestamp, data}``, serialised once and stored."""
    timestamp = occurred_at.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return json.dumps(
        {"type": event_type, "timestamp": timestamp, "data": dict(data)},
        ensure_ascii=False,
        separators=(",", ":"),
    )


def next_attempt_delay(
    schedule: Sequence[float],
    attempts_made: int,
    *,
    jitter: float,
    rand: float,
    retry_after: float | None = None,
) -> float | None:
    """Seconds until the next attempt after ``attempts_made`` failed ones; None: give up.

    ``schedule[n]`` is the delay before attempt n (``schedule[0]`` before the first). Jitter
    spreads retries by ±``jitter`` of the delay (``rand`` in [0, 1)). A receiver's
    ``Retry-After`` postpones the attempt, but never beyond the schedule's longest delay.
    """
    if attempts_made >= len(schedule):
        return None
    delay = schedule[attempts_made] * (1.0 + jitter * (2.0 * rand - 1.0))
    if retry_after is not None:
        delay = max(delay, min(retry_after, max(schedule)))
    return max(0.0, delay)


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """``Retry-After`` as seconds (delta-seconds or an HTTP date); None when absent or invalid."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


# --- webhook endpoints and deliveries -------------------------------------------------------


def subscribed_types(requested: Sequence[str], subscribable: Set[str]) -> list[str]:
    """An endpoint's event-type filter, sorted and without repeats; unknown types are refused."""
    unknown = sorted(set(requested) - subscribable)
    if unknown:
        raise RuleViolation(
            f"未知的事件类型: {', '.join(unknown)}；可用类型见 GET /api/v1/webhooks/event-types",
            kind="unknown-event-type",
            field="event_types",
        )
    return sorted(set(requested))


def check_endpoint_enabled(enabled: bool) -> None:
    """Deliveries of a disabled endpoint are put back in the queue only once it is enabled again."""
    if not enabled:
        raise Conflict("端点已停用；请先通过 PATCH 重新启用", kind="endpoint-disabled")


def check_resendable(status: str) -> None:
    """A delivery still queued or retrying is not sent again beside itself."""
    if status == "pending":
        raise Conflict("该投递仍在排队或重试中", kind="delivery-pending")


# --- API client accounts ----------------------------------------------------------------------


def check_account(
    roles: Sequence[str], department: str | None, departments: Set[str], leaders: Set[str]
) -> None:
    """What a client's roles and department claim must agree on.

    The claim names whom the client acts for: a department code (the office and supervision are
    departments too) or, for a leader, the leader's code. A ``department`` client must name its
    department, since every department rule reads it from the token.
    """
    if department is not None and department not in departments and department not in leaders:
        raise RuleViolation(
            f"未知的部门或领导代码 {department}", kind="unknown-department", field="department"
        )
    if "department" in roles and department not in departments:
        raise RuleViolation(
            "角色 department 的客户端须注明所属部门（department，部门代码）",
            kind="department-required",
            field="department",
        )


def check_own_account(actor: str, client_id: str, *, removes_admin: bool) -> None:
    """An administrator cannot lock itself out: disabling or deleting its own client, or taking
    away its own admin role, would leave nobody to undo it."""
    if actor == client_id and removes_admin:
        raise Conflict(
            "不能停用、删除本客户端或取消本客户端的 admin 角色（请用另一个管理员客户端操作）",
            kind="own-client",
            field="client_id",
        )
