"""Issue 15, points 7 and 8: webhook deliveries follow the owner's read rights, and a target URL
means the same host to the check and to the sender, which connects to the address it checked."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from services.evaluation.service.common import RESULT_READER_ROLES
from services.gateway.settings import GatewaySettings
from services.gateway.webhooks import targets, visibility
from shared import reference
from shared.clock import utc_now
from shared.events import (
    CONTRACTS,
    CloudEvent,
    DocumentFormed,
    EventData,
    ExemptionDecided,
    VoteCast,
    topic_for,
)
from shared.messaging.outbox import to_message
from tests.support import apps
from tests.support import gateway as support
from tests.support.apps import bearer, running
from tests.support.gateway import Domain, document, gateway_app
from tests.support.infra import PostgresSource
from tests.support.waiting import until
from tests.support.webhooks import Receiver, receiving

domain = support.domain
FORMED = DocumentFormed.event_type()
DECIDED = ExemptionDecided.event_type()
VOTE = VoteCast.event_type()
PING = "gov.efficiency.webhook-ping.v1"
PRIVACY = {"ground": "personal-privacy", "reason": "附件含有征迁户的身份证号码和住址，公开将泄露个人隐私。"}


async def new_endpoint(gw: httpx.AsyncClient, headers: dict[str, str], url: str) -> dict[str, Any]:
    """An endpoint with no type filter: everything its owner may receive."""
    r = await gw.post("/api/v1/webhooks/endpoints", json={"url": url}, headers=headers)
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


async def delivered_types(gw: httpx.AsyncClient, headers: dict[str, str], endpoint_id: str) -> list[str]:
    r = await gw.get(f"/api/v1/webhooks/endpoints/{endpoint_id}/deliveries", headers=headers)
    assert r.status_code == 200, r.text
    return sorted(d["event_type"] for d in r.json()["items"])


def documents_in(receiver: Receiver, event_type: str) -> set[str]:
    return {r.body["data"]["document_id"] for r in receiver.of_type(event_type)}


async def publish_on_bus(domain: Domain, data: EventData) -> None:
    """An event as its service emits it, onto the bus the gateway consumes."""
    event = CloudEvent(
        source="/xiaoneng/evaluation",
        type=data.event_type(),
        subject=data.aggregate_id(),
        time=utc_now(),
        data=data.model_dump(mode="json"),
    )
    await domain.bus.publish([to_message(topic_for(type(data)), data.aggregate_id(), event)])


async def withheld_own_document_and_a_ballot(
    gw: httpx.AsyncClient,
    domain: Domain,
    office: dict[str, str],
    fgw: dict[str, str],
    leader: dict[str, str],
    suffix: str,
) -> tuple[dict[str, str], str, str]:
    """jtj's document withheld, fgw's own, a ballot cast: the withheld body and both ids."""
    # Another department's document, withheld with the signature of its vice-mayor.
    secret = {**document("jtj"), "title": f"征迁补偿名单 {suffix}"}
    r = await gw.post(
        "/api/v1/disclosure/documents",
        json={**secret, "disclosure_mode": "withheld", "exemption": PRIVACY},
        headers=office,
    )
    assert r.status_code == 201, r.text
    withheld = r.json()["id"]
    r = await gw.post(
        f"/api/v1/disclosure/documents/{withheld}/versions/1/exemption/decision",
        json={"granted": True},
        headers=leader,
    )
    assert r.status_code == 201, r.text
    # fgw's own document, and a ballot cast in an evaluation round.
    r = await gw.post("/api/v1/disclosure/documents", json=document("fgw"), headers=fgw)
    assert r.status_code == 201, r.text
    own = r.json()["id"]
    await publish_on_bus(domain, VoteCast(round_id="2018-Q2", tracker=f"{suffix:0>64}"))
    return secret, withheld, own


async def test_point_07_a_department_endpoint_gets_no_other_departments_withheld_document_nor_vote_cast(
    domain: Domain, postgres: PostgresSource
) -> None:
    """Every token could subscribe to every type and received the title of another department's
    withheld document and every vote-cast. Now each delivery follows what the endpoint's owner
    may read: the office gets all, a department its own documents only, an evaluator and a
    leader neither the turnout stream nor a document that may be withheld."""
    common = domain.common
    suffix = uuid.uuid4().hex[:6]
    office = bearer(common, "office", department="office", client_id=f"wh-office-{suffix}")
    fgw = bearer(common, "department", department="fgw", client_id=f"wh-fgw-{suffix}")
    evaluator = bearer(common, "evaluator", client_id=f"wh-evaluator-{suffix}")
    signer = reference.department("jtj").vice_mayor
    leader = bearer(common, "leader", department=signer, client_id=f"wh-leader-{suffix}")

    async with running(gateway_app(domain, await postgres.new_database())) as gw:
        with (
            receiving() as office_inbox,
            receiving() as fgw_inbox,
            receiving() as evaluator_inbox,
            receiving() as leader_inbox,
        ):
            endpoints = {
                "office": (office, await new_endpoint(gw, office, office_inbox.url)),
                "fgw": (fgw, await new_endpoint(gw, fgw, fgw_inbox.url)),
                "evaluator": (evaluator, await new_endpoint(gw, evaluator, evaluator_inbox.url)),
                "leader": (leader, await new_endpoint(gw, leader, leader_inbox.url)),
            }
            assert endpoints["fgw"][1]["owner_roles"] == ["department"]
            assert endpoints["fgw"][1]["owner_department"] == "fgw"

            secret, withheld, own = await withheld_own_document_and_a_ballot(
                gw, domain, office, fgw, leader, suffix
            )

            def office_has_everything() -> bool:
                return (
                    documents_in(office_inbox, FORMED) >= {withheld, own}
                    and withheld in documents_in(office_inbox, DECIDED)
                    and bool(office_inbox.of_type(VOTE))
                )

            await until(office_has_everything, what="every event at the office's endpoint")
            await until(lambda: own in documents_in(fgw_inbox, FORMED), what="fgw's own document")

            # The office's deliveries were queued in the same transactions as everyone else's:
            # whatever the others do not have by now, they never get.
            assert documents_in(fgw_inbox, FORMED) == {own}
            assert not fgw_inbox.of_type(DECIDED) and not fgw_inbox.of_type(VOTE)
            assert all(secret["title"] not in str(m.body) for m in fgw_inbox.received)
            for name in ("evaluator", "leader"):
                headers, endpoint = endpoints[name]
                assert await delivered_types(gw, headers, endpoint["id"]) == [PING], name
            assert all(secret["title"] not in str(m.body) for m in leader_inbox.received)
            headers, endpoint = endpoints["fgw"]
            assert await delivered_types(gw, headers, endpoint["id"]) == sorted([FORMED, PING])
            assert [m.body["type"] for m in evaluator_inbox.received] == [PING]


async def test_point_07_the_event_types_listing_says_who_receives_each_type(
    domain: Domain, postgres: PostgresSource
) -> None:
    """The listing had no word on who receives what; now every type says it, from the same rule
    the deliveries follow, and the rule covers every contract."""
    async with running(gateway_app(domain, await postgres.new_database(), webhooks_enabled=False)) as gw:
        r = await gw.get("/api/v1/webhooks/event-types")
        assert r.status_code == 200
        listed = {t["type"]: t for t in r.json()}
        doc = (await gw.get("/openapi.json")).json()
    assert all(t["recipients"] for t in listed.values())
    vote = listed[VOTE]["recipients"]
    assert "office" in vote and "admin" in vote and "department 角色" not in vote
    assert "department" in listed[FORMED]["recipients"]
    assert listed[PING]["recipients"] == visibility.PING_RECIPIENTS
    creation = doc["paths"]["/api/v1/webhooks/endpoints"]["post"]["description"]
    assert "有权读取" in creation and "recipients" in creation
    assert {c.event_type() for c in CONTRACTS} <= set(visibility.RULES)
    assert visibility.RESULT_READER_ROLES == RESULT_READER_ROLES


TRICKY = (
    "http://127.0.0.1:{port}\\@8.8.8.8/hooks",  # backslash before @
    "http://127.0.0.1:{port}%23@8.8.8.8/hooks",  # %23 (#) before @
    "http://hooks:secret@8.8.8.8/hooks",  # user information
    "http://[::127.0.0.1]:{port}/hooks",  # IPv4-compatible
    "http://[::ffff:127.0.0.1]:{port}/hooks",  # IPv4-mapped
    "http://[::ffff:0:7f00:1]:{port}/hooks",  # IPv4-translated (SIIT)
    "http://[64:ff9b::7f00:1]:{port}/hooks",  # NAT64 well-known prefix
    "http://[64:ff9b::a00:1]:{port}/hooks",  # NAT64 of 10.0.0.1
    "http://[2002:7f00:1::1]:{port}/hooks",  # 6to4 of 127.0.0.1
    "http://[2002:c0a8:101::1]:{port}/hooks",  # 6to4 of 192.168.1.1
)


async def test_point_08_tricky_target_urls_are_refused_by_the_check_and_by_the_api_in_production(
    domain: Domain, postgres: PostgresSource
) -> None:
    """The check read these as a public host (8.8.8.8, or an IPv6 address it took for public)
    while the address behind them is loopback or private; they were accepted in production."""
    common = apps.test_settings(environment="production", jwt_secret=f"production-{uuid.uuid4().hex}")
    port = support.free_socket().getsockname()[1]
    urls = [u.format(port=port) for u in TRICKY]
    for url in urls:
        assert await targets.refusal(url, GatewaySettings(), common) is not None, url
    assert await targets.refusal("https://8.8.8.8/hooks", GatewaySettings(), common) is None

    app = gateway_app(domain, await postgres.new_database(), common=common, webhooks_enabled=False)
    headers = bearer(common, "office", client_id="wh-prod")
    async with running(app) as gw:
        for url in urls:
            r = await gw.post("/api/v1/webhooks/endpoints", json={"url": url}, headers=headers)
            assert r.status_code == 422, (url, r.text)
            assert r.headers["content-type"] == "application/problem+json"
            problem = r.json()
            assert problem["type"] == "/problems/webhook-target-refused" and problem["field"] == "url", url
        r = await gw.post(
            "/api/v1/webhooks/endpoints", json={"url": "https://8.8.8.8/hooks"}, headers=headers
        )
        assert r.status_code == 201, r.text
        endpoint = r.json()
        r = await gw.patch(
            f"/api/v1/webhooks/endpoints/{endpoint['id']}", json={"url": urls[0]}, headers=headers
        )
        assert r.status_code == 422 and r.json()["field"] == "url"


@dataclass
class Listener:
    """A bare HTTP listener on 127.0.0.1 that records the Host header of each request."""

    hosts: list[str] = field(default_factory=list)
    port: int = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(Exception):
            head = await reader.readuntil(b"\r\n\r\n")
            headers = dict(
                line.split(":", 1) for line in head.decode("latin-1").split("\r\n")[1:] if ":" in line
            )
            headers = {k.strip().lower(): v.strip() for k, v in headers.items()}
            await reader.readexactly(int(headers.get("content-length", "0")))
            self.hosts.append(headers.get("host", ""))
            writer.write(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n")
            await writer.drain()
        writer.close()


@contextlib.asynccontextmanager
async def listening() -> AsyncIterator[Listener]:
    listener = Listener()
    server = await asyncio.start_server(listener.handle, "127.0.0.1", 0)
    listener.port = server.sockets[0].getsockname()[1]
    try:
        yield listener
    finally:
        server.close()


async def test_point_08_an_attempt_connects_to_the_address_the_check_resolved(
    domain: Domain, postgres: PostgresSource, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check resolved the name and the HTTP client resolved it again when connecting, so a
    second DNS answer (rebinding) decided where the request went. Now the attempt connects to the
    checked address and sends the name as Host. The name here resolves only through the check's
    resolver (standing in for DNS that answers differently the second time), to this test's own
    listener on 127.0.0.1: only a pinned connection reaches it."""
    name = f"hooks-{uuid.uuid4().hex[:8]}.pinned.invalid"
    asked: list[str] = []

    async def check_time_dns(host: str, port: int | None = None) -> list[str]:
        asked.append(host)
        return ["127.0.0.1"] if host == name else []

    monkeypatch.setattr(targets, "resolve", check_time_dns)
    owner = bearer(domain.common, "office", department="office", client_id="wh-pinned")
    app = gateway_app(domain, await postgres.new_database(), webhook_allowed_targets=["127.0.0.0/8"])
    async with listening() as listener, running(app) as gw:
        url = f"http://{name}:{listener.port}/hooks"
        r = await gw.post("/api/v1/webhooks/endpoints", json={"url": url}, headers=owner)
        assert r.status_code == 201, r.text
        endpoint = r.json()

        async def delivered() -> list[dict[str, Any]]:
            r = await gw.get(f"/api/v1/webhooks/endpoints/{endpoint['id']}/deliveries", headers=owner)
            return [d for d in r.json()["items"] if d["status"] == "succeeded"]

        await until(delivered, timeout=15, what="the ping at the checked address")
    assert listener.hosts == [f"{name}:{listener.port}"]
    assert name in asked


