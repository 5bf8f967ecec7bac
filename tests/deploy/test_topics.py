"""Every topic the code uses has a KafkaTopic, sized for its consumers; consumer groups are documented.

The topics come from the contracts in ``shared/events/contracts.py`` (``topic_for`` and
``dead_letter_topic``, exactly as the outbox and the consumer runner name them); the consumers
from the services' own subscriptions.
"""

from __future__ import annotations

from typing import Any

from shared.events import CONTRACTS, CalendarYearPublished, topic_for
from tests.support.manifests import OVERLAYS, ROOT, SUBSCRIPTIONS, code_topics, one


def _kafka_topics(objects: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {
        o["spec"].get("topicName", o["metadata"]["name"]): o
        for o in objects
        if o["kind"] == "KafkaTopic" and o["apiVersion"].startswith("kafka.strimzi.io/")
    }


def test_every_contract_topic_and_its_dead_letter_topic_has_a_kafkatopic(
    rendered: dict[str, list[dict[str, Any]]],
) -> None:
    wanted = code_topics()
    assert len(wanted) == 2 * len(CONTRACTS)
    for overlay in OVERLAYS:
        declared = _kafka_topics(rendered[overlay])
        assert sorted(wanted - declared.keys()) == [], f"{overlay}: topics without a KafkaTopic"
        assert sorted(declared.keys() - wanted) == [], f"{overlay}: KafkaTopics no contract uses"


def test_every_kafkatopic_belongs_to_the_cluster_and_sets_partitions_replicas_isr_and_retention(
    rendered: dict[str, list[dict[str, Any]]],
) -> None:
    for overlay in OVERLAYS:
        kafka = [o for o in rendered[overlay] if o["kind"] == "Kafka"]
        assert [k["metadata"]["name"] for k in kafka] == ["xn-kafka"]
        for name, topic in _kafka_topics(rendered[overlay]).items():
            spec, config = topic["spec"], topic["spec"].get("config", {})
            assert topic["metadata"]["labels"]["strimzi.io/cluster"] == "xn-kafka", name
            assert spec["partitions"] >= 1 and spec["replicas"] >= 1, name
            assert 1 <= config["min.insync.replicas"] <= spec["replicas"], name
            if name == topic_for(CalendarYearPublished):
                # The official holiday tables stay for good: compacted by year, never aged out.
                assert config["cleanup.policy"] == "compact" and int(config["retention.ms"]) == -1, name
            else:
                assert config["cleanup.policy"] == "delete" and int(config["retention.ms"]) > 0, name


def test_production_runs_three_kraft_brokers_and_topics_survive_one_broker_loss(
    rendered: dict[str, list[dict[str, Any]]],
) -> None:
    objects = rendered["production"]
    pools = [o for o in objects if o["kind"] == "KafkaNodePool"]
    brokers = sum(p["spec"]["replicas"] for p in pools if "broker" in p["spec"]["roles"])
    controllers = sum(p["spec"]["replicas"] for p in pools if "controller" in p["spec"]["roles"])
    assert brokers == 3 and controllers == 3
    assert all(p["metadata"]["labels"]["strimzi.io/cluster"] == "xn-kafka" for p in pools)
    for name, topic in _kafka_topics(objects).items():
        assert topic["spec"]["replicas"] == 3, name
        assert topic["spec"]["config"]["min.insync.replicas"] == 2, name
    config = one(objects, "Kafka", "xn-kafka")["spec"]["kafka"]["config"]
    assert config["auto.create.topics.enable"] is False


def test_consumer_replicas_never_exceed_the_partitions_of_the_topics_they_read(
    rendered: dict[str, list[dict[str, Any]]],
) -> None:
    for overlay in OVERLAYS:
        objects = rendered[overlay]
        topics = _kafka_topics(objects)
        for service, subscriptions in SUBSCRIPTIONS.items():
            worker = f"xn-{service}-worker"
            deployment = one(objects, "Deployment", worker)
            hpas = [
                o
                for o in objects
                if o["kind"] == "HorizontalPodAutoscaler" and o["spec"]["scaleTargetRef"]["name"] == worker
            ]
            most = max([deployment["spec"].get("replicas", 1), *(h["spec"]["maxReplicas"] for h in hpas)])
            for sub in subscriptions:
                for topic in sub.topics(""):
                    partitions = topics[topic]["spec"]["partitions"]
                    assert most <= partitions, f"{overlay}: {worker} up to {most} > {partitions} of {topic}"


def test_consumer_group_ids_are_documented() -> None:
    readme = (ROOT / "deploy" / "k8s" / "README.md").read_text()
    for service, subscriptions in SUBSCRIPTIONS.items():
        for sub in subscriptions:
            # ConsumerRunner's group: f"{topic_prefix}{service}.{consumer}"
            assert f"`{service}.{sub.consumer}`" in readme, f"group {service}.{sub.consumer} not documented"
