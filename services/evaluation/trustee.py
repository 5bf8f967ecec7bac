"""The trustee's command (E5): run on each trustee's own machine, never on the platform.

    python -m services.evaluation.trustee register --api https://gw.example/api/v1/evaluation \\
        --round 2018-Q2 --secret ~/trustee-2018-Q2.json          # step 1 of the key ceremony
    python -m services.evaluation.trustee deal     ...              # step 2, once all registered
    python -m services.evaluation.trustee confirm  ...              # step 3, once all dealt
    python -m services.evaluation.trustee decrypt  ...              # after the close
    python -m services.evaluation.trustee mix      ...              # after the close: the reasons

The access token (the trustee's own, of the office or the supervision office) is read from
``--token`` or the ``XN_TOKEN`` environment variable. The secret file is written with mode 0600
and holds the trustee's X25519 box key, its polynomial until the ceremony is confirmed, and then
its key share: keep it offline between the steps; the platform never sees it.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import secrets
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
import jwt
from nacl.exceptions import CryptoError
from nacl.public import PrivateKey, PublicKey, SealedBox

from shared import ballot_crypto as bc


class TrusteeError(Exception):
    """A step that cannot be done (the message says why, in Chinese for the trustee)."""


@dataclass
class TrusteeSecret:
    round_id: str
    index: int
    threshold: int
    box_secret: str
    coefficients: list[str] = field(default_factory=list)
    key_share: str | None = None

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            json.dump(asdict(self), out)

    @classmethod
    def load(cls, path: Path) -> TrusteeSecret:
        return cls(**json.loads(path.read_text()))

    @property
    def box(self) -> PrivateKey:
        return PrivateKey(bytes.fromhex(self.box_secret))

    @property
    def dealing(self) -> bc.Dealing:
        return bc.Dealing(tuple(bc.scalar_from_hex(c) for c in self.coefficients))


def account_of(headers: dict[str, str]) -> str:
    """The client id the trustee's token names (read, not verified: the platform verifies it)."""
    token = headers["Authorization"].removeprefix("Bearer ").strip()
    claims = jwt.decode(token, options={"verify_signature": False})
    return str(claims.get("client_id", claims["sub"]))


async def _call(client: httpx.AsyncClient, method: str, url: str, **kwargs: Any) -> Any:
    r = await client.request(method, url, **kwargs)
    if r.status_code >= 400:
        try:
            detail = r.json().get("detail", r.text)
        except ValueError:
            detail = r.text
        raise TrusteeError(f"{method} {url}: {r.status_code} {detail}")
    return r.json()


async def register(
    client: httpx.AsyncClient, api: str, round_id: str, headers: dict[str, str]
) -> TrusteeSecret:
    """Step 1: a box key pair and a polynomial, generated here; only public material leaves."""
    view = await _call(client, "GET", f"{api}/rounds/{round_id}/trustees", headers=headers)
    account = account_of(headers)
    mine = [t for t in view["trustees"] if t["account"] == account]
    if not mine:
        raise TrusteeError(f"账号 {account} 不是评定轮次 {round_id} 的受托人")
    threshold, index = int(view["threshold"]), int(mine[0]["index"])
    dealing, box = bc.Dealing.new(threshold), PrivateKey.generate()
    secret = TrusteeSecret(
        round_id=round_id,
        index=index,
        threshold=threshold,
        box_secret=bytes(box).hex(),
        coefficients=[bc.scalar_hex(a) for a in dealing.coefficients],
    )
    body = {
        "box_key": bytes(box.public_key).hex(),
        "commitments": [c.hex for c in dealing.commitments()],
        "constant_proof": bc.prove_constant(round_id, index, dealing).to_json(),
    }
    await _call(client, "PUT", f"{api}/rounds/{round_id}/trustees/me/key", json=body, headers=headers)
    return secret


def _share_plaintext(round_id: str, dealer: int, recipient: int, share: int) -> bytes:
    return json.dumps(
        {"round_id": round_id, "dealer": dealer, "recipient": recipient, "share": bc.scalar_hex(share)}
    ).encode()


