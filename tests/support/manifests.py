"""What the deploy checks read: the repository, the overlays, the objects rendered from them, and
the topics and consumers the code itself names."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from launcher.topology import SERVICES
from services.gateway.webhooks import handlers as webhook_handlers
from shared import calendar_store
from shared.clock import utc_now
from shared.events import CONTRACTS, dead_letter_topic, topic_for
from shared.messaging.consumer import Subscription

ROOT = Path(__file__).resolve().parents[2]
OVERLAYS = ("dev", "production")

Obj = dict[str, Any]


def _subscriptions() -> dict[str, list[Subscription]]:
    """The consumers each service runs (in its worker Deployment), from the services' own specs."""
    found: dict[str, list[Subscription]] = {}
    for service in SERVICES:
        spec = getattr(importlib.import_module(f"services.{service}.app"), "SPEC", None)
        if spec is None:
            continue
        subscriptions = list(spec.subscriptions)
        if spec.keeps_calendar:
            # Added by create_service_app to every service that keeps the holiday calendar.
            subscriptions.append(calendar_store.subscription(None, spec.recompute_deadlines))  # type: ignore[arg-type]
        if subscriptions:
            found[service] = subscriptions
    # The gateway builds its spec per app (the webhook consumer needs the app's clock).
    found["gateway"] = [webhook_handlers.subscription(utc_now, lambda: 0.0, lambda: None)]
    return found


SUBSCRIPTIONS = _subscriptions()


def code_topics() -> set[str]:
    topics = {topic_for(c) for c in CONTRACTS}
    return topics | {dead_letter_topic(t) for t in topics}


def one(objects: list[Obj], kind: str, name: str) -> Obj:
    found = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind}/{name}: found {len(found)}"
    return found[0]


def environment(objects: list[Obj], container: Obj) -> dict[str, str]:
    """The container's environment as the kubelet builds it; secret values become stand-ins."""
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        ref = source["configMapRef"]["name"]
        env.update(one(objects, "ConfigMap", ref)["data"])
    for var in container.get("env", []):
        if "value" in var:
            env[var["name"]] = var["value"]
        else:
            ref = var["valueFrom"]["secretKeyRef"]
            env[var["name"]] = f"stand-in-for-{ref['name']}-{ref['key']}-0123456789abcdef"
    return env
