"""6. Encrypted ballots: casting 100 ballots with 38 candidates and tallying them (E3, E5).

The cost of the cryptography, measured on the service's own use cases in-process (no HTTP), on a
database of the bench cluster's PostgreSQL migrated by the evaluation revisions:

- a round in ``voting-open`` whose election key comes from a three-trustee, threshold-two
  ceremony run in memory (the trustees' commitments stored as the API would store them) and a
  panel of 100 accounts;
- 100 ballots naming 3 of the 38 candidates: half encrypted by the "client" (``encrypt_ballot``,
  timed apart) and cast with ``encrypted`` (the service verifies 38 CDS proofs and the sum proof,
  then stores), half cast with plain ``choices`` that the service encrypts in memory;
- the close (``rounds.transition``: the ciphertexts added up per department), two trustees'
  partial decryptions with proofs (computed as the trustee command does, then verified and stored
  by ``ceremony.submit_partial``), and the tally (``results.tally_round``: Lagrange combination,
  the discrete logs, ranking, results and events).

The counts are checked against the plaintext choices the bench made.
"""

from __future__ import annotations

import json
import statistics
import time
from collections import Counter

import asyncpg

from services.evaluation.app import SPEC
from services.evaluation.ballot_schemas import EncryptedBallotIn, PartialDecryptionIn
from services.evaluation.schemas import BallotIn, ChoiceIn
from services.evaluation.service import ballot_box, ceremony, results, rounds
from shared import ballot_crypto as bc
from shared import reference
from shared.app import ServiceContext
from shared.auth import Principal
from shared.db import Database
from shared.messaging.memory import MemoryBus
from shared.migrations import upgrade
from shared.policy import load_profile
from shared.settings import CommonSettings, ServiceSettings

from .cluster import TOPIC_PREFIX, BenchCluster
from .stats import BenchResult, CpuMeter, say

NAME = "encrypted-tally"
DATABASE = "bench_encrypted_ballots"
ROUND = "2025-Q3"
BALLOTS = 100
TRUSTEES, THRESHOLD = 3, 2


async def _seed(conn: asyncpg.Connection, candidates: list[str]) -> dict[int, int]:
    """The open round, its trustees' public material and key, and the panel; the key shares."""
    dealings = {i: bc.Dealing.new(THRESHOLD) for i in range(1, TRUSTEES + 1)}
    commitments = {i: d.commitments() for i, d in dealings.items()}
    key = bc.election_key(commitments)
    shares = {j: sum(d.share(j) for d in dealings.values()) % bc.ORDER for j in dealings}
    await conn.execute(
        """
        INSERT INTO rounds (id, state, vote_on, reference_pack_due, tally_due, candidates, created_by,
            scheme, trustee_count, threshold, election_key, voting_opened_at)
        VALUES ($1, 'voting-open', date '2025-10-20', date '2025-10-20', date '2025-10-25', $2::jsonb,
            'bench-office', 'encrypted', $3, $4, $5, now())
        """,
        ROUND,
        "[" + ",".join(f'"{c}"' for c in candidates) + "]",
        TRUSTEES,
        THRESHOLD,
        key.hex,
    )
    for i, d in dealings.items():
        await conn.execute(
            """
            INSERT INTO round_trustees (round_id, trustee_index, account, name, box_key, commitments,
                confirmed, added_by, registered_at, dealt_at, confirmed_at)
            VALUES ($1, $2, $3, $3, $4, $5::jsonb, true, 'bench-office', now(), now(), now())
            """,
            ROUND,
            i,
            f"bench-trustee-{i}",
            "00" * 32,
            json.dumps(
                {
                    "commitments": [c.hex for c in commitments[i]],
                    "constant_proof": bc.prove_constant(ROUND, i, d).to_json(),
                }
            ),
        )
    await conn.execute(
        """
        INSERT INTO panel_entries (id, round_id, person_id, name, category, account, added_by)
        SELECT 'pe-' || g, $1, 'p-' || g, 'bench', 'bench', 'bench-ev-' || g, 'bench-office'
        FROM generate_series(1, $2::int) AS g
        """,
        ROUND,
        BALLOTS,
    )
    return shares


async def _reset(conn: asyncpg.Connection) -> None:
    for table in (
        "partial_decryptions",
        "encrypted_ballots",
        "sealed_reasons",
        "participations",
        "round_results",
        "designations",
        "round_trustees",
        "panel_entries",
        "outbox",
    ):
        await conn.execute(f"DELETE FROM {table}")
    await conn.execute("DELETE FROM rounds WHERE id = $1", ROUND)


def _choices(n: int, candidates: list[str]) -> list[str]:
    """Three distinct candidates, skewed so the ranking has a top."""
    first = (n * 7) % 5
    return [
        candidates[first],
        candidates[(first + 1 + n % 7) % len(candidates)],
        candidates[(first + 9 + n % 23) % len(candidates)],
    ]


