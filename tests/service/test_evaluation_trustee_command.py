"""The trustee and verifier commands against a served evaluation service (E3, E5): each trustee's
secret stays in its own 0600 file, the commands run the whole ceremony, the decryption and the
reasons' mix over HTTP, and the verifier recounts from the verification URL."""

from __future__ import annotations

import asyncio
import json
import stat
from pathlib import Path

import httpx
import pytest

from services.evaluation import trustee, verify
from shared.settings import CommonSettings
from tests.support.apps import bearer, service_app
from tests.support.evaluation import ballot, evaluator, office, panel_entries, trustee_headers
from tests.support.gateway import serve
from tests.support.infra import PostgresSource

ROUND = "2018-Q2"


def token(headers: dict[str, str]) -> str:
    return headers["Authorization"].removeprefix("Bearer ")


async def test_E3_E5_trustees_run_the_ceremony_decryption_and_mix_with_the_command_and_anyone_verifies(
    postgres: PostgresSource, common: CommonSettings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("XN_TOKEN", raising=False)
    app = service_app("evaluation", await postgres.new_database(), common)
    async with serve(app) as url, httpx.AsyncClient(base_url=url) as client:
        api = f"{url}/v1"
        assert (
            await client.post("/v1/rounds", json={"quarter": ROUND}, headers=office(common))
        ).status_code == 201
        entries = panel_entries("cli")
        r = await client.post(f"/v1/rounds/{ROUND}/panel", json={"entries": entries}, headers=office(common))
        assert r.status_code == 201
        body = {
            "threshold": 2,
            "trustees": [{"account": f"wg-trustee-{n}", "name": f"受托人{n}"} for n in (1, 2, 3)],
        }
        assert (
            await client.put(f"/v1/rounds/{ROUND}/trustees", json=body, headers=office(common))
        ).status_code == 200

        files = {n: tmp_path / f"trustee-{n}.json" for n in (1, 2, 3)}

        async def step(name: str, n: int) -> str:
            argv = [name, "--api", api, "--round", ROUND, "--secret", str(files[n])]
            return await trustee.run([*argv, "--token", token(trustee_headers(common, n))])

        for n in files:
            assert "已登记" in await step("register", n)
            assert stat.S_IMODE(files[n].stat().st_mode) == 0o600
        with pytest.raises(trustee.TrusteeError, match="不覆盖"):
            await step("register", 1)
        for n in files:
            await step("deal", n)
        for n in files:
            await step("confirm", n)
            kept = json.loads(files[n].read_text())
            assert kept["key_share"] and kept["coefficients"] == []
        for s in ("publish-reference-pack", "open-voting"):
            assert (await client.post(f"/v1/rounds/{ROUND}/{s}", headers=office(common))).status_code == 200

        chosen = [["jxw", "fgw", "jtj"], ["jxw", "czj", "jtj"], ["jxw", "fgw", "sfj"]]
        for entry, names in zip(entries, chosen, strict=False):
            body = ballot(*names, reason=f"{entry['account']} 的理由")
            r = await client.post(
                f"/v1/rounds/{ROUND}/ballots", json=body, headers=evaluator(common, entry["account"])
            )
            assert r.status_code == 201, r.text
        assert (
            await client.post(f"/v1/rounds/{ROUND}/close-voting", headers=office(common))
        ).status_code == 200
        assert "1 名" in await step("decrypt", 3)
        assert "2 名" in await step("decrypt", 1)
        for n in files:
            assert "9 份" in await step("mix", n)
        r = await client.post(f"/v1/rounds/{ROUND}/tally", headers=office(common))
        votes = {s["department"]: s["votes"] for s in r.json()["standings"] if s["votes"]}
        assert votes == {"jxw": 3, "fgw": 2, "jtj": 2, "czj": 1, "sfj": 1}
        reasons = (await client.get(f"/v1/rounds/{ROUND}/reasons", headers=office(common))).json()["reasons"]
        assert len(reasons) == 9 and {r["reason"] for r in reasons} == {
            f"{e['account']} 的理由" for e in entries[:3]
        }

        # The verifier reads the public data by URL; a leader's token (a recount before publication).
        leader = token(bearer(common, "leader", client_id="vm-executive"))
        source = f"{api}/rounds/{ROUND}/verification"
        assert await asyncio.to_thread(verify.main, [source, "--token", leader]) == 0
        assert await asyncio.to_thread(verify.main, [source]) == 1  # no token before publication
        no_token = ["decrypt", "--api", api, "--round", ROUND, "--secret", str(files[2])]
        assert await asyncio.to_thread(trustee.main, no_token) == 1
