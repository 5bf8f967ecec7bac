"""3. Deadline sweep: 1,000,000 open joint items, 10,000 of them due; the service's own sweep.

The items live in a database of their own on the bench cluster's PostgreSQL, migrated by the
coordination service's Alembic revisions, so the running coordination process's sweeper cannot
race the measurement. Rows are bulk-inserted with ``generate_series`` in the shape
``create_matter`` writes (ids ``item-<12 hex>``, deadlines at 00:00 Asia/Shanghai, ``due_on`` the
last day, states ``assigned``/``acknowledged``). Then, with a fixed ``now``:

- service: ``services.coordination.service.matters.sweep_deadlines(ctx, now)``, the very function
  the registered sweeper calls: claims batches ``FOR UPDATE SKIP LOCKED`` through the partial
  index, closes each item and records its deadline-passed outbox row in the same transaction;
- bare SQL: one ``UPDATE`` of the same rows to the same final state (no events);
- bare SQL + outbox: the same ``UPDATE`` feeding an ``INSERT INTO outbox`` in one statement (a
  floor for the same work, events included).

Between runs the rows are put back and the outbox emptied (``VACUUM ANALYZE`` after each reset).
The claim statement is captured from the service's own execution and run under
``EXPLAIN (ANALYZE, BUFFERS)``; the plan must name the partial index ``ix_joint_items_open_deadline``.
"""

from __future__ import annotations

import statistics
import time
from datetime import UTC, datetime
from typing import Any

import asyncpg
from sqlalchemy import event

from services.coordination.app import SPEC
from services.coordination.service import matters
from shared import reference
from shared.app import ServiceContext
from shared.db import Database
from shared.db import generic_plan as db_generic_plan
from shared.messaging.memory import MemoryBus
from shared.migrations import upgrade
from shared.policy import load_profile
from shared.settings import CommonSettings, ServiceSettings

from .cluster import TOPIC_PREFIX, BenchCluster
from .seed import secondary_indexes_dropped, timed, tune_for_load
from .stats import BenchResult, CpuMeter, Target, fmt_ratio, ratio, say

NAME = "deadline_sweep"
DATABASE = "bench_coordination"
PARTIAL_INDEX = "ix_joint_items_open_deadline"
# 00:00 on 2026-01-11 in Asia/Shanghai: deadlines fall on local midnights.
NOW = datetime(2026, 1, 10, 16, 0, tzinfo=UTC)
ITEMS_PER_MATTER = 10

BARE_UPDATE = """
UPDATE joint_items
SET state = CASE state WHEN 'assigned' THEN 'deemed-consent' ELSE 'deemed-agreed-to-handle' END,
    closed_at = deadline, swept_at = $1
WHERE state IN ('assigned', 'acknowledged') AND deadline <= $1
"""

BARE_UPDATE_WITH_OUTBOX = f"""
WITH closed AS ({BARE_UPDATE} RETURNING id, department, deadline, state)
INSERT INTO outbox (event_id, topic, key, event)
SELECT gen_random_uuid()::text, '{TOPIC_PREFIX}deadline-passed', id,
       jsonb_build_object('type', 'deadline-passed', 'subject', id,
                          'data', jsonb_build_object('subject_kind', 'joint-item', 'subject_id', id,
                                                     'department', department, 'deadline', deadline,
                                                     'consequence', state))
FROM closed
"""

RESET = """
UPDATE joint_items
SET state = CASE WHEN acknowledged_at IS NULL THEN 'assigned' ELSE 'acknowledged' END,
    closed_at = NULL, swept_at = NULL
WHERE swept_at IS NOT NULL
"""


