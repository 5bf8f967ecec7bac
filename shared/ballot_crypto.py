"""The ballot cryptography of the secret vote (E3, E5): the protocol layer only.

The group is the prime-order subgroup of edwards25519 (order ``ORDER`` = 2^252 + 2774…493),
through libsodium (PyNaCl): point validation, addition and scalar multiplication are libsodium's;
this module writes only the protocol on top of them, after Helios, Belenios and the
ElectionGuard specification (read, not copied):

- **Exponential ElGamal** under the round's election key ``Y``: ``Enc(m; r) = (rG, mG + rY)``;
  ciphertexts multiply (here: points add) into an encryption of the sum of the plaintexts.
- **Disjunctive Chaum–Pedersen proof** (Cramer–Damgård–Schoenmakers) that a ciphertext encrypts
  0 or 1, one per candidate department, in the compact form (challenges and responses only).
- **Chaum–Pedersen proof** that the sum of a ballot's ciphertexts encrypts exactly the profile's
  number of choices.
- **Threshold key without a dealer**: each trustee deals a Shamir polynomial with Feldman
  commitments (and a Schnorr proof of knowing its constant term); a recipient checks each share
  against the commitments; the election key is the sum of the constant commitments; a trustee's
  key share is the sum of the shares it received, its public counterpart computable by anyone.
- **Partial decryptions** ``D = x_j·A`` of an aggregate ciphertext ``(A, B)`` with a Chaum–Pedersen
  proof that ``log_G(Y_j) = log_A(D)``; **Lagrange combination** of any threshold of them gives
  ``count·G``, and the count (at most the number of ballots) is found in a table.

Fiat–Shamir challenges are SHA-512 reduced modulo the order, over a domain-separation tag, the
round id and the election key (so no ciphertext or proof of one round verifies in another), the
statement and every commitment. Every point received is validated: canonical, on the curve, in
the prime-order subgroup; the identity (``01 00…00``) is allowed only where the protocol allows
it and is handled here because libsodium's multiplication refuses it.

Nothing here touches the web, the database or the clock: the service, the trustee command and
the verifier share it.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import nacl.bindings as sodium

ORDER = 2**252 + 27742317777372353535851937790883648493
"""The order ``L`` of the prime-order subgroup of edwards25519."""

_IDENTITY_BYTES = b"\x01" + bytes(31)
PROTOCOL = "xiaoneng-ballot-v1"


class InvalidPoint(ValueError):
    """A group element that is not canonical, not on the curve or not in the prime-order subgroup."""


class InvalidProof(ValueError):
    """A proof that does not verify, or a ballot that breaks the protocol."""


def _scalar_bytes(n: int) -> bytes:
    return (n % ORDER).to_bytes(32, "little")


@dataclass(frozen=True)
class Point:
    """An element of the prime-order subgroup, by its 32-byte encoding."""

    data: bytes

    @classmethod
    def decode(cls, encoded: bytes) -> Point:
        """A received encoding, validated (the identity included, which libsodium calls invalid)."""
        if len(encoded) != 32:
            raise InvalidPoint("群元素须为 32 字节")
        if encoded != _IDENTITY_BYTES and not sodium.crypto_core_ed25519_is_valid_point(encoded):
            raise InvalidPoint("群元素无效（不在素数阶子群中或为小阶点）")
        return cls(encoded)

    @classmethod
    def from_hex(cls, text: str) -> Point:
        try:
            raw = bytes.fromhex(text)
        except (ValueError, TypeError) as exc:
            raise InvalidPoint("群元素须为十六进制编码") from exc
        return cls.decode(raw)

    @property
    def hex(self) -> str:
        return self.data.hex()

    @property
    def is_identity(self) -> bool:
        return self.data == _IDENTITY_BYTES

    def __add__(self, other: Point) -> Point:
        if self.is_identity:
            return other
        if other.is_identity:
            return self
        return Point(sodium.crypto_core_ed25519_add(self.data, other.data))

    def __neg__(self) -> Point:
        return self * (ORDER - 1)

    def __sub__(self, other: Point) -> Point:
        if other.is_identity:
            return self
        if self.is_identity:
            return -other
        return Point(sodium.crypto_core_ed25519_sub(self.data, other.data))

    def __mul__(self, n: int) -> Point:
        n %= ORDER
        if n == 0 or self.is_identity:
            return IDENTITY
        return Point(sodium.crypto_scalarmult_ed25519_noclamp(_scalar_bytes(n), self.data))

    __rmul__ = __mul__


IDENTITY = Point(_IDENTITY_BYTES)


def base_mul(n: int) -> Point:
    """``n·G``."""
    n %= ORDER
    if n == 0:
        return IDENTITY
    return Point(sodium.crypto_scalarmult_ed25519_base_noclamp(_scalar_bytes(n)))


GENERATOR = base_mul(1)


def random_scalar() -> int:
    """A uniformly random non-zero scalar."""
    return 1 + secrets.randbelow(ORDER - 1)


def scalar_hex(n: int) -> str:
    return _scalar_bytes(n).hex()


def scalar_from_hex(text: str) -> int:
    try:
        raw = bytes.fromhex(text)
    except (ValueError, TypeError) as exc:
        raise InvalidProof("标量须为十六进制编码") from exc
    n = int.from_bytes(raw, "little")
    if len(raw) != 32 or n >= ORDER:
        raise InvalidProof("标量须为 32 字节且小于群的阶")
    return n


def _part(value: str | bytes | int | Point) -> bytes:
    if isinstance(value, Point):
        raw = value.data
    elif isinstance(value, int):
        raw = _scalar_bytes(value)
    elif isinstance(value, str):
        raw = value.encode()
    else:
        raw = value
    return len(raw).to_bytes(4, "big") + raw


def hash_to_scalar(*parts: str | bytes | int | Point) -> int:
    """SHA-512 over length-prefixed parts, reduced modulo the group order."""
    digest = hashlib.sha512(b"".join(_part(p) for p in parts)).digest()
    return int.from_bytes(sodium.crypto_core_ed25519_scalar_reduce(digest), "little")


@dataclass(frozen=True)
class Context:
    """What every challenge of a round is bound to: the round and its election key."""

    round_id: str
    key: Point

    def challenge(self, kind: str, *parts: str | bytes | int | Point) -> int:
        return hash_to_scalar(PROTOCOL, kind, self.round_id, self.key, *parts)


# --- exponential ElGamal -------------------------------------------------------------------------


@dataclass(frozen=True)
class Ciphertext:
    alpha: Point
    beta: Point

    def __add__(self, other: Ciphertext) -> Ciphertext:
        return Ciphertext(self.alpha + other.alpha, self.beta + other.beta)

    def to_json(self) -> dict[str, str]:
        return {"alpha": self.alpha.hex, "beta": self.beta.hex}

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> Ciphertext:
        return cls(Point.from_hex(str(value["alpha"])), Point.from_hex(str(value["beta"])))


ZERO_CIPHERTEXT = Ciphertext(IDENTITY, IDENTITY)


def encrypt(key: Point, message: int, nonce: int) -> Ciphertext:
    """``(rG, mG + rY)``."""
    return Ciphertext(base_mul(nonce), base_mul(message) + key * nonce)


def add_all(ciphertexts: Iterable[Ciphertext]) -> Ciphertext:
    total = ZERO_CIPHERTEXT
    for c in ciphertexts:
        total = total + c
    return total


# --- proofs on ciphertexts ---------------------------------------------------------------------


@dataclass(frozen=True)
class ZeroOneProof:
    """CDS proof that a ciphertext encrypts 0 or 1: per branch a challenge and a response."""

    c0: int
    c1: int
    s0: int
    s1: int

    def to_json(self) -> list[str]:
        return [scalar_hex(v) for v in (self.c0, self.c1, self.s0, self.s1)]

    @classmethod
    def from_json(cls, value: Sequence[Any]) -> ZeroOneProof:
        if len(value) != 4:
            raise InvalidProof("0/1 证明须含 4 个标量")
        c0, c1, s0, s1 = (scalar_from_hex(str(v)) for v in value)
        return cls(c0, c1, s0, s1)


def _branch_commitments(ctx: Context, ct: Ciphertext, value: int, c: int, s: int) -> tuple[Point, Point]:
    """The commitments a branch's challenge and response imply: ``sG − cα`` and ``sY − c(β − vG)``."""
    return base_mul(s) - ct.alpha * c, ctx.key * s - (ct.beta - base_mul(value)) * c


