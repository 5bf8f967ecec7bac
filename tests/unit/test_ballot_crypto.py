"""The ballot cryptography (E5, E3), step by step, each with the attack it must refuse."""

from __future__ import annotations

import itertools

import nacl.bindings as sodium
import pytest

from shared import ballot_crypto as bc

CANDIDATES = ["fgw", "jxw", "jtj", "sfj", "rfb", "tyj"]
# An element of order 8 and the generator plus it (on the curve, outside the prime-order subgroup).
TORSION = bytes.fromhex("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a")
MIXED = sodium.crypto_core_ed25519_add(bc.GENERATOR.data, TORSION)


def key_pair() -> tuple[int, bc.Point]:
    x = bc.random_scalar()
    return x, bc.base_mul(x)


def context(round_id: str = "2018-Q2") -> tuple[int, bc.Context]:
    x, y = key_pair()
    return x, bc.Context(round_id, y)


def decrypt(x: int, ct: bc.Ciphertext, ceiling: int = 10) -> int:
    return bc.small_log(ct.beta - ct.alpha * x, ceiling)


# --- the group wrapper -------------------------------------------------------------------------


def test_E5_identity_is_handled_where_libsodium_refuses_it() -> None:
    g = bc.GENERATOR
    assert bc.base_mul(0) == bc.IDENTITY and g * 0 == bc.IDENTITY and g * bc.ORDER == bc.IDENTITY
    assert bc.IDENTITY * 5 == bc.IDENTITY
    assert g - g == bc.IDENTITY and g + (-g) == bc.IDENTITY
    assert bc.IDENTITY + g == g and g + bc.IDENTITY == g and bc.IDENTITY - g == -g
    assert bc.Point.from_hex("01" + "00" * 31) == bc.IDENTITY
    assert bc.base_mul(7) == g * 3 + g * 4 and bc.base_mul(-1) == -g


@pytest.mark.parametrize(
    "encoded",
    [TORSION.hex(), MIXED.hex(), "ec" + "ff" * 30 + "7f", "00" * 32, "ff" * 32, "5866", "zz" * 32],
    ids=["small-order", "outside-subgroup", "order-two", "zero", "non-canonical", "short", "not-hex"],
)
def test_E5_an_invalid_point_is_refused(encoded: str) -> None:
    with pytest.raises(bc.InvalidPoint):
        bc.Point.from_hex(encoded)


def test_E5_a_scalar_must_be_reduced() -> None:
    with pytest.raises(bc.InvalidProof):
        bc.scalar_from_hex(bc.ORDER.to_bytes(32, "little").hex())
    assert bc.scalar_from_hex(bc.scalar_hex(bc.ORDER - 1)) == bc.ORDER - 1


# --- exponential ElGamal and its proofs --------------------------------------------------------


def test_E5_exponential_elgamal_adds_plaintexts() -> None:
    x, ctx = context()
    cts = [bc.encrypt(ctx.key, m, bc.random_scalar()) for m in (1, 0, 1, 1)]
    assert [decrypt(x, c) for c in cts] == [1, 0, 1, 1]
    assert decrypt(x, bc.add_all(cts)) == 3
    assert decrypt(x, bc.add_all([])) == 0


@pytest.mark.parametrize("m", [0, 1])
def test_E5_zero_or_one_proof_verifies_for_either_value(m: int) -> None:
    _, ctx = context()
    r = bc.random_scalar()
    ct = bc.encrypt(ctx.key, m, r)
    proof = bc.prove_zero_or_one(ctx, "jxw", ct, m, r)
    bc.verify_zero_or_one(ctx, "jxw", ct, proof)
    bc.verify_zero_or_one(ctx, "jxw", ct, bc.ZeroOneProof.from_json(proof.to_json()))


def test_E5_a_ciphertext_of_two_cannot_carry_a_zero_or_one_proof() -> None:
    _, ctx = context()
    r = bc.random_scalar()
    ct = bc.encrypt(ctx.key, 2, r)
    for claimed in (0, 1):
        forged = bc.prove_zero_or_one(ctx, "jxw", ct, claimed, r)
        with pytest.raises(bc.InvalidProof):
            bc.verify_zero_or_one(ctx, "jxw", ct, forged)


def test_E5_a_tampered_zero_or_one_proof_fails() -> None:
    _, ctx = context()
    r = bc.random_scalar()
    ct = bc.encrypt(ctx.key, 1, r)
    p = bc.prove_zero_or_one(ctx, "jxw", ct, 1, r)
    for forged in (
        bc.ZeroOneProof(p.c0 + 1, p.c1 - 1, p.s0, p.s1),  # still sums to the challenge
        bc.ZeroOneProof(p.c0, p.c1, p.s0, p.s1 + 1),
        bc.ZeroOneProof(p.c1, p.c0, p.s1, p.s0),
    ):
        with pytest.raises(bc.InvalidProof):
            bc.verify_zero_or_one(ctx, "jxw", ct, forged)
    with pytest.raises(bc.InvalidProof):  # bound to its department
        bc.verify_zero_or_one(ctx, "fgw", ct, p)


