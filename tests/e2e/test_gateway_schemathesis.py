"""API fuzzing through the gateway (issue 9): schemathesis against the merged OpenAPI document.

The document is the one the gateway serves at ``/openapi.json``: every service's operations under
``/api/v1/<service>/...`` plus the gateway's own. schemathesis's engine runs every operation in
it, the explicit examples first and then generated requests, valid and invalid (Hypothesis with
a fixed seed, derandomized, so CI sends the same requests on every run), through the gateway to
the five real processes on real Kafka and PostgreSQL. The caller is an ``admin`` client, so no
role check stops a request before the service's own validation. Every response must

- not be a server error (no 5xx);
- have a documented status code, media type and headers;
- match the schema documented for its status and media type (problem+json included).

The secret ballot (``x-secret-ballot``: the gateway keeps no Idempotency record for it) is fuzzed
like every other operation; a generated ballot is never counted (the caller sits on no round's
panel), which the ballot box must answer cleanly; casting counted ballots through the gateway is
tests/e2e/test_evaluation.py's part.

Each service resource gets its own fuzzing client, so the gateway's per-client rate limit never stands
between a generated request and the service it addresses (the test fails on a 429 of the gateway's
limit; the disclosure service's own limit on wrong access codes answers the fuzzer's guesses with
429, as it must). Tokens are
not generated: every request carries the fuzzing client's valid token, so that no request is
refused at the door and none is counted against the per-address bucket that the other tests'
anonymous reads share.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from schemathesis.engine import Status, StopReason
from schemathesis.engine import events as engine_events

from launcher.topology import SERVICES
from shared.auth import issue_token
from shared.settings import CommonSettings
from tests.support.clusters import Cluster, gateway_client, register_session_clients

pytestmark = [pytest.mark.e2e, pytest.mark.kafka]

SEED = 20180518
# Generated requests per operation and generation mode (valid, invalid), after the explicit examples.
MAX_EXAMPLES = 20
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
)
# The gateway's client accounts are fuzzed by a client of their own: with them, the gateway's own
# operations alone would be more requests than one client's per-minute quota.
ACCOUNTS = ("clients", "client-changes")
# The disclosure service's own limit on wrong access codes (per source address, by design): the
# fuzzer guesses codes, so these 429s are the answer it must get, not the gateway's rate limit.
SERVICE_LIMITS = {"too-many-attempts"}


def service_of(path: str) -> str:
    """Whose fuzzing client calls an operation: one per service and resource
    (``/api/v1/<service>/<resource>/...``), one for the accounts, one for the gateway's own, so
    that no client's per-minute quota is spent by more operations than it can take."""
    parts = path.split("/")
    if len(parts) > 3 and parts[3] in ACCOUNTS:
        return "accounts"
    if len(parts) > 4 and parts[3] in SERVICES:
        return f"{parts[3]}-{parts[4]}"
    return "gateway"


class FuzzTokens(dict[str, str]):
    """The bearer header of each fuzzing client (an admin named after what it fuzzes), made on
    first use."""

    def __init__(self, common: CommonSettings) -> None:
        super().__init__()
        self._common = common

    def __missing__(self, group: str) -> str:
        token = issue_token(self._common, client_id=f"e2e-fuzz-{group}", roles=["admin"], department="office")
        self[group] = f"Bearer {token}"
        return self[group]


@pytest.fixture(scope="module")
def fuzz_tokens(cluster: Cluster) -> Iterator[dict[str, str]]:
    """One admin client per service; its bearer token by service name.

    The tokens are signed with the deployment's key, as an identity provider's would be, not issued
    to clients registered at the gateway: the fuzzer also calls /api/v1/clients, with every client
    id it can think of (its own included), and rotating, disabling or re-roling a registered client
    ends that client's tokens at once, which would cut the run short.
    """
    common = CommonSettings(environment="test", jwt_secret=cluster.env["XN_JWT_SECRET"])
    tokens = FuzzTokens(common)
    with gateway_client(cluster) as http:
        yield tokens
        # The fuzzer deletes, rotates and re-roles any client id it has seen in an answer, the
        # session's own among them: they are registered again, as they were, for the tests after.
        register_session_clients(cluster)
        # Webhook endpoints the fuzzer registered would keep receiving the other tests' events.
        own = {"Authorization": tokens["gateway"]}
        listed = http.get("/api/v1/webhooks/endpoints", params={"limit": 100}, headers=own)
        while True:
            assert listed.status_code == 200, listed.text
            for endpoint in listed.json()["items"]:
                http.delete(f"/api/v1/webhooks/endpoints/{endpoint['id']}", headers=own)
            cursor = listed.json().get("next_cursor")
            if not cursor:
                break
            listed = http.get("/api/v1/webhooks/endpoints", params={"cursor": cursor}, headers=own)