async def deal(client: httpx.AsyncClient, api: str, secret: TrusteeSecret, headers: dict[str, str]) -> None:
    """Step 2: the share of every other trustee, sealed to that trustee's box key."""
    view = await _call(client, "GET", f"{api}/rounds/{secret.round_id}/trustees", headers=headers)
    waiting = [t["index"] for t in view["trustees"] if not t["box_key"]]
    if waiting:
        raise TrusteeError(f"受托人 {waiting} 尚未登记公钥，请稍后再分发份额")
    dealing, shares = secret.dealing, []
    for t in view["trustees"]:
        j = int(t["index"])
        if j == secret.index:
            continue
        sealed = SealedBox(PublicKey(bytes.fromhex(t["box_key"]))).encrypt(
            _share_plaintext(secret.round_id, secret.index, j, dealing.share(j))
        )
        shares.append({"recipient": j, "sealed": base64.b64encode(sealed).decode()})
    url = f"{api}/rounds/{secret.round_id}/trustees/me/shares"
    await _call(client, "PUT", url, json={"shares": shares}, headers=headers)


def _commitments(view: dict[str, Any]) -> dict[int, tuple[bc.Point, ...]]:
    return {
        int(t["index"]): tuple(bc.Point.from_hex(c) for c in t["commitments"])
        for t in view["trustees"]
        if t["commitments"]
    }


async def confirm(
    client: httpx.AsyncClient, api: str, secret: TrusteeSecret, headers: dict[str, str]
) -> TrusteeSecret:
    """Step 3: open the shares dealt to this trustee, check each against its dealer's commitments
    (Feldman), add them up into the key share and confirm its public value. The polynomial is
    forgotten once the key share is kept."""
    base = f"{api}/rounds/{secret.round_id}/trustees"
    view = await _call(client, "GET", base, headers=headers)
    received = await _call(client, "GET", f"{base}/me/shares", headers=headers)
    commitments = _commitments(view)
    for dealer, proof_of_constant in ((int(t["index"]), t["constant_proof"]) for t in view["trustees"]):
        bc.verify_constant(
            secret.round_id, dealer, commitments[dealer][0], bc.EqualityProof.from_json(proof_of_constant)
        )
    total = secret.dealing.share(secret.index)
    unseal = SealedBox(secret.box)
    dealers = {secret.index}
    for item in received["shares"]:
        dealer = int(item["dealer"])
        try:
            opened = json.loads(unseal.decrypt(base64.b64decode(item["sealed"])))
        except (CryptoError, ValueError) as exc:
            raise TrusteeError(f"受托人 {dealer} 密封的份额无法打开：{exc}") from exc
        share = bc.scalar_from_hex(opened["share"])
        expected = (secret.round_id, dealer, secret.index)
        if (opened["round_id"], opened["dealer"], opened["recipient"]) != expected:
            raise TrusteeError(f"受托人 {dealer} 的份额不是为本轮本人所发")
        if not bc.verify_share(commitments[dealer], secret.index, share):
            raise TrusteeError(
                f"受托人 {dealer} 的份额与其 Feldman 承诺不符，请向组织者提出异议并重新举行仪式"
            )
        total = (total + share) % bc.ORDER
        dealers.add(dealer)
    if dealers != set(commitments):
        raise TrusteeError(f"缺少受托人 {sorted(set(commitments) - dealers)} 的份额")
    public = bc.base_mul(total)
    if public != bc.public_share(commitments, secret.index):
        raise TrusteeError("密钥份额与承诺不一致")
    await _call(client, "PUT", f"{base}/me/confirmation", json={"public_share": public.hex}, headers=headers)
    secret.key_share, secret.coefficients = bc.scalar_hex(total), []
    return secret


