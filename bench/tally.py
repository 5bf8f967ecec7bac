"""4. Tally: 100,000 secret ballots in a closed round, counted by the service's own tally.

The round and its ballot box live in a database of their own on the bench cluster's PostgreSQL,
migrated by the evaluation service's Alembic revisions. The round is one of the old scheme
(``rounds.scheme = 'plain'``, the default of rounds from before migration 0005): plain ballots
bulk-inserted with ``generate_series`` in the shape that scheme stored them: random 32-hex
``id``, ``r-<16 hex>`` receipt, ``choices`` a JSON list of three distinct candidates, each
``{"department", "factors", "reason"}``. Encrypted rounds have their own benchmark
(``encrypted_tally``: 100 ballots cast through the service, then the trustees' tally).

- service: ``services.evaluation.service.results.tally_round(ctx, round_id, principal)``, the code
  behind ``POST /v1/rounds/{id}/tally``: locks the round, reads the box, counts and ranks
  (``domain.tally``), writes results and the round-tallied event, returns the results view;
- bare SQL: the vote count per department as one aggregate over the same rows.

The round is put back to ``closed`` (results and outbox deleted) between runs.
"""

from __future__ import annotations

import statistics
import time

import asyncpg

from services.evaluation.app import SPEC
from services.evaluation.service import results
from shared import reference
from shared.app import ServiceContext
from shared.auth import Principal
from shared.db import Database
from shared.messaging.memory import MemoryBus
from shared.migrations import upgrade
from shared.policy import load_profile
from shared.settings import CommonSettings, ServiceSettings

from .cluster import TOPIC_PREFIX, BenchCluster
from .seed import timed, tune_for_load
from .stats import BenchResult, CpuMeter, fmt_ratio, ratio, say

NAME = "tally"
DATABASE = "bench_evaluation"
ROUND = "2025-Q4"

BARE_COUNT = """
SELECT c->>'department' AS department, count(*) AS votes
FROM ballots, jsonb_array_elements(choices) AS c
WHERE round_id = $1
GROUP BY 1 ORDER BY 2 DESC, 1
"""


async def _seed(conn: asyncpg.Connection, ballots: int) -> list[str]:
    candidates = [d.code for d in reference.evaluable_departments()]
    factors = [f.code for f in reference.consideration_factors()]
    await tune_for_load(conn)
    await conn.execute(
        """
        INSERT INTO rounds (id, state, vote_on, reference_pack_due, tally_due, candidates, turnout,
            created_by, reference_published_at, voting_opened_at, voting_closed_at)
        VALUES ($1, 'closed', date '2025-12-20', date '2025-12-10', date '2025-12-25', $2::jsonb, $3,
            'bench-office', timestamptz '2025-12-10 01:00+00', timestamptz '2025-12-20 01:00+00',
            timestamptz '2025-12-20 09:00+00')
        """,
        ROUND,
        _json_list(candidates),
        ballots,
    )
    # Three distinct candidates per ballot (offsets 1..5 and 1..11 never wrap onto the first),
    # skewed so the ranking has a clear top and ties further down.
    await timed(
        conn,
        f"{ballots} ballots",
        """
        INSERT INTO ballots (id, round_id, receipt, choices)
        SELECT md5(random()::text || g), $1, 'r-' || substr(md5(g::text || random()::text), 1, 16),
               jsonb_build_array(
                   jsonb_build_object('department', c[1 + d1], 'factors', jsonb_build_array(f[1 + g % nf]),
                                      'reason', NULL),
                   jsonb_build_object('department', c[1 + d2],
                                      'factors', jsonb_build_array(f[1 + (g / 7) % nf]), 'reason', NULL),
                   jsonb_build_object('department', c[1 + d3], 'factors', '[]'::jsonb,
                                      'reason', '群众反映办事效率低'))
        FROM generate_series(1, $2::int) AS g,
             LATERAL (SELECT $3::text[] AS c, $4::text[] AS f, cardinality($3::text[]) AS nc,
                             cardinality($4::text[]) AS nf) AS k,
             LATERAL (SELECT (g * 7 % (g % 13 + 5)) % nc AS d1) AS a,
             LATERAL (SELECT (d1 + 1 + g % 5) % nc AS d2) AS b,
             LATERAL (SELECT (d1 + 2 + g % 5 + g % 11) % nc AS d3) AS e
        """,
        ROUND,
        ballots,
        candidates,
        factors,
    )
    await timed(conn, "ANALYZE", "ANALYZE rounds; ANALYZE ballots")
    return candidates


