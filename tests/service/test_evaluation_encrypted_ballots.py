"""Encrypted ballots through the HTTP API (E5, E3): the trustees' key ceremony, client-encrypted
ballots and the attacks the service must refuse without decrypting anything, one ballot per
evaluator under concurrent attempts, the threshold decryption of the aggregates and the verifier."""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from services.evaluation import trustee, verify
from shared import ballot_crypto as bc
from shared.settings import CommonSettings
from tests.support.apps import running, service_app
from tests.support.evaluation import (
    CANDIDATES,
    TRUSTEE_SECRETS,
    ballot,
    close_and_decrypt,
    create_round,
    evaluation,
    evaluator,
    key_ceremony,
    name_trustees,
    office,
    open_round,
    panel_entries,
    problem,
    trustee_headers,
    vote,
)
from tests.support.infra import PostgresSource


async def election(client: httpx.AsyncClient, quarter: str, headers: dict[str, str]) -> bc.Context:
    r = await client.get(f"/v1/rounds/{quarter}", headers=headers)
    return bc.Context(quarter, bc.Point.from_hex(r.json()["election_key"]))


def encrypted(ctx: bc.Context, chosen: list[str], choices: int = 3) -> dict[str, Any]:
    return {"encrypted": bc.encrypt_ballot(ctx, CANDIDATES, chosen, choices).to_json()}


