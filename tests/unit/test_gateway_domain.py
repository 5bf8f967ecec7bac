"""The gateway's pure rules: rate-limit buckets, idempotency fingerprints, operation access,
Standard Webhooks signatures (checked with the `standardwebhooks` package), retry timing and
webhook target checks."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from services.gateway import domain
from services.gateway.domain import QuotaPolicy, RateLimiter, TokenBucket
from services.gateway.settings import GatewaySettings
from services.gateway.webhooks import targets
from shared.clock import utc_now

POLICY = QuotaPolicy("per-client", 3, 60)


def test_token_bucket_allows_the_quota_then_refuses_with_retry_after() -> None:
    bucket = TokenBucket.full(POLICY, now=0.0)
    decisions = [bucket.take(0.0) for _ in range(4)]
    assert [d.allowed for d in decisions] == [True, True, True, False]
    assert [d.remaining for d in decisions] == [2, 1, 0, 0]
    refused = decisions[-1]
    assert refused.retry_after_seconds == 20  # one request per 20 s refills
    assert refused.header(POLICY) == '"per-client";r=0;t=60'
    assert POLICY.policy_header() == '"per-client";q=3;w=60'
    assert bucket.take(20.0).allowed
    assert not bucket.take(20.0).allowed


def test_rate_limiter_keeps_a_bucket_per_client_and_honours_overrides() -> None:
    limiter = RateLimiter(POLICY, {"partner": QuotaPolicy("per-client", 100, 60)})
    for _ in range(3):
        assert limiter.take("client:a", "a", 0.0)[1].allowed
    assert not limiter.take("client:a", "a", 0.0)[1].allowed
    assert limiter.take("client:b", "b", 0.0)[1].allowed
    policy, decision = limiter.take("client:partner", "partner", 0.0)
    assert policy.quota == 100 and decision.remaining == 99


def test_default_retry_schedule_is_the_standard_webhooks_one() -> None:
    assert GatewaySettings().webhook_retry_schedule_seconds == [0, 5, 300, 1800, 7200, 18000, 36000, 36000]


def test_retry_delay_follows_the_schedule_with_jitter_and_gives_up_after_the_last() -> None:
    schedule = GatewaySettings().webhook_retry_schedule_seconds
    assert domain.next_attempt_delay(schedule, 0, jitter=0.1, rand=0.5) == 0
    assert domain.next_attempt_delay(schedule, 1, jitter=0.0, rand=0.9) == 5
    assert domain.next_attempt_delay(schedule, 2, jitter=0.1, rand=0.0) == pytest.approx(270)
    assert domain.next_attempt_delay(schedule, 2, jitter=0.1, rand=0.999999) == pytest.approx(330, abs=0.01)
    assert domain.next_attempt_delay(schedule, 7, jitter=0.0, rand=0.5) == 36000
    assert domain.next_attempt_delay(schedule, 8, jitter=0.0, rand=0.5) is None


def test_retry_after_postpones_but_never_beyond_the_longest_delay() -> None:
    schedule = [0.0, 5.0, 300.0]
    assert domain.next_attempt_delay(schedule, 1, jitter=0.0, rand=0.5, retry_after=120) == 120
    assert domain.next_attempt_delay(schedule, 1, jitter=0.0, rand=0.5, retry_after=1) == 5
    assert domain.next_attempt_delay(schedule, 1, jitter=0.0, rand=0.5, retry_after=10**6) == 300
    now = datetime(2018, 6, 14, 8, 0, tzinfo=UTC)
    assert domain.parse_retry_after("120", now) == 120
    assert domain.parse_retry_after("Thu, 14 Jun 2018 08:02:00 GMT", now) == 120
    assert domain.parse_retry_after("soon", now) is None
    assert domain.parse_retry_after(None, now) is None


def test_signature_is_verified_by_the_standardwebhooks_package() -> None:
    secret = domain.new_secret()
    assert secret.startswith("whsec_") and len(base64.b64decode(secret[6:])) >= 24
    body = domain.webhook_body(
        "gov.efficiency.document-formed.v1", datetime(2018, 6, 14, 2, 0, tzinfo=UTC), {"title": "关于…的通知"}
    )
    assert json.loads(body) == {
        "type": "gov.efficiency.document-formed.v1",
        "timestamp": "2018-06-14T02:00:00Z",
        "data": {"title": "关于…的通知"},
    }
    timestamp = int(utc_now().timestamp())
    headers = {
        "webhook-id": "msg_1",
        "webhook-timestamp": str(timestamp),
        "webhook-signature": domain.signature_header([secret], "msg_1", timestamp, body),
    }
    assert Webhook(secret).verify(body, headers)["data"]["title"] == "关于…的通知"
    with pytest.raises(WebhookVerificationError):
        Webhook(domain.new_secret()).verify(body, headers)
    tampered = {**headers, "webhook-id": "msg_2"}
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body, tampered)


def test_during_rotation_both_secrets_sign_space_separated() -> None:
    old, new = domain.new_secret(), domain.new_secret()
    timestamp = int(utc_now().timestamp())
    signature = domain.signature_header([new, old], "msg_9", timestamp, "{}")
    assert len(signature.split(" ")) == 2 and all(s.startswith("v1,") for s in signature.split(" "))
    headers = {"webhook-id": "msg_9", "webhook-timestamp": str(timestamp), "webhook-signature": signature}
    for secret in (old, new):
        Webhook(secret).verify("{}", headers)


@pytest.mark.parametrize(
    ("url", "addresses"),
    [
        ("http://127.0.0.1/x", ["127.0.0.1"]),
        ("http://localhost:8080/x", ["127.0.0.1"]),
        ("http://10.1.2.3/x", ["10.1.2.3"]),
        ("http://192.168.1.5/x", ["192.168.1.5"]),
        ("http://169.254.169.254/latest", ["169.254.169.254"]),
        ("http://[::1]/x", ["::1"]),
        ("http://[::ffff:10.0.0.1]/x", ["::ffff:10.0.0.1"]),
        ("https://hooks.example.gov.cn/x", ["8.8.8.8", "10.0.0.7"]),
        ("https://unresolvable.example/x", []),
    ],
)
def test_production_refuses_private_and_loopback_targets(url: str, addresses: list[str]) -> None:
    assert target_refusal(url, [], forbid_private=True, addresses=addresses) is not None
    assert target_refusal(url, [], forbid_private=False, addresses=addresses) is None


def test_public_targets_and_the_allow_list() -> None:
    public = ["8.8.8.8"]
    assert target_refusal("https://hooks.example.gov.cn/x", [], forbid_private=True, addresses=public) is None
    allowed = ["*.example.gov.cn", "203.0.113.0/24"]
    ok = target_refusal("https://a.example.gov.cn/x", allowed, forbid_private=False, addresses=[])
    assert ok is None
    assert target_refusal("https://example.com/x", allowed, forbid_private=False, addresses=[]) is not None
    in_range = target_refusal(
        "http://203.0.113.9/x", allowed, forbid_private=False, addresses=["203.0.113.9"]
    )
    assert in_range is None
    assert target_refusal("ftp://example.com/x", [], forbid_private=False, addresses=[]) is not None


def target_refusal(raw: str, allowed: list[str], *, forbid_private: bool, addresses: list[str]) -> str | None:
    """The webhook target check as the gateway runs it, with the host's addresses given."""
    url = targets.parse(raw)
    if isinstance(url, str):
        return url
    return targets.address_refusal(url.host, allowed, forbid_private=forbid_private, addresses=addresses)