def test_E5_a_ballot_verifies_and_decrypts_to_its_choices() -> None:
    x, ctx = context()
    ballot = bc.encrypt_ballot(ctx, CANDIDATES, ["jxw", "sfj", "tyj"], 3)
    bc.verify_ballot(ctx, CANDIDATES, 3, ballot)
    again = bc.Ballot.from_json(ballot.to_json())
    bc.verify_ballot(ctx, CANDIDATES, 3, again)
    assert again.tracker == ballot.tracker and len(ballot.tracker) == 64
    assert {d for d, ct in ballot.by_department().items() if decrypt(x, ct)} == {"jxw", "sfj", "tyj"}


def _ballot_of(ctx: bc.Context, values: dict[str, int], claimed: int) -> bc.Ballot:
    """A ballot with the given 0/1 values, each properly proved, and a sum proof for ``claimed``."""
    items, total = [], 0
    for d in CANDIDATES:
        r = bc.random_scalar()
        ct = bc.encrypt(ctx.key, values.get(d, 0), r)
        items.append((d, ct, bc.prove_zero_or_one(ctx, d, ct, min(values.get(d, 0), 1), r)))
        total += r
    sum_proof = bc.prove_sum(ctx, bc.add_all(c for _, c, _ in items), claimed, total)
    return bc.Ballot(ctx.round_id, tuple(items), sum_proof)


def test_E5_a_ballot_summing_to_four_is_refused() -> None:
    _, ctx = context()
    four = {"fgw": 1, "jxw": 1, "jtj": 1, "sfj": 1}
    with pytest.raises(bc.InvalidProof, match="之和"):
        bc.verify_ballot(ctx, CANDIDATES, 3, _ballot_of(ctx, four, 3))
    with pytest.raises(bc.InvalidProof, match="之和"):
        bc.verify_ballot(ctx, CANDIDATES, 3, _ballot_of(ctx, four, 4))
    with pytest.raises(ValueError):
        bc.encrypt_ballot(ctx, CANDIDATES, ["fgw", "jxw", "jtj", "sfj"], 3)


def test_E5_a_ballot_with_a_two_is_refused_even_if_it_sums_to_three() -> None:
    _, ctx = context()
    with pytest.raises(bc.InvalidProof, match="0/1"):
        bc.verify_ballot(ctx, CANDIDATES, 3, _ballot_of(ctx, {"fgw": 2, "jxw": 1}, 3))


def test_E5_a_ballot_replayed_from_another_round_is_refused() -> None:
    _, ctx = context("2018-Q2")
    ballot = bc.encrypt_ballot(ctx, CANDIDATES, ["jxw", "sfj", "tyj"], 3)
    other_round = bc.Context("2018-Q3", ctx.key)  # same key even: the round is in every challenge
    relabelled = bc.Ballot("2018-Q3", ballot.ciphertexts, ballot.sum_proof)
    with pytest.raises(bc.InvalidProof):
        bc.verify_ballot(other_round, CANDIDATES, 3, ballot)
    with pytest.raises(bc.InvalidProof):
        bc.verify_ballot(other_round, CANDIDATES, 3, relabelled)
    _, other_key = context("2018-Q2")
    with pytest.raises(bc.InvalidProof):
        bc.verify_ballot(other_key, CANDIDATES, 3, ballot)


def test_E5_a_ballot_must_cover_the_candidates_in_order() -> None:
    _, ctx = context()
    ballot = bc.encrypt_ballot(ctx, CANDIDATES, ["jxw", "sfj", "tyj"], 3)
    with pytest.raises(bc.InvalidProof):
        bc.verify_ballot(
            ctx, CANDIDATES[:-1], 3, bc.Ballot(ctx.round_id, ballot.ciphertexts[:-1], ballot.sum_proof)
        )
    with pytest.raises(bc.InvalidProof):
        bc.verify_ballot(
            ctx, CANDIDATES, 3, bc.Ballot(ctx.round_id, ballot.ciphertexts[::-1], ballot.sum_proof)
        )
    broken = ballot.to_json()
    broken["choices"][0]["alpha"] = TORSION.hex()
    with pytest.raises(bc.InvalidPoint):
        bc.Ballot.from_json(broken)
    del broken["sum_proof"]
    with pytest.raises((bc.InvalidProof, bc.InvalidPoint)):
        bc.Ballot.from_json(broken)


