"""Escalation of late items (C5): lead department → the late department's deputy
secretary-general (verifies) → its vice-mayor; each step with actor and time, in order."""

from __future__ import annotations

from typing import Any

from shared.events import EscalationRaised
from shared.settings import CommonSettings
from tests.support.clock import at
from tests.support.coordination import Coordination, coordination, problem, signed
from tests.support.infra import PostgresSource

ASSIGNED = at("2018-06-14 10:00")
AFTER_DEADLINE = at("2018-06-21 09:30")

# jsj (市建设局) leads; nyj (市农业局) is late. Their leaders differ, so the chain shows whose applies.
LATE_DSG, LATE_VM = "dsg-agriculture", "vm-agriculture"
LEAD_DSG = "dsg-urban"


async def only_the_lead_escalates_and_only_a_late_item(
    c: Coordination, raise_url: str, answered_item: str, reason: dict[str, str]
) -> None:
    not_late = problem(await c.client.post(raise_url, json=reason, headers=c.dept("jsj")), 409)
    assert not_late["rule"] == "C5" and not_late["type"] == "/problems/item-not-late"
    await c.client.post(f"/v1/joint-items/{answered_item}/feedback", json=signed(), headers=c.dept("lyj"))

    c.clock.now = AFTER_DEADLINE
    problem(await c.client.post(raise_url, json=reason, headers=c.dept("nyj")), 403)
    problem(await c.client.post(raise_url, json=reason, headers=c.office()), 403)
    on_time = problem(
        await c.client.post(
            f"/v1/joint-items/{answered_item}/escalations", json=reason, headers=c.dept("jsj")
        ),
        409,
    )
    assert on_time["rule"] == "C5"


async def raised_once(c: Coordination, raise_url: str, reason: dict[str, str]) -> dict[str, Any]:
    raised = await c.client.post(raise_url, json=reason, headers=c.dept("jsj"))
    assert raised.status_code == 201, raised.text
    escalation: dict[str, Any] = raised.json()
    url = f"/v1/escalations/{escalation['id']}"
    assert raised.headers["location"] == url
    assert [(link["step"], link["leader"]) for link in escalation["chain"]] == [
        ("deputy_secretary_general", LATE_DSG),
        ("vice_mayor", LATE_VM),
    ]
    assert escalation["holder"] == LATE_DSG and escalation["status"] == "awaiting-verification"
    assert problem(await c.client.post(raise_url, json=reason, headers=c.dept("jsj")), 409)["rule"] == "C5"
    return escalation


async def verified_by_the_late_departments_deputy_secretary_general(c: Coordination, url: str) -> None:
    early = problem(await c.client.post(f"{url}/forwarding", json={}, headers=c.leader(LATE_DSG)), 409)
    assert early["rule"] == "C5"
    problem(
        await c.client.post(f"{url}/verification", json={"confirmed": True}, headers=c.leader(LEAD_DSG)),
        403,
    )
    problem(
        await c.client.post(f"{url}/verification", json={"confirmed": True}, headers=c.leader(LATE_VM)),
        403,
    )
    problem(await c.client.post(f"{url}/verification", json={"confirmed": True}, headers=c.dept("jsj")), 403)

    c.clock.now = at("2018-06-22 11:00")
    verified = await c.client.post(
        f"{url}/verification", json={"confirmed": True, "note": "情况属实"}, headers=c.leader(LATE_DSG)
    )
    assert verified.status_code == 200, verified.text
    assert verified.json()["status"] == "verified"
    problem(
        await c.client.post(f"{url}/verification", json={"confirmed": True}, headers=c.leader(LATE_DSG)),
        409,
    )