async def _seed(conn: asyncpg.Connection, items: int, due: int) -> None:
    departments = [d.code for d in reference.evaluable_departments()][:ITEMS_PER_MATTER]
    matters_count = items // ITEMS_PER_MATTER
    every = items // due  # every n-th item is due
    await tune_for_load(conn)
    await timed(
        conn,
        f"{matters_count} joint matters",
        """
        INSERT INTO joint_matters (id, lead_department, basis, main_matter, requirements, contact_person,
            contact_phone, fax, attachments, copied_to, assigned_on, supersedes, created_by, created_at)
        SELECT 'matter-' || lpad(to_hex(g), 12, '0'), 'fgw', '市政府常务会议纪要（第' || g || '次）',
               '关于推进重点项目建设的会办事项', '请于期限内反馈办理意见', '张明', '0572-2039000', NULL,
               '[]'::jsonb, '["szfb"]'::jsonb, date '2025-12-01', NULL, 'bench-office',
               timestamptz '2025-12-01 02:00:00+00'
        FROM generate_series(1, $1::int) AS g
        """,
        matters_count,
    )
    async with secondary_indexes_dropped(conn, "joint_items"):
        await timed(
            conn,
            f"{items} joint items ({due} due)",
            """
            INSERT INTO joint_items (id, matter_id, seq, department, content, tier, feedback_days, day_unit,
                due_on, deadline, state, acknowledged_at, acknowledged_by, closed_at, swept_at, created_at)
            SELECT 'item-' || lpad(to_hex(g), 12, '0'),
                   'matter-' || lpad(to_hex((g - 1) / $3::int + 1), 12, '0'),
                   (g - 1) % $3::int + 1,
                   ($4::text[])[(g - 1) % $3::int + 1],
                   '请会同做好相关工作并反馈意见', 'routine', 3, 'calendar',
                   ((d AT TIME ZONE 'Asia/Shanghai')::date - 1), d,
                   CASE WHEN g % 3 = 0 THEN 'acknowledged' ELSE 'assigned' END,
                   CASE WHEN g % 3 = 0 THEN timestamptz '2025-12-02 01:00:00+00' END,
                   CASE WHEN g % 3 = 0 THEN 'bench-' || ($4::text[])[(g - 1) % $3::int + 1] END,
                   NULL, NULL, timestamptz '2025-12-01 02:00:00+00'
            FROM generate_series(1, $1::int) AS g,
                 LATERAL (SELECT CASE WHEN g % $2::int = 0
                    THEN $5::timestamptz - make_interval(days => (g / $2::int) % 30)
                    ELSE $5::timestamptz + make_interval(days => 1 + g % 90) END AS d) AS dl
            """,
            items,
            every,
            ITEMS_PER_MATTER,
            departments,
            NOW,
        )
    await timed(conn, "ANALYZE", "ANALYZE joint_matters; ANALYZE joint_items")


async def _reset(conn: asyncpg.Connection) -> None:
    await conn.execute(RESET)
    await conn.execute("DELETE FROM outbox")
    await conn.execute("VACUUM ANALYZE joint_items")
    await conn.execute("VACUUM ANALYZE outbox")


async def _count_closed(conn: asyncpg.Connection) -> tuple[int, int]:
    closed = await conn.fetchval("SELECT count(*) FROM joint_items WHERE swept_at IS NOT NULL")
    events = await conn.fetchval("SELECT count(*) FROM outbox")
    return int(closed), int(events)