# --- the threshold key, partial decryptions, combination --------------------------------------


def ceremony(
    n: int, t: int, round_id: str = "2018-Q2"
) -> tuple[dict[int, int], dict[int, tuple[bc.Point, ...]]]:
    dealings = {i: bc.Dealing.new(t) for i in range(1, n + 1)}
    commitments = {i: d.commitments() for i, d in dealings.items()}
    for i, d in dealings.items():
        bc.verify_constant(round_id, i, commitments[i][0], bc.prove_constant(round_id, i, d))
    shares: dict[int, int] = {}
    for j in range(1, n + 1):
        received = {i: d.share(j) for i, d in dealings.items()}
        assert all(bc.verify_share(commitments[i], j, s) for i, s in received.items())
        shares[j] = sum(received.values()) % bc.ORDER
    return shares, commitments


def test_E5_feldman_commitments_catch_a_wrong_share_and_a_stolen_constant() -> None:
    d = bc.Dealing.new(2)
    commitments = d.commitments()
    assert bc.verify_share(commitments, 2, d.share(2))
    assert not bc.verify_share(commitments, 2, d.share(2) + 1)
    assert not bc.verify_share(commitments, 3, d.share(2))
    proof = bc.prove_constant("2018-Q2", 1, d)
    with pytest.raises(bc.InvalidProof):
        bc.verify_constant("2018-Q2", 2, commitments[0], proof)  # another dealer's proof
    with pytest.raises(bc.InvalidProof):
        bc.verify_constant("2018-Q3", 1, commitments[0], proof)


def test_E3_E5_any_threshold_of_trustees_decrypts_the_aggregate_and_fewer_cannot() -> None:
    n, t = 4, 3
    shares, commitments = ceremony(n, t)
    key = bc.election_key(commitments)
    assert all(bc.public_share(commitments, j) == bc.base_mul(shares[j]) for j in shares)
    ctx = bc.Context("2018-Q2", key)
    chosen = [["jxw", "sfj", "tyj"], ["jxw", "fgw", "tyj"], ["jxw", "sfj", "rfb"]]
    ballots = [bc.encrypt_ballot(ctx, CANDIDATES, c, 3) for c in chosen]
    for b in ballots:
        bc.verify_ballot(ctx, CANDIDATES, 3, b)
    aggregate = bc.add_all(b.by_department()["jxw"] for b in ballots)
    partials = {j: bc.partially_decrypt(ctx, j, shares[j], "jxw", aggregate) for j in shares}
    for j, p in partials.items():
        bc.verify_partial(ctx, j, bc.public_share(commitments, j), "jxw", aggregate, p)
    for subset in itertools.combinations(sorted(shares), t):
        m = bc.combine(aggregate, {j: partials[j].share for j in subset})
        assert bc.small_log(m, len(ballots)) == 3
    with pytest.raises(bc.InvalidProof):  # two of a threshold of three give nothing
        bc.small_log(bc.combine(aggregate, {j: partials[j].share for j in (1, 2)}), len(ballots))


def test_E3_E5_a_forged_partial_decryption_is_refused() -> None:
    shares, commitments = ceremony(3, 2)
    ctx = bc.Context("2018-Q2", bc.election_key(commitments))
    ct = bc.encrypt(ctx.key, 2, bc.random_scalar())
    honest = bc.partially_decrypt(ctx, 1, shares[1], "jxw", ct)
    public = bc.public_share(commitments, 1)
    wrong_share = bc.PartialDecryption(honest.share + bc.GENERATOR, honest.proof)
    with pytest.raises(bc.InvalidProof):
        bc.verify_partial(ctx, 1, public, "jxw", ct, wrong_share)
    with pytest.raises(bc.InvalidProof):  # another trustee's key share
        bc.verify_partial(ctx, 1, public, "jxw", ct, bc.partially_decrypt(ctx, 1, shares[2], "jxw", ct))
    with pytest.raises(bc.InvalidProof):  # bound to the department
        bc.verify_partial(ctx, 1, public, "fgw", ct, honest)
    with pytest.raises(bc.InvalidProof):  # bound to the round
        bc.verify_partial(bc.Context("2018-Q3", ctx.key), 1, public, "jxw", ct, honest)


def test_E5_lagrange_and_small_log() -> None:
    assert bc.lagrange_at_zero([1, 2], 1) == 2 and bc.lagrange_at_zero([1, 2], 2) == bc.ORDER - 1
    assert bc.small_log(bc.IDENTITY, 0) == 0 and bc.small_log(bc.base_mul(100), 100) == 100
    with pytest.raises(bc.InvalidProof):
        bc.small_log(bc.base_mul(101), 100)
