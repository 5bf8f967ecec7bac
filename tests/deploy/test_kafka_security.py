"""Kafka traffic is authenticated and encrypted, each service as its own KafkaUser with its own ACLs.

Checked on the rendered overlays (both use the TLS listener; there is no plain one): the Kafka
cluster's listeners and authorization, one KafkaUser per service whose generated secret the
service's pods read, the cluster CA mounted where the settings point, the settings the services
load from the manifests, the ACLs against the topics the code uses and the consumer groups it
runs, and the NetworkPolicy ports.
"""

from __future__ import annotations

import os

import pytest

from launcher.topology import SERVICES
from shared.settings import CommonSettings
from tests.support.manifests import OVERLAYS, SUBSCRIPTIONS, Obj, code_topics, environment, one

CLUSTER_CA_SECRET = "xn-kafka-cluster-ca-cert"


def _client_listeners(objects: list[Obj]) -> list[Obj]:
    kafka = one(objects, "Kafka", "xn-kafka")
    return list(kafka["spec"]["kafka"]["listeners"])


def _allows(user: Obj, resource_type: str, name: str, operation: str) -> bool:
    """Whether the user's ACLs allow ``operation`` on the resource (Kafka's simple authorizer)."""
    allowed = False
    for acl in user["spec"]["authorization"]["acls"]:
        resource = acl["resource"]
        if resource["type"] != resource_type:
            continue
        if resource_type != "cluster":
            pattern = resource.get("patternType", "literal")
            matches = name.startswith(resource["name"]) if pattern == "prefix" else name == resource["name"]
            if not matches:
                continue
        if operation in acl["operations"] or "All" in acl["operations"]:
            if acl.get("type", "allow") == "deny":
                return False
            allowed = True
    return allowed


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_kafka_has_only_a_tls_listener_with_scram_and_acls(
    overlay: str, rendered: dict[str, list[Obj]]
) -> None:
    objects = rendered[overlay]
    listeners = _client_listeners(objects)
    assert [(li["port"], li["tls"], li["authentication"]["type"]) for li in listeners] == [
        (9093, True, "scram-sha-512")
    ]
    kafka = one(objects, "Kafka", "xn-kafka")
    assert kafka["spec"]["kafka"]["authorization"] == {"type": "simple"}
    # The User Operator turns the KafkaUsers into SCRAM credentials, secrets and ACLs.
    assert "userOperator" in kafka["spec"]["entityOperator"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_service_connects_as_its_own_kafka_user_over_verified_tls(
    overlay: str, rendered: dict[str, list[Obj]], monkeypatch: pytest.MonkeyPatch
) -> None:
    objects = rendered[overlay]
    ports = {li["port"] for li in _client_listeners(objects)}
    for service in SERVICES:
        user = one(objects, "KafkaUser", f"xn-{service}")
        assert user["metadata"]["labels"]["strimzi.io/cluster"] == "xn-kafka"
        assert user["spec"]["authentication"] == {"type": "scram-sha-512"}
        deployments = [
            o
            for o in objects
            if o["kind"] == "Deployment"
            and o["metadata"]["labels"]["app.kubernetes.io/name"] == f"xn-{service}"
        ]
        assert len(deployments) == 2, service  # web and worker
        for deployment in deployments:
            name = deployment["metadata"]["name"]
            pod = deployment["spec"]["template"]["spec"]
            (container,) = pod["containers"]
            refs = {v["name"]: v["valueFrom"]["secretKeyRef"] for v in container["env"] if "valueFrom" in v}
            # The User Operator writes the password into a secret named after the KafkaUser.
            assert refs["XN_KAFKA_SASL_PASSWORD"] == {"name": user["metadata"]["name"], "key": "password"}, (
                name
            )
            env = environment(objects, container)
            assert env["XN_KAFKA_SASL_USERNAME"] == user["metadata"]["name"], name
            with monkeypatch.context() as m:
                for key, value in env.items():
                    m.setenv(key, value)
                common = CommonSettings()
            assert common.kafka_security_protocol == "SASL_SSL", name
            assert common.kafka_sasl_mechanism == "SCRAM-SHA-512", name
            assert common.kafka_create_topics is False, name
            host, port = common.kafka_bootstrap_servers.rsplit(":", 1)
            assert (host, int(port) in ports) == ("xn-kafka-kafka-bootstrap", True), name
            # The CA file is the cluster CA's ca.crt, mounted read-only.
            assert common.kafka_ssl_cafile is not None
            folder, file = os.path.split(common.kafka_ssl_cafile)
            (mount,) = [vm for vm in container["volumeMounts"] if vm["mountPath"] == folder]
            assert mount["readOnly"] is True, name
            (volume,) = [v for v in pod["volumes"] if v["name"] == mount["name"]]
            assert volume["secret"]["secretName"] == CLUSTER_CA_SECRET, name
            assert {"key": "ca.crt", "path": file} in volume["secret"]["items"], name


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_kafka_user_may_use_the_event_topics_and_only_its_own_consumer_groups(
    overlay: str, rendered: dict[str, list[Obj]]
) -> None:
    objects = rendered[overlay]
    users = {service: one(objects, "KafkaUser", f"xn-{service}") for service in SERVICES}
    for service, user in users.items():
        # Publish its events, read what it subscribes to, dead-letter what it cannot handle.
        for topic in sorted(code_topics()):
            for operation in ("Describe", "Read", "Write"):
                assert _allows(user, "topic", topic, operation), f"{service}: {operation} {topic}"
            # The KafkaTopics own the topics: no service creates, deletes or reconfigures one.
            for operation in ("Create", "Delete", "Alter", "AlterConfigs"):
                assert not _allows(user, "topic", topic, operation), f"{service}: {operation} {topic}"
        assert _allows(user, "cluster", "kafka-cluster", "IdempotentWrite"), service
    for service, subscriptions in SUBSCRIPTIONS.items():
        for sub in subscriptions:
            group = f"{service}.{sub.consumer}"  # ConsumerRunner's group id (no XN_TOPIC_PREFIX)
            assert _allows(users[service], "group", group, "Read"), f"{service} cannot join {group}"
            others = [s for s, u in users.items() if s != service and _allows(u, "group", group, "Read")]
            assert others == [], f"{group} is open to {others}"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_network_policies_open_only_the_tls_listener_to_the_services(
    overlay: str, rendered: dict[str, list[Obj]]
) -> None:
    objects = rendered[overlay]
    policy = one(objects, "NetworkPolicy", "kafka-clients-to-kafka")
    ports = sorted(p["port"] for rule in policy["spec"]["egress"] for p in rule["ports"])
    assert ports == sorted(li["port"] for li in _client_listeners(objects)) == [9093]
    for listener in _client_listeners(objects):
        peers = [peer["podSelector"]["matchLabels"] for peer in listener["networkPolicyPeers"]]
        assert peers == [{"xiaoneng.gov/kafka-client": "true"}]