async def run(cluster: BenchCluster, *, quick: bool) -> BenchResult:
    items, due = (100_000, 1_000) if quick else (1_000_000, 10_000)
    repeats = 1 if quick else 3
    url = await cluster.new_database(DATABASE)
    await upgrade("coordination", url)
    conn = await cluster.connect(DATABASE)
    common = CommonSettings(topic_prefix=TOPIC_PREFIX)
    db = Database(url)
    ctx = ServiceContext(
        spec=SPEC,
        common=common,
        settings=ServiceSettings(database_url=url),
        db=db,
        bus=MemoryBus(),
        profile=load_profile(common.policy_profile),
    )
    claims: list[tuple[str, Any]] = []

    # Time spent in the claim statement itself, per service run: tells a plan problem (slow
    # claims) from per-item work (slow updates and outbox inserts).
    claim_clock: dict[str, float] = {"started": 0.0, "total": 0.0, "count": 0}

    def before(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if "SKIP LOCKED" in statement and "joint_items" in statement:
            if not claims:
                claims.append((statement, parameters))
            claim_clock["started"] = time.perf_counter()

    def after(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if "SKIP LOCKED" in statement and "joint_items" in statement:
            claim_clock["total"] += time.perf_counter() - claim_clock["started"]
            claim_clock["count"] += 1

    event.listen(db.engine.sync_engine, "before_cursor_execute", before)
    event.listen(db.engine.sync_engine, "after_cursor_execute", after)
    claim_seconds: list[float] = []
    claim_counts: list[int] = []
    times: dict[str, list[float]] = {"service": [], "bare": [], "bare_outbox": []}
    plan: list[str] = []
    generic_plan: list[str] = []
    try:
        say(f"{NAME}: seeding {items} open items, {due} due")
        seed_started = time.perf_counter()
        await _seed(conn, items, due)
        seed_s = time.perf_counter() - seed_started
        with CpuMeter() as cpu:
            for n in range(repeats):
                for kind in ("service", "bare", "bare_outbox"):
                    await _reset(conn)
                    started = time.perf_counter()
                    if kind == "service":
                        claim_clock.update(total=0.0, count=0)
                        swept = await matters.sweep_deadlines(ctx, NOW)
                        claim_seconds.append(round(claim_clock["total"], 3))
                        claim_counts.append(int(claim_clock["count"]))
                    elif kind == "bare":
                        await conn.execute(BARE_UPDATE, NOW)
                        swept = due
                    else:
                        await conn.execute(BARE_UPDATE_WITH_OUTBOX, NOW)
                        swept = due
                    elapsed = time.perf_counter() - started
                    closed, events = await _count_closed(conn)
                    expected_events = 0 if kind == "bare" else due
                    if swept != due or closed != due or events != expected_events:
                        raise RuntimeError(
                            f"{kind}: swept {swept}, closed {closed}, events {events}; expected {due} "
                            f"and {expected_events} events"
                        )
                    times[kind].append(elapsed)
                    say(f"{NAME}: run {n + 1}/{repeats} {kind}: {due} items in {elapsed:.2f} s")
                    if kind == "service" and not plan:
                        plan = await _explain(conn, claims)
                        generic_plan = await db_generic_plan(conn, *claims[0])
        await _reset(conn)
    finally:
        await db.dispose()
        await conn.close()
    uses_index = any(PARTIAL_INDEX in line for line in plan)
    generic_uses_index = any(PARTIAL_INDEX in line for line in generic_plan)
    median = {k: statistics.median(v) for k, v in times.items()}
    best = {k: min(v) for k, v in times.items()}
    ratios = {
        "service_over_bare_update": ratio(median["service"], median["bare"]),
        "service_over_bare_update_with_outbox": ratio(median["service"], median["bare_outbox"]),
    }
    labels = {
        "service": "service sweep_deadlines (state + outbox)",
        "bare": "bare SQL UPDATE (no events)",
        "bare_outbox": "bare SQL UPDATE + INSERT outbox",
    }
    rows = [
        [
            labels[k],
            due,
            f"{median[k]:.2f}",
            f"{best[k]:.2f}",
            f"{due / median[k]:.0f}",
            fmt_ratio(ratio(median["service"], median[k])),
        ]
        for k in ("service", "bare", "bare_outbox")
    ]
    plan_lines = [
        line for line in plan if any(k in line for k in (PARTIAL_INDEX, "Limit", "LockRows", "Cond"))
    ]
    return BenchResult(
        name=NAME,
        title=f"{items:,} open joint items, {due:,} due: sweep vs bare SQL",
        headers=["path", "items", "median s", "best s", "items/s", "service / this"],
        rows=rows,
        notes=[
            f"{repeats} run(s) each, rows reset and VACUUM ANALYZE between runs; now = {NOW.isoformat()}",
            f"seeded in {seed_s:.0f} s with generate_series into database {DATABASE} "
            "(coordination migrations)",
            "claim query plan ("
            + ("uses" if uses_index else "DOES NOT USE")
            + f" the partial index {PARTIAL_INDEX}):",
            *[f"    {line}" for line in plan_lines],
            f"service runs spent {', '.join(f'{x:.2f}' for x in claim_seconds)} s in "
            f"{', '.join(str(x) for x in claim_counts)} claim statements "
            "(the rest: the batch UPDATE ... RETURNING and the outbox INSERT per batch)",
            "the same claim under a forced generic plan (what a prepared statement may fall back to) "
            + ("also uses the partial index" if generic_uses_index else "does NOT use the partial index")
            + ": "
            + next((line.strip() for line in generic_plan if "Scan" in line), "(no scan line)"),
        ],
        figures={
            "seconds": times,
            "median_s": median,
            "best_s": best,
            "claim_statement": claims[0][0] if claims else None,
            "claim_plan": plan,
            "claim_uses_partial_index": uses_index,
            "claim_seconds_per_service_run": claim_seconds,
            "claim_statements_per_service_run": claim_counts,
            "claim_generic_plan": generic_plan,
            "claim_generic_plan_uses_partial_index": generic_uses_index,
            "seed_s": round(seed_s, 1),
        },
        ratios=ratios,
        parameters={
            "items": items,
            "due": due,
            "repeats": repeats,
            "now": NOW.isoformat(),
            "sweep_batch": matters.SWEEP_BATCH,
        },
        load_generator_cpu=cpu.as_json(),
        in_process=True,
        targets=[
            Target(
                "sweep 10k due of 1M / bare UPDATE + outbox",
                ratios["service_over_bare_update_with_outbox"],
                2,
                False,
            )
        ],
    )


async def _explain(conn: asyncpg.Connection, claims: list[tuple[str, Any]]) -> list[str]:
    """EXPLAIN ANALYZE the claim exactly as the service sent it, on freshly reset rows."""
    if not claims:
        raise RuntimeError("the sweep's claim statement was not captured")
    statement, parameters = claims[0]
    await _reset(conn)
    transaction = conn.transaction()
    await transaction.start()
    try:
        rows = await conn.fetch(f"EXPLAIN (ANALYZE, BUFFERS) {statement}", *parameters)
    finally:
        # ANALYZE really ran the claim and took row locks; release them.
        await transaction.rollback()
    plan = [str(r[0]) for r in rows]
    return plan