async def forwarded_to_the_vice_mayor(c: Coordination, url: str, late_item: str) -> None:
    c.clock.now = at("2018-06-22 15:00")
    forwarded = await c.client.post(f"{url}/forwarding", json={}, headers=c.leader(LATE_DSG))
    assert forwarded.status_code == 200, forwarded.text
    body = forwarded.json()
    assert body["status"] == "forwarded" and body["holder"] == LATE_VM
    assert [(s["seq"], s["step"], s["actor"], s["recipient"], s["at"]) for s in body["steps"]] == [
        (1, "raised", "jsj", LATE_DSG, "2018-06-21T09:30:00+08:00"),
        (2, "verified", LATE_DSG, None, "2018-06-22T11:00:00+08:00"),
        (3, "forwarded", LATE_DSG, LATE_VM, "2018-06-22T15:00:00+08:00"),
    ]
    closed = problem(await c.client.post(f"{url}/forwarding", json={}, headers=c.leader(LATE_VM)), 409)
    assert closed["type"] == "/problems/escalation-closed"

    events = await c.events(EscalationRaised)
    assert [(e["step"], e["actor"], e["recipient"], e["department"], e["task_id"]) for e in events] == [
        ("raised", "jsj", LATE_DSG, "nyj", late_item),
        ("verified", LATE_DSG, None, "nyj", late_item),
        ("forwarded", LATE_DSG, LATE_VM, "nyj", late_item),
    ]


async def test_C5_escalation_chain_goes_lead_then_deputy_secretary_general_then_vice_mayor(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    async with coordination(postgres, common, ASSIGNED) as c:
        matter = await c.open_matter("jsj", "nyj", "lyj")
        late_item, answered_item = (i["id"] for i in matter["items"])
        raise_url = f"/v1/joint-items/{late_item}/escalations"
        reason = {"reason": "逾期未反馈，影响项目报批"}
        await only_the_lead_escalates_and_only_a_late_item(c, raise_url, answered_item, reason)
        escalation = await raised_once(c, raise_url, reason)
        url = f"/v1/escalations/{escalation['id']}"
        await verified_by_the_late_departments_deputy_secretary_general(c, url)
        await forwarded_to_the_vice_mayor(c, url, late_item)

        assert (await c.client.get(url, headers=c.leader(LATE_VM))).status_code == 200
        assert (await c.client.get(url, headers=c.dept("nyj"))).status_code == 200
        problem(await c.client.get(url, headers=c.leader(LEAD_DSG)), 403)
        mine = await c.client.get("/v1/escalations", params={"holder": LATE_VM}, headers=c.leader(LATE_VM))
        assert [e["id"] for e in mine.json()["items"]] == [escalation["id"]]
        # The leaders the matter was escalated to may read its sheet.
        assert (
            await c.client.get(f"/v1/joint-matters/{matter['id']}", headers=c.leader(LATE_VM))
        ).status_code == 200
        item = (await c.client.get(f"/v1/joint-items/{late_item}", headers=c.dept("jsj"))).json()
        assert item["escalation_id"] == escalation["id"] and item["state"] == "deemed-consent"


async def test_C5_a_deputy_secretary_general_who_finds_a_valid_reason_closes_the_report(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    async with coordination(postgres, common, ASSIGNED) as c:
        matter = await c.open_matter("jsj", "nyj")
        c.clock.now = AFTER_DEADLINE
        escalation = (
            await c.client.post(
                f"/v1/joint-items/{matter['items'][0]['id']}/escalations",
                json={"reason": "逾期未反馈"},
                headers=c.dept("jsj"),
            )
        ).json()
        url = f"/v1/escalations/{escalation['id']}"
        dismissed = await c.client.post(
            f"{url}/verification",
            json={"confirmed": False, "note": "因汛期抢险延误，理由正当"},
            headers=c.leader(LATE_DSG),
        )
        assert dismissed.json()["status"] == "dismissed"
        assert dismissed.json()["steps"][-1]["step"] == "dismissed"
        problem(await c.client.post(f"{url}/forwarding", json={}, headers=c.leader(LATE_DSG)), 409)
        assert [e["step"] for e in await c.events(EscalationRaised)] == ["raised"]