def _json_list(values: list[str]) -> str:
    return "[" + ",".join(f'"{v}"' for v in values) + "]"


async def _reset(conn: asyncpg.Connection) -> None:
    await conn.execute("DELETE FROM designations WHERE round_id = $1", ROUND)
    await conn.execute("DELETE FROM round_results WHERE round_id = $1", ROUND)
    await conn.execute("DELETE FROM outbox")
    await conn.execute("UPDATE rounds SET state = 'closed', tallied_at = NULL WHERE id = $1", ROUND)
    await conn.execute("VACUUM ANALYZE rounds")


async def run(cluster: BenchCluster, *, quick: bool) -> BenchResult:
    ballots = 10_000 if quick else 100_000
    repeats = 1 if quick else 5
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
    organiser = Principal(client_id="bench-office", roles=frozenset({"office"}), department="office")
    times: dict[str, list[float]] = {"service": [], "bare": []}
    try:
        say(f"{NAME}: seeding {ballots} ballots in round {ROUND}")
        seed_started = time.perf_counter()
        await _seed(conn, ballots)
        seed_s = time.perf_counter() - seed_started
        with CpuMeter() as cpu:
            for n in range(repeats):
                await _reset(conn)
                started = time.perf_counter()
                view = await results.tally_round(ctx, ROUND, organiser)
                times["service"].append(time.perf_counter() - started)
                if view.ballots != ballots:
                    raise RuntimeError(f"the tally counted {view.ballots} ballots, not {ballots}")
                started = time.perf_counter()
                counts = await conn.fetch(BARE_COUNT, ROUND)
                times["bare"].append(time.perf_counter() - started)
                service_votes = {s.department: s.votes for s in view.standings if s.votes}
                bare_votes = {r["department"]: r["votes"] for r in counts}
                if service_votes != bare_votes:
                    raise RuntimeError("the service's tally and the bare SQL count disagree")
                say(
                    f"{NAME}: run {n + 1}/{repeats}: service {times['service'][-1]:.2f} s, "
                    f"bare SQL {times['bare'][-1]:.2f} s"
                )
        top = [(s.department, s.votes, s.rank) for s in view.standings if s.selected]
        await _reset(conn)
    finally:
        await db.dispose()
        await conn.close()
    median = {k: statistics.median(v) for k, v in times.items()}
    best = {k: min(v) for k, v in times.items()}
    r = ratio(median["service"], median["bare"])
    rows = [
        [
            "service tally_round (count, rank, results, event)",
            ballots,
            f"{median['service']:.3f}",
            f"{best['service']:.3f}",
            f"{ballots / median['service']:.0f}",
            fmt_ratio(r),
        ],
        [
            "bare SQL count per department",
            ballots,
            f"{median['bare']:.3f}",
            f"{best['bare']:.3f}",
            f"{ballots / median['bare']:.0f}",
            "1.00x",
        ],
    ]
    return BenchResult(
        name=NAME,
        title=f"tally of {ballots:,} ballots in one round",
        headers=["path", "ballots", "median s", "best s", "ballots/s", "vs bare SQL"],
        rows=rows,
        notes=[
            f"{repeats} run(s), round reset between runs; vote counts of both paths checked equal",
            f"selected (department, votes, rank): {top}",
            f"ballots seeded in {seed_s:.1f} s with generate_series into database {DATABASE}",
        ],
        figures={"seconds": times, "median_s": median, "best_s": best, "selected": top},
        ratios={"service_over_bare_sql": r},
        parameters={"ballots": ballots, "round": ROUND, "repeats": repeats, "choices_per_ballot": 3},
        load_generator_cpu=cpu.as_json(),
        in_process=True,
    )