def gateway_schema(gateway: str, tokens: dict[str, str]) -> schemathesis.BaseSchema:
    config = schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "generation": {
                "mode": "all",
                "max-examples": MAX_EXAMPLES,
                "deterministic": True,
                # The token comes from PerServiceToken below, never from the generator.
                "with-security-parameters": False,
            },
            # Exactly these checks, each on every response.
            "checks": {"enabled": False, **{name: {"enabled": True} for name in CHECKS}},
            "phases": {
                "examples": {"enabled": True},
                "coverage": {"enabled": False},
                "fuzzing": {"enabled": True},
                "stateful": {"enabled": False},
            },
            "workers": 1,
            "request-timeout": 30,
        }
    )
    schema = schemathesis.openapi.from_url(f"{gateway}/openapi.json", config=config)
    schema.config.update(base_url=gateway)

    class PerServiceToken:
        """The bearer token of the fuzzing client that belongs to the operation's service."""

        def get(self, case: schemathesis.Case, ctx: schemathesis.AuthContext) -> str:
            return tokens[service_of(ctx.operation.path)]

        def set(self, case: schemathesis.Case, data: str, ctx: schemathesis.AuthContext) -> None:
            case.headers = {**(case.headers or {}), "Authorization": data}

    schema.auth(refresh_interval=None)(PerServiceToken)
    return schema


def _problem_kind(body: bytes | None) -> str:
    """The last segment of a problem's ``type`` (``…/problems/too-many-attempts``), or ``?``."""
    try:
        return str(json.loads(body or b"{}").get("type", "?")).rsplit("/", 1)[-1]
    except (ValueError, AttributeError):
        return "?"


def _describe(recorder: Any) -> list[str]:
    lines = []
    for checks in recorder.checks.values():
        for check in checks:
            if check.status == Status.FAILURE and check.failure_info is not None:
                failure = check.failure_info.failure
                lines.append(f"{recorder.label}: [{check.name}] {failure.title}\n{failure.message}")
                lines.append(check.failure_info.code_sample)
    return lines


def test_fuzzed_requests_get_no_server_error_and_only_documented_responses(
    cluster: Cluster, fuzz_tokens: dict[str, str]
) -> None:
    schema = gateway_schema(cluster.gateway, fuzz_tokens)
    # A service missing from the merged document would silently drop its operations from the run.
    assert "x-missing-services" not in schema.raw_schema, schema.raw_schema["x-missing-services"]
    operations = {
        f"{method.upper()} {path}"
        for path, item in schema.raw_schema["paths"].items()
        for method in item
        if method in ("get", "put", "post", "delete", "patch")
    }
    assert any(
        op.get("x-secret-ballot") for item in schema.raw_schema["paths"].values() for op in item.values()
    ), "the secret ballot operation is missing from the merged document"

    problems: list[str] = []
    tested: set[str] = set()
    statuses: Counter[int] = Counter()
    limited: Counter[str] = Counter()
    finished: engine_events.EngineFinished | None = None
    for event in schemathesis.engine.from_schema(schema).execute():
        if isinstance(event, engine_events.ScenarioFinished):
            if event.recorder.cases:
                tested.add(event.recorder.label)
            for interaction in event.recorder.interactions.values():
                if interaction.response is not None:
                    statuses[interaction.response.status_code] += 1
                    if interaction.response.status_code == 429:
                        limited[_problem_kind(interaction.response.content)] += 1
            if event.status in (Status.FAILURE, Status.ERROR):
                problems.extend(_describe(event.recorder) or [f"{event.recorder.label}: {event.status}"])
        elif isinstance(event, engine_events.NonFatalError):
            problems.append(f"{event.label}: {event.info.title}\n{event.info.message}")
        elif isinstance(event, engine_events.FatalError):
            raise event.exception
        elif isinstance(event, engine_events.EngineFinished):
            finished = event
    assert finished is not None and finished.stop_reason == StopReason.COMPLETED, finished
    assert not problems, "\n\n".join(problems)
    # Every operation of every service was sent requests, and none was stopped by the rate limit.
    assert operations <= tested, sorted(operations - tested)
    assert not {kind: n for kind, n in limited.items() if kind not in SERVICE_LIMITS}, (limited, statuses)
