"""Standard Webhooks from the gateway, verified by a receiver that uses the `standardwebhooks`
package: endpoints, ping, filters, rotation, retries, restart, 410, auto-disable, resend, recover."""

from __future__ import annotations

import base64
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from services.gateway.webhooks import service as webhooks
from shared.clock import utc_now
from shared.events import DocumentFormed
from shared.events.contracts import WebhookEndpointDisabled
from tests.support import apps
from tests.support import gateway as support
from tests.support.apps import bearer, running
from tests.support.gateway import Domain, document, gateway_app
from tests.support.infra import PostgresSource
from tests.support.waiting import until
from tests.support.webhooks import Receiver, receiving

domain = support.domain
FORMED = DocumentFormed.event_type()
DISABLED = WebhookEndpointDisabled.event_type()
PING = "gov.efficiency.webhook-ping.v1"


def client(domain: Domain, client_id: str, *roles: str) -> dict[str, str]:
    return bearer(domain.common, *(roles or ("office",)), department="office", client_id=client_id)


async def create_endpoint(
    gw: httpx.AsyncClient, headers: dict[str, str], url: str, *types: str
) -> dict[str, Any]:
    r = await gw.post(
        "/api/v1/webhooks/endpoints", json={"url": url, "event_types": list(types)}, headers=headers
    )
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


async def deliveries(
    gw: httpx.AsyncClient, headers: dict[str, str], endpoint_id: str
) -> list[dict[str, Any]]:
    r = await gw.get(f"/api/v1/webhooks/endpoints/{endpoint_id}/deliveries", headers=headers)
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


async def publish_document(gw: httpx.AsyncClient, headers: dict[str, str], department: str = "fgw") -> str:
    r = await gw.post("/api/v1/disclosure/documents", json=document(department), headers=headers)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def formed_for(receiver: Receiver, document_id: str) -> list[Any]:
    return [r for r in receiver.of_type(FORMED) if r.body["data"]["document_id"] == document_id]


@pytest.fixture
async def gateway_db(postgres: PostgresSource) -> str:
    return await postgres.new_database()


@pytest.fixture
def app(domain: Domain, gateway_db: str) -> FastAPI:
    return gateway_app(domain, gateway_db)