def test_idempotency_fingerprint_compares_json_by_content() -> None:
    a = domain.request_fingerprint("POST", "/api/v1/x", "", b'{"a": 1, "b": [1, 2]}')
    b = domain.request_fingerprint("POST", "/api/v1/x", "", b'{"b":[1,2],"a":1}')
    assert a == b
    assert a != domain.request_fingerprint("POST", "/api/v1/x", "", b'{"a": 2, "b": [1, 2]}')
    assert a != domain.request_fingerprint("POST", "/api/v1/y", "", b'{"a": 1, "b": [1, 2]}')
    assert domain.parse_idempotency_key('"8e03978e-40d5"') == "8e03978e-40d5"
    assert domain.parse_idempotency_key("abc") == "abc"
    assert domain.parse_idempotency_key("has space") is None
    assert domain.parse_idempotency_key("k" * 256) is None


def test_operation_access_is_read_from_its_security_requirement() -> None:
    assert domain.access_of({}, None).token_required is False
    assert domain.access_of({"security": []}, [{"HTTPBearer": []}]).token_required is False
    assert domain.access_of({"security": [{}, {"HTTPBearer": []}]}, None).token_required is False
    assert domain.access_of({}, [{"HTTPBearer": []}]) == domain.Access(token_required=True)
    access = domain.access_of({"security": [{"HTTPBearer": ["office", "supervisor"]}]}, None)
    assert access == domain.Access(token_required=True, roles=frozenset({"office", "supervisor"}))


def test_routes_prefer_literal_segments_and_department_reads_are_found_by_shape() -> None:
    assert domain.path_pattern("/api/v1/x/{id}/y").match("/api/v1/x/42/y")
    assert not domain.path_pattern("/api/v1/x/{id}/y").match("/api/v1/x/4/2/y")
    ordered = sorted(["/documents/{id}", "/documents/search"], key=domain.specificity)
    assert ordered == ["/documents/search", "/documents/{id}"]
    assert domain.department_part("/v1/departments/{code}/facts") == "facts"
    assert domain.department_part("/v1/departments/{code}") == "department"
    assert domain.department_part("/v1/departments/{code}/facts/{id}") is None
    assert domain.department_part("/v1/documents/{id}") is None


def test_retry_schedule_setting_reads_json_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XN_GATEWAY_WEBHOOK_RETRY_SCHEDULE_SECONDS", "[0, 1, 2]")
    monkeypatch.setenv("XN_GATEWAY_RATE_LIMIT_OVERRIDES", '{"city-portal": 1200}')
    settings = GatewaySettings()
    assert settings.webhook_retry_schedule_seconds == [0, 1, 2]
    assert settings.rate_limit_overrides == {"city-portal": 1200}
    assert settings.upstream_timeout("disclosure") == settings.upstream_timeout_seconds
    assert GatewaySettings(indicators_timeout_seconds=0.5).upstream_timeout("indicators") == 0.5
    assert timedelta(seconds=GatewaySettings().idempotency_ttl_seconds) == timedelta(hours=24)