def prove_zero_or_one(ctx: Context, label: str, ct: Ciphertext, message: int, nonce: int) -> ZeroOneProof:
    if message not in (0, 1):
        raise ValueError("只能证明 0 或 1")
    other = 1 - message
    c_sim, s_sim = random_scalar(), random_scalar()
    sim = _branch_commitments(ctx, ct, other, c_sim, s_sim)
    w = random_scalar()
    real = (base_mul(w), ctx.key * w)
    a0, b0 = real if message == 0 else sim
    a1, b1 = sim if message == 0 else real
    c = ctx.challenge("zero-or-one", label, ct.alpha, ct.beta, a0, b0, a1, b1)
    c_real = (c - c_sim) % ORDER
    s_real = (w + c_real * nonce) % ORDER
    if message == 0:
        return ZeroOneProof(c_real, c_sim, s_real, s_sim)
    return ZeroOneProof(c_sim, c_real, s_sim, s_real)


def verify_zero_or_one(ctx: Context, label: str, ct: Ciphertext, proof: ZeroOneProof) -> None:
    a0, b0 = _branch_commitments(ctx, ct, 0, proof.c0, proof.s0)
    a1, b1 = _branch_commitments(ctx, ct, 1, proof.c1, proof.s1)
    c = ctx.challenge("zero-or-one", label, ct.alpha, ct.beta, a0, b0, a1, b1)
    if (proof.c0 + proof.c1) % ORDER != c:
        raise InvalidProof(f"{label} 的 0/1 证明不成立")