@pytest.fixture
async def gw(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with running(app) as c:
        yield c


async def edited_only_with_the_current_etag(
    gw: httpx.AsyncClient, owner: dict[str, str], endpoint: dict[str, Any]
) -> None:
    r = await gw.get(f"/api/v1/webhooks/endpoints/{endpoint['id']}", headers=owner)
    etag = r.headers["etag"]
    stale = await gw.patch(
        f"/api/v1/webhooks/endpoints/{endpoint['id']}",
        json={"description": "x"},
        headers={**owner, "If-Match": '"999"'},
    )
    assert stale.status_code == 412 and stale.headers["content-type"] == "application/problem+json"
    r = await gw.patch(
        f"/api/v1/webhooks/endpoints/{endpoint['id']}",
        json={"event_types": [FORMED, "gov.efficiency.document-published.v1"]},
        headers={**owner, "If-Match": etag},
    )
    assert r.status_code == 200 and r.headers["etag"] != etag
    assert r.json()["event_types"] == [FORMED, "gov.efficiency.document-published.v1"]


async def test_endpoints_crud_with_event_type_filter_and_a_ping_on_creation(
    domain: Domain, app: FastAPI, gw: httpx.AsyncClient
) -> None:
    owner = client(domain, f"wh-{uuid.uuid4().hex[:6]}")
    with receiving() as formed_only, receiving() as votes_only:
        r = await gw.post(
            "/api/v1/webhooks/endpoints",
            json={"url": formed_only.url, "description": "门户同步", "event_types": [FORMED]},
            headers=owner,
        )
        assert r.status_code == 201, r.text
        endpoint = r.json()
        secret = endpoint["secret"]
        assert secret.startswith("whsec_") and len(base64.b64decode(secret[6:])) >= 24
        assert r.headers["location"] == f"/api/v1/webhooks/endpoints/{endpoint['id']}"
        formed_only.secrets.append(secret)
        other = await create_endpoint(gw, owner, votes_only.url, "gov.efficiency.vote-cast.v2")
        votes_only.secrets.append(other["secret"])

        ping = (await until(lambda: formed_only.of_type(PING), what="ping"))[0]
        assert ping.verified_with == [secret]
        assert ping.body["data"]["endpoint_id"] == endpoint["id"]
        await until(lambda: votes_only.of_type(PING), what="second ping")

        document_id = await publish_document(gw, owner)
        got = (await until(lambda: formed_for(formed_only, document_id), what="document-formed"))[0]
        assert got.verified_with == [secret]
        assert set(got.body) == {"type", "timestamp", "data"} and got.body["type"] == FORMED
        assert not [d for d in await deliveries(gw, owner, other["id"]) if d["event_type"] == FORMED]

    listed = (await gw.get("/api/v1/webhooks/endpoints", headers=owner)).json()["items"]
    assert {e["id"] for e in listed} == {endpoint["id"], other["id"]}
    assert all("secret" not in e for e in listed)
    await edited_only_with_the_current_etag(gw, owner, endpoint)

    stranger = client(domain, "wh-stranger")
    assert (await gw.get(f"/api/v1/webhooks/endpoints/{endpoint['id']}", headers=stranger)).status_code == 404
    assert (await gw.get("/api/v1/webhooks/endpoints", headers=stranger)).json()["items"] == []

    for bad in ({"url": "ftp://example.com/x"}, {"url": formed_only.url, "event_types": ["no.such.type"]}):
        r = await gw.post("/api/v1/webhooks/endpoints", json=bad, headers=owner)
        assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"

    r = await gw.delete(f"/api/v1/webhooks/endpoints/{endpoint['id']}", headers=owner)
    assert r.status_code == 204
    assert (await gw.get(f"/api/v1/webhooks/endpoints/{endpoint['id']}", headers=owner)).status_code == 404
    types = (await gw.get("/api/v1/webhooks/event-types")).json()
    assert {FORMED, DISABLED, PING} <= {t["type"] for t in types}
    # Messages are kept for the retention period, then go with their deliveries.
    runtime = app.state.gateway
    assert await webhooks.purge_old_messages(runtime, utc_now()) == 0
    assert await webhooks.purge_old_messages(runtime, utc_now() + timedelta(days=31)) >= 2
    assert await deliveries(gw, owner, other["id"]) == []


async def test_signatures_verify_with_standardwebhooks_across_a_secret_rotation(
    domain: Domain, gw: httpx.AsyncClient, gateway_db: str
) -> None:
    owner = client(domain, f"wh-{uuid.uuid4().hex[:6]}")
    with receiving() as receiver:
        endpoint = await create_endpoint(gw, owner, receiver.url, FORMED)
        old = endpoint["secret"]
        receiver.secrets.append(old)
        before = await publish_document(gw, owner)
        assert (await until(lambda: formed_for(receiver, before)))[0].verified_with == [old]

        r = await gw.post(f"/api/v1/webhooks/endpoints/{endpoint['id']}/secret/rotate", headers=owner)
        assert r.status_code == 200
        new = r.json()["secret"]
        assert new != old and new.startswith("whsec_")
        assert r.json()["previous_secret_expires_at"] is not None
        receiver.secrets.append(new)
        during = await publish_document(gw, owner)
        got = (await until(lambda: formed_for(receiver, during)))[0]
        # Both secrets sign for 24 hours: receivers still on the old one keep verifying.
        assert sorted(got.verified_with) == sorted([old, new])
        assert len(got.signature.split(" ")) == 2 and all(
            s.startswith("v1,") for s in got.signature.split(" ")
        )

        # Once the overlap has passed, only the new secret signs.
        engine = create_async_engine(gateway_db)
        async with engine.begin() as conn:
            await conn.execute(
                text("UPDATE webhook_endpoints SET previous_secret_expires_at = :t WHERE id = :id"),
                {"t": utc_now() - timedelta(seconds=1), "id": endpoint["id"]},
            )
        await engine.dispose()
        after = await publish_document(gw, owner)
        got = (await until(lambda: formed_for(receiver, after)))[0]
        assert got.verified_with == [new] and got.refused_by == [old]
        secret = (await gw.get(f"/api/v1/webhooks/endpoints/{endpoint['id']}/secret", headers=owner)).json()
        assert secret == {"secret": new, "previous_secret_expires_at": None}


async def test_receiver_down_then_back_gets_every_event_with_its_first_id_across_a_gateway_restart(
    domain: Domain, gateway_db: str
) -> None:
    owner = client(domain, f"wh-{uuid.uuid4().hex[:6]}")
    schedule = [0.0, 0.3, 0.5, 1.0, 2.0, 5.0, 10.0, 10.0]
    receiver = Receiver().start()
    try:
        async with running(gateway_app(domain, gateway_db, webhook_retry_schedule_seconds=schedule)) as gw:
            endpoint = await create_endpoint(gw, owner, receiver.url, FORMED)
            receiver.secrets.append(endpoint["secret"])
            await until(lambda: receiver.of_type(PING), what="ping")
            receiver.stop()
            documents = [await publish_document(gw, owner, "jtj") for _ in range(3)]

            async def failed_twice() -> list[dict[str, Any]]:
                items = [d for d in await deliveries(gw, owner, endpoint["id"]) if d["event_type"] == FORMED]
                return items if len(items) == 3 and all(d["attempts"] >= 2 for d in items) else []

            before_restart = await until(failed_twice, what="several failed attempts")
            first_ids = {d["id"]: d["message_id"] for d in before_restart}
            assert all(d["status"] == "pending" for d in before_restart)

        # The gateway is down; the service keeps publishing.
        disclosure = httpx.AsyncClient(base_url=domain.urls["disclosure"])
        for _ in range(2):
            r = await disclosure.post("/v1/documents", json=document("jtj"), headers=owner)
            assert r.status_code == 201
            documents.append(r.json()["id"])
        await disclosure.aclose()

        async with running(gateway_app(domain, gateway_db, webhook_retry_schedule_seconds=schedule)) as gw:
            receiver.start()

            def all_arrived() -> bool:
                return all(formed_for(receiver, d) for d in documents)

            await until(all_arrived, timeout=60, what="every event after the receiver is back")

            async def all_succeeded() -> dict[str, dict[str, Any]] | None:
                listed = await deliveries(gw, owner, endpoint["id"])
                items = {d["id"]: d for d in listed if d["event_type"] == FORMED}
                return items if all(i["status"] == "succeeded" for i in items.values()) else None

            items = await until(all_succeeded, what="every delivery succeeded")
            for delivery_id, message_id in first_ids.items():
                assert items[delivery_id]["message_id"] == message_id
                seen = receiver.with_id(message_id)
                assert seen and all(r.verified_with == [endpoint["secret"]] for r in seen)
                detail = (await gw.get(f"/api/v1/webhooks/deliveries/{delivery_id}", headers=owner)).json()
                log = detail["attempt_log"]
                assert len(log) >= 3 and log[0]["status_code"] is None and log[0]["error"]
                assert log[-1]["status_code"] == 204 and detail["status"] == "succeeded"
            received = {r.body["data"]["document_id"]: r.webhook_id for r in receiver.of_type(FORMED)}
            assert set(received) == set(documents)
            assert {d["message_id"] for d in items.values()} == set(received.values())
    finally:
        receiver.stop()


async def test_only_2xx_succeeds_and_retry_after_postpones_the_next_attempt(
    domain: Domain, postgres: PostgresSource
) -> None:
    owner = client(domain, f"wh-{uuid.uuid4().hex[:6]}")
    app = gateway_app(
        domain, await postgres.new_database(), webhook_retry_schedule_seconds=[0, 0.1, 0.1, 3600]
    )
    async with running(app) as gw:
        with receiving(status=503, retry_after="120") as busy, receiving(status=301) as moved:
            slow = await create_endpoint(gw, owner, busy.url, FORMED)
            redirecting = await create_endpoint(gw, owner, moved.url, FORMED)

            async def first_failure(endpoint_id: str) -> dict[str, Any] | None:
                items = await deliveries(gw, owner, endpoint_id)
                return items[0] if items and items[0]["attempts"] >= 1 else None

            ping = await until(lambda: first_failure(slow["id"]), what="first attempt")
            assert ping["status"] == "pending" and ping["last_status_code"] == 503
            detail = (await gw.get(f"/api/v1/webhooks/deliveries/{ping['id']}", headers=owner)).json()
            waited = datetime.fromisoformat(detail["next_attempt_at"]) - datetime.fromisoformat(
                detail["attempt_log"][-1]["attempted_at"]
            )
            assert waited >= timedelta(seconds=120)

            async def three_attempts() -> dict[str, Any] | None:
                items = await deliveries(gw, owner, redirecting["id"])
                return items[0] if items and items[0]["attempts"] >= 3 else None

            retried = await until(three_attempts, what="a redirect never counts as delivered")
            assert retried["status"] == "pending" and retried["last_status_code"] == 301
            detail = (await gw.get(f"/api/v1/webhooks/deliveries/{retried['id']}", headers=owner)).json()
            assert [a["status_code"] for a in detail["attempt_log"]] == [301, 301, 301]
            assert not moved.with_id("") and len(moved.received) == 3


async def test_410_disables_the_endpoint_tells_its_owner_and_recover_brings_what_it_missed(
    domain: Domain, gw: httpx.AsyncClient
) -> None:
    owner = client(domain, f"wh-{uuid.uuid4().hex[:6]}")
    bystander = client(domain, f"wh-{uuid.uuid4().hex[:6]}")
    with receiving(status=410) as gone, receiving() as owners_inbox, receiving() as others_inbox:
        await create_endpoint(gw, owner, owners_inbox.url, DISABLED)
        await create_endpoint(gw, bystander, others_inbox.url, DISABLED)
        t0 = utc_now()
        endpoint = await create_endpoint(gw, owner, gone.url, FORMED)
        notice = (await until(lambda: owners_inbox.of_type(DISABLED), what="the owner is told"))[0]
        assert notice.body["data"]["endpoint_id"] == endpoint["id"]
        assert notice.body["data"]["reason"] == "gone" and notice.body["data"]["last_status_code"] == 410
        view = (await gw.get(f"/api/v1/webhooks/endpoints/{endpoint['id']}", headers=owner)).json()
        assert view["enabled"] is False and view["disabled_reason"] == "gone"

        # While disabled nothing is sent; what it missed waits as failed deliveries.
        missed = await publish_document(gw, owner)

        async def queued_as_failed() -> bool:
            items = await deliveries(gw, owner, endpoint["id"])
            return any(d["event_type"] == FORMED and d["status"] == "failed" for d in items)

        await until(queued_as_failed, what="a failed delivery for the missed event")
        assert not formed_for(gone, missed)
        r = await gw.post(
            f"/api/v1/webhooks/endpoints/{endpoint['id']}/recover",
            json={"since": t0.isoformat()},
            headers=owner,
        )
        assert r.status_code == 409

        gone.status = 204
        r = await gw.patch(
            f"/api/v1/webhooks/endpoints/{endpoint['id']}", json={"enabled": True}, headers=owner
        )
        assert r.status_code == 200 and r.json()["enabled"] is True
        r = await gw.post(
            f"/api/v1/webhooks/endpoints/{endpoint['id']}/recover",
            json={"since": t0.isoformat()},
            headers=owner,
        )
        assert r.status_code == 202 and r.json()["recovered"] == 2  # the ping and the missed event
        await until(lambda: formed_for(gone, missed), what="the recovered event")
        assert not others_inbox.of_type(DISABLED), "announcements go to the endpoint's owner only"


async def test_sustained_failure_disables_the_endpoint_and_resend_delivers_one_again(
    domain: Domain, gw: httpx.AsyncClient, gateway_db: str
) -> None:
    owner = client(domain, f"wh-{uuid.uuid4().hex[:6]}")
    with receiving(status=500) as failing, receiving() as owners_inbox:
        inbox = await create_endpoint(gw, owner, owners_inbox.url, DISABLED)
        owners_inbox.secrets.append(inbox["secret"])
        endpoint = await create_endpoint(gw, owner, failing.url, FORMED)

        async def failing_since() -> str | None:
            view = (await gw.get(f"/api/v1/webhooks/endpoints/{endpoint['id']}", headers=owner)).json()
            return view["failing_since"]  # type: ignore[no-any-return]

        await until(failing_since, what="the first failure")
        # Failing for six days (backdated): the next failure ends it.
        engine = create_async_engine(gateway_db)
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "UPDATE webhook_endpoints SET failing_since = failing_since - interval '6 days' "
                    "WHERE id = :id"
                ),
                {"id": endpoint["id"]},
            )
        await engine.dispose()
        await publish_document(gw, owner)
        notice = (await until(lambda: owners_inbox.of_type(DISABLED), what="auto-disable notice"))[0]
        assert notice.verified_with == [inbox["secret"]]
        assert notice.body["data"]["endpoint_id"] == endpoint["id"]
        assert notice.body["data"]["reason"] == "sustained-failure"
        assert notice.body["data"]["last_status_code"] == 500
        view = (await gw.get(f"/api/v1/webhooks/endpoints/{endpoint['id']}", headers=owner)).json()
        assert view["enabled"] is False and view["disabled_reason"] == "sustained-failure"
        listed = await deliveries(gw, owner, endpoint["id"])
        assert all(d["status"] == "failed" for d in listed), [
            (d["event_type"], d["status"], d["attempts"], d.get("last_error")) for d in listed
        ]

        # A delivered message can be sent once more, with the same webhook-id.
        ping = next(d for d in await deliveries(gw, owner, inbox["id"]) if d["event_type"] == PING)
        assert ping["status"] == "succeeded"
        r = await gw.post(f"/api/v1/webhooks/deliveries/{ping['id']}/resend", headers=owner)
        assert r.status_code == 202 and r.json()["status"] == "pending"
        await until(lambda: len(owners_inbox.with_id(ping["message_id"])) == 2, what="the resent ping")

        # The receiver answers before the gateway records the attempt: wait for the record.
        async def attempt_log() -> dict[str, Any] | None:
            view = (await gw.get(f"/api/v1/webhooks/deliveries/{ping['id']}", headers=owner)).json()
            return view if len(view["attempt_log"]) == 2 else None

        detail = await until(attempt_log, what="the resend in the attempt log")
        assert [a["trigger"] for a in detail["attempt_log"]] == ["event", "resend"]
        assert detail["status"] == "succeeded"


