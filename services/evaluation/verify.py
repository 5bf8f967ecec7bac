"""The verifier (E3, E5): recount an encrypted round from its public data alone.

    python -m services.evaluation.verify https://gw.example/api/v1/evaluation/rounds/2018-Q2/verification
    python -m services.evaluation.verify round-2018-Q2.json

It trusts nothing the service computed: it checks each trustee's proof of its constant term and
recomputes the election key from the commitments, checks every ballot's tracker and proofs (each
ciphertext 0 or 1, the sum equal to the number of choices, all bound to the round and key),
adds the ballots up per department and compares with the published aggregates, checks each
partial decryption's proof against the trustee's public key share recomputed from the
commitments, combines a threshold of them into the counts and compares those with the
published counts. Any difference is a failure (exit status 1) naming what differs.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx

from shared import ballot_crypto as bc


class VerificationFailed(Exception):
    """The public data do not support the published counts."""


def recount(data: Mapping[str, Any]) -> dict[str, int]:
    """The counts the public data prove; raises ``VerificationFailed`` on the first inconsistency."""
    try:
        return _recount(data)
    except (bc.InvalidProof, bc.InvalidPoint, KeyError, TypeError, ValueError) as exc:
        raise VerificationFailed(str(exc)) from exc


def _recount(data: Mapping[str, Any]) -> dict[str, int]:
    round_id, candidates = str(data["round_id"]), [str(c) for c in data["candidates"]]
    choices, threshold = int(data["choices_per_ballot"]), int(data["threshold"])
    commitments: dict[int, tuple[bc.Point, ...]] = {}
    for t in data["trustees"]:
        index = int(t["index"])
        commitments[index] = tuple(bc.Point.from_hex(c) for c in t["commitments"])
        bc.verify_constant(
            round_id, index, commitments[index][0], bc.EqualityProof.from_json(t["constant_proof"])
        )
        if len(commitments[index]) != threshold:
            raise VerificationFailed(f"受托人 {index} 的承诺个数不等于门限 {threshold}")
    key = bc.election_key(commitments)
    if key.hex != data["election_key"]:
        raise VerificationFailed("选举公钥与受托人承诺之和不符")
    ctx = bc.Context(round_id, key)

    totals = {d: bc.ZERO_CIPHERTEXT for d in candidates}
    trackers: set[str] = set()
    for item in data["ballots"]:
        ballot = bc.Ballot.from_json(item["ballot"])
        if bc.tracker_of(item["ballot"]) != item["tracker"] or item["tracker"] in trackers:
            raise VerificationFailed(f"追踪码 {item['tracker']} 与选票不符或重复")
        trackers.add(item["tracker"])
        bc.verify_ballot(ctx, candidates, choices, ballot)
        for department, ct in ballot.by_department().items():
            totals[department] = totals[department] + ct
    published = {d: bc.Ciphertext.from_json(c) for d, c in data["aggregate"].items()}
    if published != totals:
        raise VerificationFailed("公布的汇总密文与各加密选票之积不符")

    partials: dict[int, dict[str, bc.PartialDecryption]] = {}
    for p in data["partial_decryptions"]:
        j = int(p["trustee_index"])
        public = bc.public_share(commitments, j)
        partials[j] = {}
        for department, ct in totals.items():
            partial = bc.PartialDecryption.from_json(p["shares"][department])
            bc.verify_partial(ctx, j, public, department, ct, partial)
            partials[j][department] = partial
    if len(partials) < threshold:
        raise VerificationFailed(f"部分解密只有 {len(partials)} 份，少于门限 {threshold}")
    chosen = sorted(partials)[:threshold]
    counts = {
        d: bc.small_log(bc.combine(ct, {j: partials[j][d].share for j in chosen}), len(trackers))
        for d, ct in totals.items()
    }
    if sum(counts.values()) != choices * len(trackers):
        raise VerificationFailed("得票总数不等于选票张数乘以每票所选部门数")
    claimed = data.get("counts")
    if claimed is not None:
        differ = {d: (claimed.get(d), n) for d, n in counts.items() if claimed.get(d) != n}
        if differ:
            raise VerificationFailed(f"公布的得票与重新计票不符（公布, 核验）：{differ}")
    return counts


def load(source: str, token: str | None = None) -> dict[str, Any]:
    """The verification data from the endpoint's address or a file."""
    if source.startswith(("http://", "https://")):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        r = httpx.get(source, headers=headers, timeout=120)
        r.raise_for_status()
        data: dict[str, Any] = r.json()
        return data
    loaded: dict[str, Any] = json.loads(Path(source).read_text())
    return loaded


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m services.evaluation.verify", description=__doc__.split("\n")[0]
    )
    parser.add_argument("source", help="核验数据的地址（…/rounds/<id>/verification）或文件")
    parser.add_argument("--token", default=os.environ.get("XN_TOKEN"), help="结果公布前查阅所需的访问令牌")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    try:
        counts = recount(load(args.source, args.token))
    except (VerificationFailed, httpx.HTTPError, OSError) as exc:
        print(f"核验失败：{exc}", file=sys.stderr)  # noqa: T201
        return 1
    for department, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        print(f"{department}\t{n}")  # noqa: T201
    print("核验通过：每张选票的证明、汇总密文、部分解密证明与公布的得票一致")  # noqa: T201
    return 0


if __name__ == "__main__":
    sys.exit(main())