async def test_E5_key_ceremony_needs_enough_trustees_and_refuses_strangers_and_steps_out_of_order(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    async with evaluation(postgres, common) as (client, _bus, _app):
        await create_round(client, common, "2018-Q2")
        url = "/v1/rounds/2018-Q2/trustees"
        two = {"threshold": 2, "trustees": [{"account": f"wg-{n}", "name": f"受托人{n}"} for n in (1, 2)]}
        body = problem(await client.put(url, json=two, headers=office(common)), 422, "too-few-trustees")
        assert body["rule"] == "E5" and body["field"] == "trustees"
        lone = {**two, "threshold": 1, "trustees": [*two["trustees"], {"account": "wg-3", "name": "受托人3"}]}
        assert problem(await client.put(url, json=lone, headers=office(common)), 422, "invalid-threshold")
        same = {"threshold": 2, "trustees": [{"account": "wg-1", "name": "甲"}] * 3}
        problem(await client.put(url, json=same, headers=office(common)), 422, "repeated-trustee")
        problem(await client.put(url, json=lone, headers=evaluator(common, "ev")), 403, "forbidden")

        trustees = await name_trustees(client, common, "2018-Q2")
        first = await trustee.register(client, "/v1", "2018-Q2", trustees[0])
        # Dealing before every key is in, and a stranger's key, are refused.
        with pytest.raises(trustee.TrusteeError, match="尚未登记公钥"):
            await trustee.deal(client, "/v1", first, trustees[0])
        early = {"shares": [{"recipient": 2, "sealed": "AAAA"}, {"recipient": 3, "sealed": "AAAA"}]}
        r = await client.put(f"{url}/me/shares", json=early, headers=trustees[0])
        assert problem(r, 409, "key-ceremony-out-of-order")["rule"] == "E5"
        with pytest.raises(trustee.TrusteeError, match="不是评定轮次 2018-Q2 的受托人"):
            await trustee.register(client, "/v1", "2018-Q2", trustee_headers(common, 9))
        key = {"box_key": "11" * 32, "commitments": ["22" * 32] * 2, "constant_proof": ["33" * 32] * 2}
        r = await client.put(f"{url}/me/key", json=key, headers=trustee_headers(common, 9))
        assert problem(r, 403, "not-a-trustee")["rule"] == "E5"
        with pytest.raises(trustee.TrusteeError, match="409"):
            await trustee.register(client, "/v1", "2018-Q2", trustees[0])
        # A forged proof of the constant term is refused.
        forged = {
            "box_key": "11" * 32,
            "commitments": [bc.base_mul(5).hex, bc.base_mul(6).hex],
            "constant_proof": [bc.scalar_hex(1), bc.scalar_hex(2)],
        }
        r = await client.put(f"{url}/me/key", json=forged, headers=trustees[1])
        assert problem(r, 422, "invalid-proof")["rule"] == "E5"
        view = (await client.get(url, headers=office(common))).json()
        assert view["stage"] == "awaiting-keys" and view["election_key"] is None
        # The vote cannot open without the election key.
        await client.post(
            "/v1/rounds/2018-Q2/panel", json={"entries": panel_entries("kc")}, headers=office(common)
        )
        await client.post("/v1/rounds/2018-Q2/publish-reference-pack", headers=office(common))
        problem(
            await client.post("/v1/rounds/2018-Q2/open-voting", headers=office(common)),
            409,
            "key-ceremony-incomplete",
        )
        # Renaming the trustees restarts the ceremony; then it completes.
        trustees = await name_trustees(client, common, "2018-Q2")
        await key_ceremony(client, "2018-Q2", trustees)
        view = (await client.get(url, headers=office(common))).json()
        assert view["stage"] == "complete" and view["election_key"]
        keys = [bc.Point.from_hex(t["commitments"][0]) for t in view["trustees"]]
        assert view["election_key"] == (keys[0] + keys[1] + keys[2]).hex
        assert "sealed" not in str(view) and all(t["confirmed"] for t in view["trustees"])


async def test_E5_the_service_refuses_forged_ballots_without_decrypting_them(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    async with evaluation(postgres, common) as (client, _bus, _app):
        accounts = await open_round(client, common, "2018-Q2")
        url = "/v1/rounds/2018-Q2/ballots"
        me = evaluator(common, accounts[0])
        ctx = await election(client, "2018-Q2", me)

        # A ballot naming four departments, its sum proof made for 3: refused.
        four: dict[str, Any] = {"encrypted": _ballot_with(ctx, {"fgw", "jxw", "jtj", "czj"})}
        assert problem(await client.post(url, json=four, headers=me), 422, "invalid-proof")["rule"] == "E5"
        # A forged 0/1 proof.
        forged = encrypted(ctx, ["fgw", "jxw", "jtj"])
        forged["encrypted"]["choices"][0]["proof"][2] = bc.scalar_hex(12345)
        problem(await client.post(url, json=forged, headers=me), 422, "invalid-proof")
        # A ballot made for another round (same key even) is a replay: refused.
        other = encrypted(bc.Context("2018-Q3", ctx.key), ["fgw", "jxw", "jtj"])
        problem(await client.post(url, json=other, headers=me), 422, "invalid-proof")
        other["encrypted"]["round_id"] = "2018-Q2"
        problem(await client.post(url, json=other, headers=me), 422, "invalid-proof")
        # A point outside the prime-order subgroup.
        bad = encrypted(ctx, ["fgw", "jxw", "jtj"])
        bad["encrypted"]["choices"][1]["alpha"] = (
            "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a"
        )
        problem(await client.post(url, json=bad, headers=me), 422, "invalid-point")
        problem(await client.post(url, json={**bad, "choices": []}, headers=me), 422, "validation-error")

        # A valid client-encrypted ballot is stored as sent, under its tracker.
        good = encrypted(ctx, ["fgw", "jxw", "jtj"])
        r = await client.post(url, json=good, headers=me)
        assert r.status_code == 201, r.text
        assert r.json() == {"round_id": "2018-Q2", "tracker": bc.tracker_of(good["encrypted"])}
        # The same ciphertexts cast again by another evaluator: a replay.
        copied = copy.deepcopy(good)
        problem(
            await client.post(url, json=copied, headers=evaluator(common, accounts[1])),
            409,
            "ballot-replayed",
        )
        problem(
            await client.post(url, json=encrypted(ctx, ["czj", "jxw", "jtj"]), headers=me),
            409,
            "already-voted",
        )


def _ballot_with(ctx: bc.Context, chosen: set[str]) -> dict[str, Any]:
    items, total = [], 0
    for d in CANDIDATES:
        r = bc.random_scalar()
        ct = bc.encrypt(ctx.key, int(d in chosen), r)
        items.append((d, ct, bc.prove_zero_or_one(ctx, d, ct, int(d in chosen), r)))
        total += r
    proof = bc.prove_sum(ctx, bc.add_all(c for _, c, _ in items), 3, total)
    return bc.Ballot(ctx.round_id, tuple(items), proof).to_json()


async def test_E5_one_ballot_per_evaluator_under_10_concurrent_attempts_and_403_off_the_panel(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    async with evaluation(postgres, common) as (client, _bus, _app):
        accounts = await open_round(client, common, "2018-Q2")
        ctx = await election(client, "2018-Q2", office(common))
        attempts = [
            client.post(
                "/v1/rounds/2018-Q2/ballots",
                json=encrypted(ctx, CANDIDATES[n : n + 3]) if n % 2 else ballot(*CANDIDATES[n : n + 3]),
                headers=evaluator(common, accounts[0]),
            )
            for n in range(10)
        ]
        answers = await asyncio.gather(*attempts)
        assert sorted(r.status_code for r in answers) == [201] + [409] * 9, [r.text for r in answers]
        assert all(r.json()["type"] == "/problems/already-voted" for r in answers if r.status_code == 409)
        problem(
            await vote(client, common, "2018-Q2", "not-on-the-panel", CANDIDATES[:3]), 403, "not-on-panel"
        )
        problem(
            await client.post(
                "/v1/rounds/2018-Q2/ballots",
                json=encrypted(ctx, CANDIDATES[:3]),
                headers=evaluator(common, "x"),
            ),
            403,
            "not-on-panel",
        )
        await client.post("/v1/rounds/2018-Q2/close-voting", headers=office(common))
        r = await client.get("/v1/rounds/2018-Q2/aggregate", headers=office(common))
        assert r.status_code == 200 and r.json()["ballots"] == 1


async def test_E3_E5_a_threshold_of_trustees_decrypts_the_aggregates_and_the_verifier_recounts(
    postgres: PostgresSource, common: CommonSettings, tmp_path: Path
) -> None:
    async with evaluation(postgres, common) as (client, _bus, _app):
        accounts = await open_round(client, common, "2018-Q2")
        ctx = await election(client, "2018-Q2", office(common))
        chosen = [["jxw", "fgw", "jtj"], ["jxw", "fgw", "czj"], ["jxw", "sfj", "czj"], ["jxw", "fgw", "jtj"]]
        for n, (account, names) in enumerate(zip(accounts, chosen, strict=False)):
            body = encrypted(ctx, names) if n % 2 else ballot(*names, reason=f"理由{n}")
            assert (
                await client.post("/v1/rounds/2018-Q2/ballots", json=body, headers=evaluator(common, account))
            ).status_code == 201
        r = await client.put(
            "/v1/rounds/2018-Q2/trustees/me/partial-decryption",
            json={"shares": {}},
            headers=trustee_headers(common, 1),
        )
        problem(r, 409, "invalid-round-state")
        await client.post("/v1/rounds/2018-Q2/close-voting", headers=office(common))
        # A partial decryption with a wrong share is refused; an honest one is kept once.
        agg = (await client.get("/v1/rounds/2018-Q2/aggregate", headers=office(common))).json()
        wrong = {
            d: {"share": bc.base_mul(7).hex, "proof": [bc.scalar_hex(1), bc.scalar_hex(1)]}
            for d in agg["aggregate"]
        }
        r = await client.put(
            "/v1/rounds/2018-Q2/trustees/me/partial-decryption",
            json={"shares": wrong},
            headers=trustee_headers(common, 1),
        )
        assert problem(r, 422, "invalid-proof")["rule"] == "E5"
        secrets_ = TRUSTEE_SECRETS[(id(client), "2018-Q2")]
        assert await trustee.decrypt(client, "/v1", secrets_[2], trustee_headers(common, 3)) == 1
        with pytest.raises(trustee.TrusteeError, match="409"):
            await trustee.decrypt(client, "/v1", secrets_[2], trustee_headers(common, 3))
        problem(
            await client.post("/v1/rounds/2018-Q2/tally", headers=office(common)), 409, "awaiting-trustees"
        )
        assert await trustee.decrypt(client, "/v1", secrets_[0], trustee_headers(common, 1)) == 2
        results = (await client.post("/v1/rounds/2018-Q2/tally", headers=office(common))).json()
        votes = {s["department"]: s["votes"] for s in results["standings"] if s["votes"]}
        assert votes == {"jxw": 4, "fgw": 3, "jtj": 2, "czj": 2, "sfj": 1}
        assert sorted(results["selected"]) == ["czj", "fgw", "jtj", "jxw"] and results["ballots"] == 4

        data = (await client.get("/v1/rounds/2018-Q2/verification", headers=office(common))).json()
        assert verify.recount(data) == {d: votes.get(d, 0) for d in CANDIDATES}
        # Altered published counts, an altered partial decryption, an altered ballot: each fails,
        # and the command says so by its exit status.
        good = tmp_path / "round.json"
        good.write_text(json.dumps(data))
        assert verify.main([str(good)]) == 0
        for alter in (_alter_count, _alter_partial, _alter_ballot, _drop_ballot):
            broken = copy.deepcopy(data)
            alter(broken)
            with pytest.raises(verify.VerificationFailed):
                verify.recount(broken)
            bad = tmp_path / f"{alter.__name__}.json"
            bad.write_text(json.dumps(broken))
            assert verify.main([str(bad)]) == 1


def _alter_count(data: dict[str, Any]) -> None:
    data["counts"]["fgw"] += 1
    data["counts"]["sfj"] -= 1


def _alter_partial(data: dict[str, Any]) -> None:
    share = data["partial_decryptions"][0]["shares"]["jxw"]
    share["share"] = (bc.Point.from_hex(share["share"]) + bc.GENERATOR).hex


def _alter_ballot(data: dict[str, Any]) -> None:
    data["ballots"][0]["ballot"]["choices"][0]["beta"] = (
        bc.Point.from_hex(data["ballots"][0]["ballot"]["choices"][0]["beta"]) + bc.GENERATOR
    ).hex


def _drop_ballot(data: dict[str, Any]) -> None:
    data["ballots"].pop()


async def test_E1_E5_reasons_are_released_only_as_an_unordered_set_after_every_trustee_mixed(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    async with evaluation(postgres, common) as (client, _bus, _app):
        accounts = await open_round(client, common, "2018-Q2")
        written = {f"理由{n}" for n in range(4)}
        for n, account in enumerate(accounts[:4]):
            body = ballot("fgw", "jxw", "jtj")
            body["choices"][0]["reason"] = f"理由{n}"
            body["choices"][0]["factors"] = ["buck-passing-and-delay"]
            r = await client.post("/v1/rounds/2018-Q2/ballots", json=body, headers=evaluator(common, account))
            assert r.status_code == 201, r.text
        mix = "/v1/rounds/2018-Q2/reasons/mix"
        problem(await client.get(mix, headers=trustee_headers(common, 1)), 409, "ballots-not-published")
        await close_and_decrypt(client, common, "2018-Q2")
        secrets_ = TRUSTEE_SECRETS[(id(client), "2018-Q2")]
        problem(
            await client.get("/v1/rounds/2018-Q2/reasons", headers=office(common)),
            409,
            "reasons-not-released",
        )
        problem(await client.get(mix, headers=trustee_headers(common, 2)), 409, "not-your-mix-turn")
        stage = (await client.get(mix, headers=trustee_headers(common, 1))).json()
        assert stage["next_trustee"] == 1 and len(stage["items"]) == 4
        assert not any("理由" in i for i in stage["items"])
        short = {"stage": 1, "items": stage["items"][:3]}
        problem(
            await client.put(mix, json=short, headers=trustee_headers(common, 1)), 422, "invalid-mix-stage"
        )
        for s in secrets_:
            assert await trustee.mix(client, "/v1", s, trustee_headers(common, s.index)) == 4
        released = (await client.get("/v1/rounds/2018-Q2/reasons", headers=office(common))).json()["reasons"]
        assert {r["reason"] for r in released} == written
        assert all(
            r == {"department": "fgw", "factors": ["buck-passing-and-delay"], "reason": r["reason"]}
            for r in released
        )
        assert [r["reason"] for r in released] == sorted(r["reason"] for r in released)
        problem(await client.get(mix, headers=trustee_headers(common, 1)), 409, "reasons-released")


async def test_E3_E5_a_round_cast_under_the_old_scheme_stays_readable_tallied_and_marked(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    """A round of before migration 0005 (scheme 'plain', ballots in clear) keeps working as it was
    read and tallied, is marked as such, and takes no new ballot."""
    url = await postgres.new_database()
    async with evaluation_at(url, common) as client:
        accounts = await open_round(client, common, "2018-Q2")
        engine = create_async_engine(url)
        try:
            async with engine.begin() as conn:
                await conn.execute(sa.text("UPDATE rounds SET scheme = 'plain' WHERE id = '2018-Q2'"))
                for n, names in enumerate([["fgw", "jxw", "jtj"], ["fgw", "jxw", "czj"]]):
                    await conn.execute(
                        sa.text("INSERT INTO ballots VALUES (:i, '2018-Q2', :r, CAST(:c AS jsonb))"),
                        {
                            "i": f"b{n}",
                            "r": f"r-{n:016x}",
                            "c": json.dumps([{"department": d} for d in names]),
                        },
                    )
        finally:
            await engine.dispose()
        view = (await client.get("/v1/rounds/2018-Q2", headers=office(common))).json()
        assert view["scheme"] == "plain"
        problem(
            await vote(client, common, "2018-Q2", accounts[0], CANDIDATES[:3]),
            409,
            "round-cast-under-old-scheme",
        )
        assert (
            await client.post("/v1/rounds/2018-Q2/close-voting", headers=office(common))
        ).status_code == 200
        results = (await client.post("/v1/rounds/2018-Q2/tally", headers=office(common))).json()
        assert {s["department"]: s["votes"] for s in results["standings"] if s["votes"]} == {
            "fgw": 2,
            "jxw": 2,
            "jtj": 1,
            "czj": 1,
        }
        published = (await client.get("/v1/rounds/2018-Q2/ballots", headers=office(common))).json()["items"]
        assert sorted(b["receipt"] for b in published) == [f"r-{n:016x}" for n in range(2)]
        assert all(b["tracker"] is None and len(b["choices"]) == 3 for b in published)
        problem(
            await client.get("/v1/rounds/2018-Q2/verification", headers=office(common)),
            409,
            "round-cast-under-old-scheme",
        )


@asynccontextmanager
async def evaluation_at(url: str, common: CommonSettings) -> AsyncIterator[httpx.AsyncClient]:
    async with running(service_app("evaluation", url, common)) as client:
        yield client
