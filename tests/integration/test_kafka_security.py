"""KafkaBus on a real broker that demands SASL authentication (SCRAM-SHA-512, as in production).

The broker is the Maven-assembled one (``devtools/kafka_broker.py``) with a second listener,
``SASL_PLAINTEXT`` with SCRAM-SHA-512, and one user; the plain listener stays for the readiness
probe and for checking from outside what the bus did. The bus is built the way a service builds
it, from ``CommonSettings`` through ``shared.app.build_bus``. Production adds TLS on top
(``SASL_SSL``), which changes only the ``ssl_context`` the unit tests check.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaConnectionError
from pydantic import SecretStr

from devtools.kafka_broker import KafkaBroker
from shared.app import build_bus
from shared.messaging.bus import Message
from shared.messaging.kafka import KafkaBus
from shared.settings import CommonSettings
from tests.support.infra import unavailable

pytestmark = pytest.mark.kafka

USER = "xn-evaluation"
PASSWORD = "s3cret-" + uuid.uuid4().hex


@dataclass(frozen=True)
class SaslBroker:
    plain: str  # no authentication: only the test itself uses it, to look from outside
    sasl: str  # SASL_PLAINTEXT, SCRAM-SHA-512


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def sasl_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SaslBroker]:
    sasl_port = _free_port()
    broker = KafkaBroker(tmp_path_factory.mktemp("kafka-sasl"), scram_users={USER: PASSWORD})
    while sasl_port in (broker.port, broker.controller_port):
        sasl_port = _free_port()
    host = "127.0.0.1"
    broker.extra_properties = {
        "listeners": (
            f"PLAINTEXT://{host}:{broker.port},SASL_PLAINTEXT://{host}:{sasl_port},"
            f"CONTROLLER://{host}:{broker.controller_port}"
        ),
        "advertised.listeners": f"PLAINTEXT://{host}:{broker.port},SASL_PLAINTEXT://{host}:{sasl_port}",
        "listener.security.protocol.map": (
            "PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:PLAINTEXT"
        ),
        "sasl.enabled.mechanisms": "SCRAM-SHA-512",
        "listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config": (
            "org.apache.kafka.common.security.scram.ScramLoginModule required;"
        ),
        # As in production: nothing appears unless someone creates it.
        "auto.create.topics.enable": "false",
    }
    try:
        broker.start(timeout=90)
    except Exception as exc:
        unavailable("Apache Kafka with SASL/SCRAM", repr(exc))
    yield SaslBroker(plain=broker.bootstrap, sasl=f"{host}:{sasl_port}")
    broker.stop()


def _settings(broker: SaslBroker, password: str, *, create_topics: bool = True) -> CommonSettings:
    return CommonSettings(
        bus="kafka",
        kafka_bootstrap_servers=broker.sasl,
        kafka_security_protocol="SASL_PLAINTEXT",
        kafka_sasl_mechanism="SCRAM-SHA-512",
        kafka_sasl_username=USER,
        kafka_sasl_password=SecretStr(password),
        kafka_create_topics=create_topics,
    )


async def _topics(bootstrap: str) -> set[str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        return set(await admin.list_topics())
    finally:
        await admin.close()


async def test_the_bus_publishes_and_consumes_as_its_scram_user(sasl_broker: SaslBroker) -> None:
    topic = f"gov.efficiency.sasl-{uuid.uuid4().hex[:8]}.v1"
    bus = build_bus(_settings(sasl_broker, PASSWORD), "evaluation")
    assert isinstance(bus, KafkaBus)
    await bus.start()
    try:
        await bus.ping()
        await bus.publish([Message(topic=topic, key=b"doc-1", value=b'{"n": 1}', headers=(("h", b"1"),))])
        consumer = bus.consumer("evaluation.sasl-check", [topic])
        await consumer.start()
        try:
            received: list[Message] = []
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 30
            while not received and loop.time() < deadline:
                received = await consumer.fetch(10, 0.5)
            assert [(m.topic, m.key, m.value, m.headers) for m in received] == [
                (topic, b"doc-1", b'{"n": 1}', (("h", b"1"),))
            ]
            await consumer.commit(received)
        finally:
            await consumer.stop()
    finally:
        await bus.stop()


async def test_a_wrong_password_is_refused_and_the_log_says_why(
    sasl_broker: SaslBroker, caplog: pytest.LogCaptureFixture
) -> None:
    bus = build_bus(_settings(sasl_broker, "not-" + PASSWORD), "evaluation")
    caplog.set_level(logging.ERROR, logger="aiokafka")
    with pytest.raises(KafkaConnectionError, match="Unable to bootstrap"):
        await bus.start()
    await bus.stop()
    with pytest.raises(KafkaConnectionError):
        await bus.ping()
    reasons = [r.getMessage() for r in caplog.records if "SaslAuthenticationFailed" in r.getMessage()]
    assert reasons, [r.getMessage() for r in caplog.records]
    assert "invalid credentials" in reasons[0] and "SCRAM-SHA-512" in reasons[0]
    assert PASSWORD not in caplog.text


async def test_without_topic_creation_the_bus_creates_no_topic(sasl_broker: SaslBroker) -> None:
    missing = f"gov.efficiency.absent-{uuid.uuid4().hex[:8]}.v1"
    wanted = f"gov.efficiency.wanted-{uuid.uuid4().hex[:8]}.v1"
    declared = build_bus(_settings(sasl_broker, PASSWORD, create_topics=False), "evaluation")
    creating = build_bus(_settings(sasl_broker, PASSWORD, create_topics=True), "evaluation")
    await declared.ensure_topics([missing])
    await creating.ensure_topics([wanted])  # the default (tests, embedded) still creates them
    topics = await _topics(sasl_broker.plain)
    assert wanted in topics
    assert missing not in topics
