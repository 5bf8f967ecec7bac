"""D2: withholding a document needs an enumerated ground, a written reason from the drafting
department and the signature of the vice-mayor in charge of it; otherwise it must be published."""

from __future__ import annotations

from services.disclosure.sweeper import mark_overdue
from shared.events import DeadlinePassed, ExemptionDecided
from shared.settings import CommonSettings
from tests.support.apps import bearer
from tests.support.clock import at
from tests.support.disclosure import (
    IN_CHARGE,
    PRIVACY,
    change,
    clock_at,
    decide,
    disclosure,
    drafter,
    leader,
    office,
    payload,
    publish,
    register,
    withheld,
)
from tests.support.events import committed
from tests.support.infra import PostgresSource


async def test_D2_exemption_signed_by_the_vice_mayor_in_charge_withholds_the_version(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    async with disclosure(postgres, common) as (client, app):
        doc = await withheld(client, common, formed_on="2018-06-01")
        pending = doc["versions"][0]["exemption"]
        assert pending["decision"] == "pending" and pending["required_signer"] == IN_CHARGE
        assert pending["ground_name"] == "个人隐私" and pending["reason"] == PRIVACY["reason"]

        with clock_at(app.state.ctx, "2018-06-05 10:00:00"):  # signed before the deadline (24:00 of 06-11)
            r = await decide(client, doc, leader(common, IN_CHARGE), granted=True, comment="同意。")
        assert r.status_code == 201, r.text
        assert r.json()["status"] == "exempt"
        signed = r.json()["versions"][0]["exemption"]
        assert signed["decision"] == "granted" and signed["signed_by"] == IN_CHARGE
        (decided,) = await committed(app, ExemptionDecided)
        assert decided == {
            "document_id": doc["id"],
            "version": 1,
            "department": "fgw",
            "ground": "personal-privacy",
            "granted": True,
            "signed_by": IN_CHARGE,
            # Additive in v1 (issue 16): when it was signed, who entered it and when.
            "decided_at": "2018-06-05T10:00:00+08:00",
            "recorded_by": f"client-{IN_CHARGE}",
            "recorded_at": "2018-06-05T10:00:00+08:00",
            "backfilled": False,
            "after_deadline": False,
        }
        # Exempt: no clock any more, and nothing to publish.
        assert await mark_overdue(app.state.ctx, at("2018-07-01 00:00:00")) == 0
        r = await publish(client, common, doc["id"], 1, "2018-06-05 10:00:00")
        assert r.status_code == 409 and r.json()["type"] == "/problems/version-exempt"
        r = await decide(client, doc, leader(common, IN_CHARGE), granted=False)
        assert r.status_code == 409 and r.json()["type"] == "/problems/exemption-already-decided"


async def test_D2_any_other_signer_is_refused_and_the_clock_keeps_running(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    async with disclosure(postgres, common) as (client, app):
        doc = await withheld(client, common, formed_on="2018-06-01")
        r = await decide(client, doc, leader(common, "vm-industry"), granted=True)
        assert r.status_code == 403
        problem = r.json()
        assert problem["type"] == "/problems/signer-not-in-charge"
        assert problem["rule"] == "D2" and problem["field"] == "signer"
        assert problem["required_signer"] == IN_CHARGE and problem["signer"] == "vm-industry"
        for headers in (leader(common, "mayor"), leader(common, "dsg-economy")):
            r = await decide(client, doc, headers, granted=True)
            assert r.status_code == 403 and r.json()["type"] == "/problems/signer-not-in-charge"
        for headers in (office(common), drafter(common)):
            r = await decide(client, doc, headers, granted=True)
            assert r.status_code == 403, "only a leader signs"
        assert await committed(app, ExemptionDecided) == []

        # Without the signature the document must be published: the deadline passes as usual.
        assert await mark_overdue(app.state.ctx, at("2018-06-12 00:00:00")) == 1
        (passed,) = await committed(app, DeadlinePassed)
        assert passed["subject_id"] == f"{doc['id']}@1"


async def test_D2_a_refused_exemption_leaves_the_original_deadline_in_force(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    async with disclosure(postgres, common) as (client, app):
        doc = await withheld(client, common, formed_on="2018-06-01")
        comment = "不属于个人隐私，应公开。"
        with clock_at(app.state.ctx, "2018-06-05 10:00:00"):
            r = await decide(client, doc, leader(common, IN_CHARGE), granted=False, comment=comment)
        assert r.status_code == 201, r.text
        refused = r.json()
        assert refused["status"] == "open" and refused["deadline"] == doc["deadline"]
        assert refused["versions"][0]["disclosure_mode"] == "proactive"
        assert refused["versions"][0]["exemption"]["decision"] == "refused"
        (decided,) = await committed(app, ExemptionDecided)
        assert decided["granted"] is False and decided["signed_by"] == IN_CHARGE

        assert await mark_overdue(app.state.ctx, at("2018-06-11 23:59:59")) == 0
        assert await mark_overdue(app.state.ctx, at("2018-06-12 00:00:00")) == 1
        r = await publish(client, common, doc["id"], 1, "2018-06-13 09:00:00")
        assert r.status_code == 201 and r.json()["versions"][0]["publication"]["on_time"] is False


async def test_D2_the_leader_is_named_by_the_department_claim_or_else_the_client_id(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    async with disclosure(postgres, common) as (client, _):
        doc = await withheld(client, common)
        headers = bearer(common, "leader", client_id=IN_CHARGE)
        r = await decide(client, doc, headers, granted=True)
        assert r.status_code == 201 and r.json()["versions"][0]["exemption"]["signed_by"] == IN_CHARGE


async def test_D2_withholding_without_a_written_reason_is_refused(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    async with disclosure(postgres, common) as (client, _):
        for mode, exemption in (
            ("withheld", None),
            ("on-request", None),
            ("withheld", {"ground": "state-secret"}),
            ("withheld", {"ground": "state-secret", "reason": "   "}),
        ):
            body = payload(disclosure_mode=mode, exemption=exemption)
            r = await client.post("/v1/documents", json=body, headers=drafter(common))
            assert r.status_code == 422, (mode, exemption)
            problem = r.json()
            assert problem["type"] == "/problems/exemption-reason-required"
            assert problem["rule"] == "D2" and problem["field"] == "exemption.reason"
        r = await client.post("/v1/documents", json=payload(exemption=PRIVACY), headers=drafter(common))
        assert r.status_code == 422 and r.json()["type"] == "/problems/exemption-not-applicable"
        r = await client.post(
            "/v1/documents",
            json=payload(disclosure_mode="withheld", exemption={"ground": "inconvenient", "reason": "x"}),
            headers=drafter(common),
        )
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "exemption.ground"


async def test_D2_every_version_needs_its_own_reason_and_signature(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    async with disclosure(postgres, common) as (client, app):
        doc = await withheld(client, common, formed_on="2018-06-01")
        with clock_at(app.state.ctx, "2018-06-05 10:00:00"):
            r = await decide(client, doc, leader(common, IN_CHARGE), granted=True)
        assert r.status_code == 201
        r = await change(client, common, doc["id"], "2018-06-20")
        assert r.status_code == 422 and r.json()["type"] == "/problems/exemption-reason-required"
        r = await change(client, common, doc["id"], "2018-06-20", exemption=PRIVACY)
        assert r.status_code == 201, r.text
        v1, v2 = r.json()["versions"]
        assert v1["status"] == "exempt" and v2["status"] == "open"
        assert v2["exemption"]["decision"] == "pending"
        r = await decide(client, doc, leader(common, IN_CHARGE), granted=True)
        assert r.status_code == 409, "version 1 is decided"
        with clock_at(app.state.ctx, "2018-06-21 10:00:00"):  # version 2's deadline: 24:00 of 07-02
            r = await decide(client, doc, leader(common, IN_CHARGE), version=2, granted=True)
        assert r.status_code == 201 and r.json()["status"] == "exempt"

        plain = await register(client, common)
        r = await decide(client, plain, leader(common, IN_CHARGE), granted=True)
        assert r.status_code == 404 and r.json()["type"] == "/problems/exemption-not-found"
