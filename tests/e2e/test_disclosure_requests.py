"""Disclosure on request end to end, through the gateway on real Kafka (D7): an anonymous applicant
submits a request without a token, the organ answers it after its deadline, and the late answer
reaches a webhook subscriber (deadline-passed, disclosure-request-answered) and evaluation's
department facts.

The business clock of the disclosure process is moved (``XN_CLOCK_START``): the request is
submitted on Friday 2018-09-28, its 20 working days run across the National Day holiday to
24:00 of 10-31, and the organ answers on 2018-11-05. The department ``tjj`` (市统计局) is used by
no other end-to-end test, so its facts are this module's alone.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from launcher.processes import register_client
from shared.events import DeadlinePassed
from shared.events.contracts import DisclosureRequestAnswered
from tests.support.clusters import Cluster, department_facts, restarted_with, token_for
from tests.support.waiting import wait_for
from tests.support.webhooks import Receiver

pytestmark = [pytest.mark.e2e, pytest.mark.kafka]

DEPARTMENT = "tjj"


def test_D7_an_anonymous_request_answered_late_reaches_a_webhook_and_evaluation_facts(
    cluster: Cluster, http: httpx.Client
) -> None:
    register_client(cluster.env, "e2e-tjj", "department", DEPARTMENT)
    office = token_for(http, "e2e-office")
    receiver = Receiver().start()
    try:
        types = [DeadlinePassed.event_type(), DisclosureRequestAnswered.event_type()]
        r = http.post(
            "/api/v1/webhooks/endpoints", json={"url": receiver.url, "event_types": types}, headers=office
        )
        assert r.status_code == 201, r.text
        receiver.secrets.append(r.json()["secret"])
        wait_for(lambda: receiver.of_type("gov.efficiency.webhook-ping.v1"), what="ping")

        with restarted_with(cluster["disclosure"], {"XN_CLOCK_START": "2018-09-28T15:00:00+08:00"}):
            body = {
                "department": DEPARTMENT,
                "applicant_type": "natural-person",
                "applicant": {"name": "王五", "phone": "13900000000"},
                "content": "2018年湖州市统计年鉴的编制说明",
            }
            r = http.post("/api/v1/disclosure/public/requests", json=body)  # no token
            assert r.status_code == 201, r.text
            receipt = r.json()
            assert receipt["received_on"] == "2018-09-28" and receipt["due_on"] == "2018-10-31"
            code = {"X-Access-Code": receipt["access_code"]}
            mine = http.get(f"/api/v1/disclosure/public/requests/{receipt['number']}", headers=code)
            assert mine.status_code == 200 and mine.json()["status"] == "pending"
            request_id = mine.json()["id"]
            guessed = http.get(
                f"/api/v1/disclosure/public/requests/{receipt['number']}", headers={"X-Access-Code": "X"}
            )
            assert guessed.status_code == 404

        clock = {"XN_CLOCK_START": "2018-11-05T10:00:00+08:00", "XN_SWEEP_INTERVAL_SECONDS": "3600"}
        with restarted_with(cluster["disclosure"], clock):
            organ = token_for(http, "e2e-tjj")
            r = http.post(
                f"/api/v1/disclosure/requests/{request_id}/answer",
                json={"kind": "disclosed", "documents": [{"title": "2018年统计年鉴编制说明"}]},
                headers=organ,
            )
            assert r.status_code == 201, r.text
            assert r.json()["answer"]["late"] is True and r.json()["overdue_at"] is not None

        def passed() -> list[Any]:
            return [
                m
                for m in receiver.of_type(DeadlinePassed.event_type())
                if m.body["data"]["subject_id"] == request_id
            ]

        (message,) = wait_for(passed, what="deadline-passed of the request at the webhook")
        assert message.verified_with == receiver.secrets
        expected = {
            "subject_kind": "disclosure-request",
            "subject_id": request_id,
            "department": DEPARTMENT,
            "deadline": "2018-11-01T00:00:00+08:00",
            "consequence": "overdue",
            "deadline_provisional": False,
        }
        assert {k: message.body["data"][k] for k in expected} == expected
        answered = wait_for(
            lambda: [
                m
                for m in receiver.of_type(DisclosureRequestAnswered.event_type())
                if m.body["data"]["request_id"] == request_id
            ],
            what="disclosure-request-answered at the webhook",
        )
        assert answered[0].body["data"]["late"] is True

        def fact() -> list[dict[str, Any]]:
            found: list[dict[str, Any]] = department_facts(http, office, DEPARTMENT)["facts"]
            return [f for f in found if f["subject_id"] == request_id]

        (recorded,) = wait_for(fact, what="the late answer in evaluation's department facts")
        assert recorded["kind"] == "disclosure-request-overdue"
        assert recorded["detail"]["deadline"] == "2018-11-01T00:00:00+08:00"
        # Announced once: only one deadline-passed for the request reached the subscriber.
        assert len(passed()) == 1
    finally:
        receiver.stop()