@dataclass(frozen=True)
class EqualityProof:
    """Chaum–Pedersen proof that ``log_g(h) = log_u(v)`` (challenge and response)."""

    c: int
    s: int

    def to_json(self) -> list[str]:
        return [scalar_hex(self.c), scalar_hex(self.s)]

    @classmethod
    def from_json(cls, value: Sequence[Any]) -> EqualityProof:
        if len(value) != 2:
            raise InvalidProof("等式证明须含 2 个标量")
        return cls(scalar_from_hex(str(value[0])), scalar_from_hex(str(value[1])))


def _prove_equality(
    ctx: Context, kind: str, g: Point, h: Point, u: Point, v: Point, secret: int, *bound: str
) -> EqualityProof:
    w = random_scalar()
    c = ctx.challenge(kind, *bound, g, h, u, v, g * w, u * w)
    return EqualityProof(c, (w + c * secret) % ORDER)


def _verify_equality(
    ctx: Context, kind: str, g: Point, h: Point, u: Point, v: Point, proof: EqualityProof, *bound: str
) -> bool:
    a = g * proof.s - h * proof.c
    b = u * proof.s - v * proof.c
    return ctx.challenge(kind, *bound, g, h, u, v, a, b) == proof.c


def prove_sum(ctx: Context, total: Ciphertext, count: int, nonce: int) -> EqualityProof:
    """``total`` encrypts ``count``: ``(A, B − count·G)`` is ``(R·G, R·Y)`` for the summed nonce R."""
    return _prove_equality(
        ctx, "sum", GENERATOR, total.alpha, ctx.key, total.beta - base_mul(count), nonce, str(count)
    )


def verify_sum(ctx: Context, total: Ciphertext, count: int, proof: EqualityProof) -> None:
    beta = total.beta - base_mul(count)
    if not _verify_equality(ctx, "sum", GENERATOR, total.alpha, ctx.key, beta, proof, str(count)):
        raise InvalidProof(f"选票各项之和不等于 {count} 的证明不成立")