async def run(cluster: BenchCluster, *, quick: bool) -> BenchResult:
    candidates = [d.code for d in reference.evaluable_departments()]
    url = await cluster.new_database(DATABASE)
    await upgrade("evaluation", url)
    conn = await cluster.connect(DATABASE)
    db = Database(url)
    ctx = ServiceContext(
        spec=SPEC,
        common=CommonSettings(topic_prefix=TOPIC_PREFIX),
        settings=ServiceSettings(database_url=url),
        db=db,
        bus=MemoryBus(),
        profile=load_profile(),
    )
    office = Principal(client_id="bench-office", roles=frozenset({"office"}), department="office")
    times: dict[str, list[float]] = {"client encrypt": [], "cast encrypted": [], "cast plain": []}
    try:
        await _reset(conn)
        shares = await _seed(conn, candidates)
        key = await conn.fetchval("SELECT election_key FROM rounds WHERE id = $1", ROUND)
        bctx = bc.Context(ROUND, bc.Point.from_hex(key))
        expected: Counter[str] = Counter()
        with CpuMeter() as cpu:
            for n in range(BALLOTS):
                voter = Principal(
                    client_id=f"bench-ev-{n + 1}", roles=frozenset({"evaluator"}), department=None
                )
                names = _choices(n, candidates)
                expected.update(names)
                if n % 2:
                    started = time.perf_counter()
                    ballot = bc.encrypt_ballot(bctx, candidates, names, 3).to_json()
                    times["client encrypt"].append(time.perf_counter() - started)
                    cmd = BallotIn(encrypted=EncryptedBallotIn.model_validate(ballot))
                    kind = "cast encrypted"
                else:
                    cmd = BallotIn(choices=[ChoiceIn(department=d) for d in names])
                    kind = "cast plain"
                started = time.perf_counter()
                await ballot_box.cast_ballot(ctx, ROUND, voter, cmd)
                times[kind].append(time.perf_counter() - started)
            say(f"{NAME}: {BALLOTS} ballots cast")
            started = time.perf_counter()
            await rounds.transition(ctx, ROUND, "close-voting")
            close_s = time.perf_counter() - started
            partial_s: list[float] = []
            for j in sorted(shares)[:THRESHOLD]:
                trustee = Principal(
                    client_id=f"bench-trustee-{j}", roles=frozenset({"supervisor"}), department=None
                )
                started = time.perf_counter()
                aggregate = await ceremony.aggregate(ctx, ROUND)
                body = {
                    d: bc.partially_decrypt(bctx, j, shares[j], d, bc.Ciphertext.from_json(ct)).to_json()
                    for d, ct in aggregate.aggregate.items()
                }
                await ceremony.submit_partial(
                    ctx, ROUND, trustee, PartialDecryptionIn.model_validate({"shares": body})
                )
                partial_s.append(time.perf_counter() - started)
            started = time.perf_counter()
            view = await results.tally_round(ctx, ROUND, office)
            tally_s = time.perf_counter() - started
        counted = {s.department: s.votes for s in view.standings if s.votes}
        if counted != dict(expected) or view.ballots != BALLOTS:
            raise RuntimeError("the encrypted tally disagrees with the choices cast")
        await _reset(conn)
    finally:
        await db.dispose()
        await conn.close()
    med = {k: statistics.median(v) for k, v in times.items()}
    rows = [
        [
            "client: encrypt one ballot with its 38 + 1 proofs",
            len(times["client encrypt"]),
            f"{med['client encrypt'] * 1000:.1f}",
            "",
        ],
        [
            "service: verify and store a client-encrypted ballot",
            len(times["cast encrypted"]),
            f"{med['cast encrypted'] * 1000:.1f}",
            "",
        ],
        [
            "service: encrypt in memory and store a plain ballot",
            len(times["cast plain"]),
            f"{med['cast plain'] * 1000:.1f}",
            "",
        ],
        ["close: add the ciphertexts per department", BALLOTS, "", f"{close_s:.3f}"],
        [
            "trustee: partially decrypt 38 aggregates, service verifies",
            THRESHOLD,
            "",
            f"{statistics.median(partial_s):.3f}",
        ],
        ["tally: combine, discrete logs, rank, results, events", BALLOTS, "", f"{tally_s:.3f}"],
    ]
    return BenchResult(
        name=NAME,
        title=(
            f"{BALLOTS} encrypted ballots, {len(candidates)} candidates, "
            f"{TRUSTEES} trustees (threshold {THRESHOLD})"
        ),
        headers=["step", "n", "median ms per ballot", "seconds"],
        rows=rows,
        notes=[
            "in-process use cases on the bench PostgreSQL; libsodium ed25519 group operations (PyNaCl)",
            f"counts checked against the plaintext choices: top {view.selected}",
        ],
        figures={
            "seconds": times,
            "median_s": med,
            "close_s": close_s,
            "partial_s": partial_s,
            "tally_s": tally_s,
        },
        parameters={
            "ballots": BALLOTS,
            "candidates": len(candidates),
            "trustees": TRUSTEES,
            "threshold": THRESHOLD,
        },
        load_generator_cpu=cpu.as_json(),
        in_process=True,
    )
