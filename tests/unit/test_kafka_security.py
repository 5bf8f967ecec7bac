"""Kafka security settings: what an operator sets, what they are told when it does not fit, and
what every Kafka client of the bus is given (pure: no broker; the real-broker check is
tests/integration/test_kafka_security.py)."""

from __future__ import annotations

import ssl
from typing import Any

import certifi
import pytest
from pydantic import SecretStr, ValidationError

from shared.app import build_bus
from shared.messaging.kafka import KafkaBus, KafkaSecurity
from shared.settings import CommonSettings

PASSWORD = "pa55-word-that-must-never-show"


@pytest.fixture(autouse=True)
def _no_kafka_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "XN_KAFKA_SECURITY_PROTOCOL",
        "XN_KAFKA_SASL_MECHANISM",
        "XN_KAFKA_SASL_USERNAME",
        "XN_KAFKA_SASL_PASSWORD",
        "XN_KAFKA_SSL_CAFILE",
        "XN_KAFKA_CREATE_TOPICS",
    ):
        monkeypatch.delenv(name, raising=False)


def _invalid(**values: Any) -> str:
    with pytest.raises(ValidationError) as caught:
        CommonSettings(**values)
    message = str(caught.value)
    assert PASSWORD not in message
    return message


def test_defaults_are_a_plain_connection_that_creates_its_topics() -> None:
    common = CommonSettings()
    assert common.kafka_security_protocol == "PLAINTEXT"
    assert common.kafka_sasl_mechanism is None
    assert common.kafka_create_topics is True
    bus = build_bus(common.model_copy(update={"bus": "kafka"}), "disclosure")
    assert isinstance(bus, KafkaBus)
    assert bus.security == KafkaSecurity()
    assert bus.creates_topics is True


def test_the_production_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XN_KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("XN_KAFKA_SASL_MECHANISM", "SCRAM-SHA-512")
    monkeypatch.setenv("XN_KAFKA_SASL_USERNAME", "xn-evaluation")
    monkeypatch.setenv("XN_KAFKA_SASL_PASSWORD", PASSWORD)
    monkeypatch.setenv("XN_KAFKA_SSL_CAFILE", certifi.where())
    monkeypatch.setenv("XN_KAFKA_CREATE_TOPICS", "false")
    common = CommonSettings()
    assert common.kafka_sasl_password == SecretStr(PASSWORD)
    assert PASSWORD not in repr(common) and PASSWORD not in str(common.model_dump())
    bus = build_bus(common.model_copy(update={"bus": "kafka"}), "evaluation")
    assert isinstance(bus, KafkaBus)
    assert bus.security == KafkaSecurity(
        "SASL_SSL", "SCRAM-SHA-512", "xn-evaluation", PASSWORD, certifi.where()
    )
    assert bus.creates_topics is False


@pytest.mark.parametrize("protocol", ["SASL_SSL", "SASL_PLAINTEXT"])
def test_sasl_without_mechanism_or_credentials_names_what_is_missing(protocol: str) -> None:
    message = _invalid(kafka_security_protocol=protocol)
    assert f"XN_KAFKA_SECURITY_PROTOCOL={protocol} needs" in message
    assert "XN_KAFKA_SASL_MECHANISM, XN_KAFKA_SASL_USERNAME, XN_KAFKA_SASL_PASSWORD" in message
    message = _invalid(
        kafka_security_protocol=protocol,
        kafka_sasl_mechanism="SCRAM-SHA-512",
        kafka_sasl_username="xn-gateway",
    )
    assert "needs XN_KAFKA_SASL_PASSWORD (SASL authentication)" in message
    message = _invalid(
        kafka_security_protocol=protocol,
        kafka_sasl_mechanism="PLAIN",
        kafka_sasl_username="  ",
        kafka_sasl_password=PASSWORD,
    )
    assert "needs XN_KAFKA_SASL_USERNAME " in message
    assert "needs XN_KAFKA_SASL_PASSWORD" in _invalid(
        kafka_security_protocol=protocol,
        kafka_sasl_mechanism="PLAIN",
        kafka_sasl_username="xn-gateway",
        kafka_sasl_password="",
    )