# --- ballots -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ballot:
    """One encrypted ballot: a 0/1 ciphertext per candidate department, each with its proof, and
    the proof that they sum to the number of choices."""

    round_id: str
    ciphertexts: tuple[tuple[str, Ciphertext, ZeroOneProof], ...]
    sum_proof: EqualityProof

    def to_json(self) -> dict[str, Any]:
        return {
            "round_id": self.round_id,
            "choices": [
                {"department": d, **ct.to_json(), "proof": p.to_json()} for d, ct, p in self.ciphertexts
            ],
            "sum_proof": self.sum_proof.to_json(),
        }

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> Ballot:
        try:
            items = tuple(
                (str(c["department"]), Ciphertext.from_json(c), ZeroOneProof.from_json(c["proof"]))
                for c in value["choices"]
            )
            return cls(str(value["round_id"]), items, EqualityProof.from_json(value["sum_proof"]))
        except (KeyError, TypeError) as exc:
            raise InvalidProof(f"加密选票的结构不完整：{exc}") from exc

    @property
    def tracker(self) -> str:
        """The ballot's tracker: SHA-256 of its canonical encoding (what the voter looks up)."""
        return tracker_of(self.to_json())

    def by_department(self) -> dict[str, Ciphertext]:
        return {d: ct for d, ct, _ in self.ciphertexts}