async def decrypt(client: httpx.AsyncClient, api: str, secret: TrusteeSecret, headers: dict[str, str]) -> int:
    """After the close: a partial decryption of every department's aggregate, with its proof.
    Only aggregates are decrypted; returns how many trustees have decrypted so far."""
    if secret.key_share is None:
        raise TrusteeError("密钥仪式尚未确认，没有密钥份额")
    agg = await _call(client, "GET", f"{api}/rounds/{secret.round_id}/aggregate", headers=headers)
    ctx = bc.Context(secret.round_id, bc.Point.from_hex(agg["election_key"]))
    x = bc.scalar_from_hex(secret.key_share)
    shares = {
        d: bc.partially_decrypt(ctx, secret.index, x, d, bc.Ciphertext.from_json(ct)).to_json()
        for d, ct in agg["aggregate"].items()
    }
    url = f"{api}/rounds/{secret.round_id}/trustees/me/partial-decryption"
    answer = await _call(client, "PUT", url, json={"shares": shares}, headers=headers)
    return int(answer["decrypted_by"])


async def mix(client: httpx.AsyncClient, api: str, secret: TrusteeSecret, headers: dict[str, str]) -> int:
    """After the close, in trustee order: remove this trustee's layer from every sealed reason and
    post them shuffled. Returns how many items were posted."""
    url = f"{api}/rounds/{secret.round_id}/reasons/mix"
    stage = await _call(client, "GET", url, headers=headers)
    if int(stage["next_trustee"]) != secret.index:
        raise TrusteeError(f"现在轮到受托人 {stage['next_trustee']} 处理事例与理由")
    unseal = SealedBox(secret.box)
    try:
        items = [unseal.decrypt(base64.b64decode(e)) for e in stage["items"]]
    except (CryptoError, ValueError) as exc:
        raise TrusteeError(f"有密封的事例或理由无法打开：{exc}") from exc
    secrets.SystemRandom().shuffle(items)
    last = secret.index == int(stage["trustees"])
    posted = [i.decode().rstrip(" ") if last else base64.b64encode(i).decode() for i in items]
    await _call(client, "PUT", url, json={"stage": secret.index, "items": posted}, headers=headers)
    return len(posted)


# --- the command -------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m services.evaluation.trustee", description=__doc__.split("\n")[0]
    )
    p.add_argument("step", choices=["register", "deal", "confirm", "decrypt", "mix"])
    p.add_argument("--api", required=True, help="评定服务的地址，如 https://gw.example/api/v1/evaluation")
    p.add_argument("--round", required=True, dest="round_id")
    p.add_argument("--secret", required=True, type=Path, help="受托人秘密文件（只存本机）")
    p.add_argument("--token", default=os.environ.get("XN_TOKEN"), help="受托人的访问令牌（默认读 XN_TOKEN）")
    return p


async def run(argv: list[str]) -> str:
    args = _parser().parse_args(argv)
    if not args.token:
        raise TrusteeError("缺少访问令牌：用 --token 或环境变量 XN_TOKEN")
    headers = {"Authorization": f"Bearer {args.token}"}
    async with httpx.AsyncClient(timeout=60) as client:
        if args.step == "register":
            if args.secret.exists():
                raise TrusteeError(f"{args.secret} 已存在：不覆盖已有的秘密")
            register_secret = await register(client, args.api, args.round_id, headers)
            register_secret.save(args.secret)
            return f"已登记：受托人 {register_secret.index}，秘密保存在 {args.secret}"
        secret = TrusteeSecret.load(args.secret)
        if args.step == "deal":
            await deal(client, args.api, secret, headers)
            return "已分发密封份额"
        if args.step == "confirm":
            (await confirm(client, args.api, secret, headers)).save(args.secret)
            return "份额核验无误，已确认；秘密文件现只保存密钥份额"
        if args.step == "decrypt":
            return f"已提交部分解密（已有 {await decrypt(client, args.api, secret, headers)} 名受托人）"
        return f"已处理 {await mix(client, args.api, secret, headers)} 份事例或理由"


def main(argv: list[str] | None = None) -> int:
    try:
        print(asyncio.run(run(sys.argv[1:] if argv is None else argv)))  # noqa: T201
    except (TrusteeError, bc.InvalidPoint, bc.InvalidProof) as exc:
        print(f"错误：{exc}", file=sys.stderr)  # noqa: T201
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