async def test_private_and_loopback_targets_are_refused_in_production(
    domain: Domain, postgres: PostgresSource
) -> None:
    common = apps.test_settings(environment="production", jwt_secret=f"production-{uuid.uuid4().hex}")
    app = gateway_app(domain, await postgres.new_database(), common=common, webhooks_enabled=False)
    headers = bearer(common, "office", client_id="wh-prod")
    async with running(app) as gw:
        for url in ("http://127.0.0.1:9/x", "http://localhost/x", "http://10.2.3.4/x", "http://[::1]/x"):
            r = await gw.post("/api/v1/webhooks/endpoints", json={"url": url}, headers=headers)
            assert r.status_code == 422, url
            assert r.json()["type"] == "/problems/webhook-target-refused"
        r = await gw.post(
            "/api/v1/webhooks/endpoints", json={"url": "https://8.8.8.8/hooks"}, headers=headers
        )
        assert r.status_code == 201, r.text

    app = gateway_app(
        domain,
        await postgres.new_database(),
        webhook_allowed_targets=["*.example.gov.cn"],
        webhooks_enabled=False,
    )
    headers = client(domain, "wh-allow")
    async with running(app) as gw:
        r = await gw.post(
            "/api/v1/webhooks/endpoints", json={"url": "https://evil.example.com/x"}, headers=headers
        )
        assert r.status_code == 422 and "允许列表" in r.json()["detail"]
        r = await gw.post(
            "/api/v1/webhooks/endpoints", json={"url": "https://hooks.example.gov.cn/x"}, headers=headers
        )
        assert r.status_code == 201