@pytest.mark.parametrize("protocol", ["PLAINTEXT", "SSL"])
def test_credentials_without_a_sasl_protocol_are_refused_not_ignored(protocol: str) -> None:
    message = _invalid(
        kafka_security_protocol=protocol,
        kafka_sasl_mechanism="SCRAM-SHA-512",
        kafka_sasl_username="xn-gateway",
        kafka_sasl_password=PASSWORD,
    )
    assert (
        "XN_KAFKA_SASL_MECHANISM, XN_KAFKA_SASL_USERNAME, XN_KAFKA_SASL_PASSWORD set but "
        f"XN_KAFKA_SECURITY_PROTOCOL={protocol} does not authenticate" in message
    )


@pytest.mark.parametrize("protocol", ["PLAINTEXT", "SASL_PLAINTEXT"])
def test_a_ca_file_without_tls_is_refused(protocol: str) -> None:
    sasl = (
        {"kafka_sasl_mechanism": "PLAIN", "kafka_sasl_username": "u", "kafka_sasl_password": PASSWORD}
        if protocol.startswith("SASL")
        else {}
    )
    message = _invalid(kafka_security_protocol=protocol, kafka_ssl_cafile=certifi.where(), **sasl)
    assert f"XN_KAFKA_SSL_CAFILE set but XN_KAFKA_SECURITY_PROTOCOL={protocol} does not use TLS" in message


def test_unknown_protocol_or_mechanism_is_refused() -> None:
    assert "kafka_security_protocol" in _invalid(kafka_security_protocol="TLS")
    assert "kafka_sasl_mechanism" in _invalid(
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_mechanism="GSSAPI",
        kafka_sasl_username="u",
        kafka_sasl_password=PASSWORD,
    )


def test_plaintext_gives_the_clients_nothing_but_the_protocol() -> None:
    assert KafkaSecurity().client_kwargs() == {"security_protocol": "PLAINTEXT"}


def test_sasl_plaintext_gives_mechanism_and_credentials_and_no_tls() -> None:
    kwargs = KafkaSecurity("SASL_PLAINTEXT", "SCRAM-SHA-256", "xn-indicators", PASSWORD).client_kwargs()
    assert kwargs == {
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": "SCRAM-SHA-256",
        "sasl_plain_username": "xn-indicators",
        "sasl_plain_password": PASSWORD,
    }


def _checks_the_server(context: object) -> ssl.SSLContext:
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname is True
    return context


def test_ssl_verifies_the_brokers_against_the_given_ca_file_or_the_system() -> None:
    kwargs = KafkaSecurity("SSL", ssl_cafile=certifi.where()).client_kwargs()
    assert kwargs.keys() == {"security_protocol", "ssl_context"}
    assert kwargs["security_protocol"] == "SSL"
    assert _checks_the_server(kwargs["ssl_context"]).get_ca_certs()  # the bundle was loaded
    _checks_the_server(KafkaSecurity("SSL").client_kwargs()["ssl_context"])


def test_sasl_ssl_gives_credentials_and_a_verifying_tls_context() -> None:
    kwargs = KafkaSecurity(
        "SASL_SSL", "SCRAM-SHA-512", "xn-evaluation", PASSWORD, certifi.where()
    ).client_kwargs()
    _checks_the_server(kwargs.pop("ssl_context"))
    assert kwargs == {
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "xn-evaluation",
        "sasl_plain_password": PASSWORD,
    }


def test_the_password_is_not_in_the_security_repr() -> None:
    security = KafkaSecurity("SASL_SSL", "SCRAM-SHA-512", "xn-evaluation", PASSWORD)
    assert "xn-evaluation" in repr(security) and PASSWORD not in repr(security)


def test_direct_callers_get_the_same_checks_when_the_bus_is_built(tmp_path: Any) -> None:
    with pytest.raises(ValueError, match="SASL_SSL needs a SASL mechanism, a username and a password"):
        KafkaBus("127.0.0.1:9093", client_id="x", security=KafkaSecurity("SASL_SSL"))
    with pytest.raises(ValueError, match="PLAINTEXT does not use TLS"):
        KafkaBus("127.0.0.1:9092", client_id="x", security=KafkaSecurity(ssl_cafile=certifi.where()))
    with pytest.raises(FileNotFoundError):
        KafkaBus(
            "127.0.0.1:9093", client_id="x", security=KafkaSecurity("SSL", ssl_cafile=str(tmp_path / "no"))
        )