def tracker_of(ballot: Mapping[str, Any]) -> str:
    canonical = json.dumps(ballot, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def encrypt_ballot(ctx: Context, candidates: Sequence[str], chosen: Iterable[str], choices: int) -> Ballot:
    """Encrypt a choice of ``choices`` departments among ``candidates``, with every proof."""
    picked = set(chosen)
    if not picked <= set(candidates) or len(picked) != choices:
        raise ValueError("所选部门须为本轮备评部门，且个数等于规定个数")
    items: list[tuple[str, Ciphertext, ZeroOneProof]] = []
    total_nonce = 0
    for department in candidates:
        m, r = int(department in picked), random_scalar()
        ct = encrypt(ctx.key, m, r)
        items.append((department, ct, prove_zero_or_one(ctx, department, ct, m, r)))
        total_nonce = (total_nonce + r) % ORDER
    total = add_all(ct for _, ct, _ in items)
    return Ballot(ctx.round_id, tuple(items), prove_sum(ctx, total, choices, total_nonce))


def verify_ballot(ctx: Context, candidates: Sequence[str], choices: int, ballot: Ballot) -> None:
    """Every check the service makes before accepting a ballot, without decrypting it."""
    if ballot.round_id != ctx.round_id:
        raise InvalidProof(f"选票属于轮次 {ballot.round_id}，不是 {ctx.round_id}")
    if [d for d, _, _ in ballot.ciphertexts] != list(candidates):
        raise InvalidProof("加密选票须按本轮备评部门的顺序为每个部门各含一项")
    for department, ct, proof in ballot.ciphertexts:
        verify_zero_or_one(ctx, department, ct, proof)
    verify_sum(ctx, add_all(ct for _, ct, _ in ballot.ciphertexts), choices, ballot.sum_proof)


# --- the threshold key (dealer-free, Feldman-verifiable) -------------------------------------


@dataclass(frozen=True)
class Dealing:
    """One trustee's polynomial (secret, kept by the trustee) of degree ``threshold − 1``."""

    coefficients: tuple[int, ...]

    @classmethod
    def new(cls, threshold: int) -> Dealing:
        return cls(tuple(random_scalar() for _ in range(threshold)))

    def share(self, recipient: int) -> int:
        """``f(j)`` for the recipient trustee's index ``j`` (1-based)."""
        value = 0
        for a in reversed(self.coefficients):
            value = (value * recipient + a) % ORDER
        return value

    def commitments(self) -> tuple[Point, ...]:
        return tuple(base_mul(a) for a in self.coefficients)


def prove_constant(ctx_round: str, dealer: int, dealing: Dealing) -> EqualityProof:
    """Schnorr proof that the dealer knows the constant term behind its first commitment."""
    secret = dealing.coefficients[0]
    commitment = base_mul(secret)
    w = random_scalar()
    c = hash_to_scalar(PROTOCOL, "constant", ctx_round, str(dealer), commitment, base_mul(w))
    return EqualityProof(c, (w + c * secret) % ORDER)


def verify_constant(ctx_round: str, dealer: int, commitment: Point, proof: EqualityProof) -> None:
    a = base_mul(proof.s) - commitment * proof.c
    if hash_to_scalar(PROTOCOL, "constant", ctx_round, str(dealer), commitment, a) != proof.c:
        raise InvalidProof(f"受托人 {dealer} 对其常数项承诺的知识证明不成立")


def committed_value(commitments: Sequence[Point], index: int) -> Point:
    """``Σ_k C_k·index^k``: the public image of the polynomial at ``index``."""
    total, power = IDENTITY, 1
    for c in commitments:
        total = total + c * power
        power = power * index % ORDER
    return total


def verify_share(commitments: Sequence[Point], recipient: int, share: int) -> bool:
    """Feldman: the share dealt to ``recipient`` lies on the committed polynomial."""
    return base_mul(share) == committed_value(commitments, recipient)


def election_key(all_commitments: Mapping[int, Sequence[Point]]) -> Point:
    """The round's public key: the sum of every dealer's constant commitment."""
    total = IDENTITY
    for commitments in all_commitments.values():
        total = total + commitments[0]
    return total


def public_share(all_commitments: Mapping[int, Sequence[Point]], trustee: int) -> Point:
    """``Y_j = x_j·G`` of trustee ``j``, computable by anyone from the commitments."""
    total = IDENTITY
    for commitments in all_commitments.values():
        total = total + committed_value(commitments, trustee)
    return total


# --- partial decryption and combination -------------------------------------------------------


@dataclass(frozen=True)
class PartialDecryption:
    share: Point
    proof: EqualityProof

    def to_json(self) -> dict[str, Any]:
        return {"share": self.share.hex, "proof": self.proof.to_json()}

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> PartialDecryption:
        try:
            return cls(Point.from_hex(str(value["share"])), EqualityProof.from_json(value["proof"]))
        except (KeyError, TypeError) as exc:
            raise InvalidProof(f"部分解密的结构不完整：{exc}") from exc


def partially_decrypt(
    ctx: Context, trustee: int, key_share: int, label: str, ct: Ciphertext
) -> PartialDecryption:
    share = ct.alpha * key_share
    proof = _prove_equality(
        ctx, "partial", GENERATOR, base_mul(key_share), ct.alpha, share, key_share, str(trustee), label
    )
    return PartialDecryption(share, proof)


def verify_partial(
    ctx: Context, trustee: int, public: Point, label: str, ct: Ciphertext, partial: PartialDecryption
) -> None:
    if not _verify_equality(
        ctx, "partial", GENERATOR, public, ct.alpha, partial.share, partial.proof, str(trustee), label
    ):
        raise InvalidProof(f"受托人 {trustee} 对 {label} 的部分解密证明不成立")


def lagrange_at_zero(indices: Sequence[int], j: int) -> int:
    """The Lagrange coefficient of index ``j`` among ``indices``, at zero, modulo the order."""
    num, den = 1, 1
    for m in indices:
        if m != j:
            num = num * m % ORDER
            den = den * (m - j) % ORDER
    return num * pow(den, -1, ORDER) % ORDER


def combine(ct: Ciphertext, shares: Mapping[int, Point]) -> Point:
    """``B − Σ λ_j·D_j`` = ``m·G`` from a threshold of partial decryptions."""
    indices = sorted(shares)
    total = IDENTITY
    for j in indices:
        total = total + shares[j] * lagrange_at_zero(indices, j)
    return ct.beta - total


def small_log(point: Point, ceiling: int) -> int:
    """The ``m`` in ``0..ceiling`` with ``m·G = point`` (a vote count), from a table."""
    current = IDENTITY
    for m in range(ceiling + 1):
        if current == point:
            return m
        current = current + GENERATOR
    raise InvalidProof(f"解密结果不是 0 到 {ceiling} 之间的票数")