def self_signed(name: str, directory: Path) -> tuple[Path, Path]:
    """A certificate for ``name`` and its key, as files (the test's own little CA of one)."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = utc_now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_file, key_file


async def test_point_08_a_pinned_https_attempt_sends_the_name_for_sni_and_verifies_its_certificate(
    tmp_path: Path,
) -> None:
    """Pinning must not weaken TLS: connecting to the checked IP, the sender still names the host
    in SNI and Host and checks the certificate against that name, not against the IP."""
    name = "hooks.pinned.invalid"
    cert_file, key_file = self_signed(name, tmp_path)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert_file, key_file)
    sni: list[str | None] = []
    server_tls.sni_callback = lambda _sock, server_name, _ctx: sni.append(server_name)
    listener = Listener()
    server = await asyncio.start_server(listener.handle, "127.0.0.1", 0, ssl=server_tls)
    port = server.sockets[0].getsockname()[1]
    trusting = ssl.create_default_context(cafile=str(cert_file))
    try:
        async with httpx.AsyncClient(verify=trusting) as http:
            target = targets.Target(url=httpx.URL(f"https://{name}:{port}/hooks"), address="127.0.0.1")
            url, headers, extensions = target.request()
            assert url.host == "127.0.0.1"
            request = http.build_request("POST", url, content=b"{}", headers=headers, extensions=extensions)
            assert (await http.send(request)).status_code == 204
            assert sni == [name] and listener.hosts == [f"{name}:{port}"]

            # The same address under another name: its certificate does not match, refused.
            other = targets.Target(url=httpx.URL(f"https://other.invalid:{port}/hooks"), address="127.0.0.1")
            url, headers, extensions = other.request()
            request = http.build_request("POST", url, content=b"{}", headers=headers, extensions=extensions)
            with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
                await http.send(request)
    finally:
        server.close()
    assert listener.hosts == [f"{name}:{port}"]