async def test_an_endpoint_receives_events_that_occur_after_its_creation_only(
    domain: Domain, gw: httpx.AsyncClient, gateway_db: str
) -> None:
    """A backlog the gateway is still consuming (events older than the endpoint) is not sent to a
    new endpoint; what happens after its creation is."""
    from services.gateway.webhooks.handlers import queue_event
    from shared.db import Database
    from shared.events import CloudEvent

    owner = client(domain, "wh-after")
    endpoint = await create_endpoint(gw, owner, "https://receiver.example/hooks", FORMED)
    created_at = datetime.fromisoformat(endpoint["created_at"])
    data = {"document_id": "doc-backlog", "version": 1, "department": "fgw"}

    db = Database(gateway_db)
    try:
        for occurred, expected in ((created_at - timedelta(seconds=1), 0), (created_at, 1)):
            event = CloudEvent(
                source="/xiaoneng/disclosure", type=FORMED, subject="doc-backlog", time=occurred, data=data
            )
            async with db.transaction() as session:
                queued = await queue_event(session, event, now=utc_now(), first_delay=3600)
            assert queued == expected, occurred
    finally:
        await db.engine.dispose()
    listed = [d for d in await deliveries(gw, owner, endpoint["id"]) if d["event_type"] == FORMED]
    assert len(listed) == 1
