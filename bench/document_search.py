"""5. Public catalogue over 1,000,000 published documents: first page, a deep page, full text.

Seeding (into the running disclosure service's own database, ``documents`` + ``catalogue``, one
``generate_series`` statement): titles come from a small policy vocabulary, "关于" + action +
topic + "和" + topic + "工作的" + document kind, e.g. 关于进一步加强营商环境和垃圾分类工作的实施意见.
A few thousand distinct titles are drawn in Python and each title, its body and every department
name is segmented here with the project's own ``services.disclosure.search.index_text``; the SQL
assembles each row's ``search`` tsvector from those segments exactly as ``_catalogue`` does
(number, title, department short name, department name, body). Only the document number's
segments are built in SQL (``湖 办发 政办发 <year> <serial> 号``, jieba's output for that pattern);
a sample of rows is re-segmented from scratch to check that the tsvectors match.

Then, one request at a time (latency, not throughput), direct to disclosure and through the
gateway, plus the service's own SQL (``catalogue_query``) executed without HTTP:
the first page, a deep page (the cursor of position 50,000, i.e. page 1,001 of 50, built from the
data as the service encodes it), and two Chinese full-text queries (a common and a rarer one).
"""

from __future__ import annotations

import asyncio
import random
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import asyncpg
import httpx
from sqlalchemy import event

from services.disclosure import search
from services.disclosure.service.catalogue import CatalogueFilter, catalogue_query
from services.disclosure.settings import DisclosureSettings
from shared import reference
from shared.db import Database
from shared.pagination import DEFAULT_LIMIT, PageParams, decode_cursor, encode_cursor

from . import wrk
from .cluster import BenchCluster
from .load import sequential
from .seed import secondary_indexes_dropped, timed, tune_for_load
from .stats import BenchResult, CpuMeter, Target, fmt_ratio, latency_summary, ratio, say

NAME = "document_search"
DATABASE = "xn_disclosure"
PREFIX = "湖政办发"
FIRST_YEAR, YEARS = 2000, 25
SLICES = 4

ACTIONS = ["进一步加强", "深入推进", "全面实施", "加快发展", "规范", "切实做好", "扎实推进", "健全完善"]
TOPICS = [
    "营商环境",
    "乡村振兴",
    "生态文明",
    "数字经济",
    "安全生产",
    "交通运输",
    "城市建设",
    "义务教育",
    "医疗卫生",
    "养老服务",
    "招商引资",
    "科技创新",
    "人才引进",
    "污染防治",
    "河长制",
    "垃圾分类",
    "文明城市",
    "最多跑一次改革",
    "政务服务",
    "财政资金",
    "住房保障",
    "农业农村",
    "公共文化",
    "全域旅游",
    "民营企业",
    "小微企业",
    "知识产权",
    "食品安全",
    "应急管理",
    "防汛防台",
    "社会救助",
    "就业创业",
    "美丽乡村",
    "工业园区",
    "物流",
    "水利工程",
    "森林防火",
    "老旧小区",
    "电子商务",
    "国资监管",
]
KINDS = ["通知", "实施意见", "管理办法", "工作方案", "若干意见", "决定", "实施细则", "行动计划"]
BODY_HEAD = "各区县人民政府，市政府各部门、各直属单位："
BODY_TAIL = "已经市政府同意，现印发给你们，请结合实际认真贯彻执行。"

FULL_TEXT = {
    "full text: 营商环境": {"q": "营商环境"},
    "full text: 垃圾分类 应急管理": {"q": "垃圾分类 应急管理"},
    "number prefix: 湖政办发〔2018〕": {"q": "湖政办发〔2018〕"},
    "department + word: jtj 营商环境": {"department": "jtj", "q": "营商环境"},
}


def _titles(count: int) -> dict[str, str]:
    """``count`` distinct titles, each with its first topic as subject word."""
    rng = random.Random(20180510)
    seen: dict[str, str] = {}
    while len(seen) < count:
        a, b = rng.sample(TOPICS, 2)
        seen[f"关于{rng.choice(ACTIONS)}{a}和{b}工作的{rng.choice(KINDS)}"] = a
    return seen


async def _seed(conn: asyncpg.Connection, documents: int) -> None:
    subjects_of = _titles(4000)
    titles, subjects = list(subjects_of), list(subjects_of.values())
    title_segs = [search.index_text(t) for t in titles]
    bodies = [f"{BODY_HEAD}《{t}》{BODY_TAIL}" for t in titles]
    body_segs = [search.index_text(b) for b in bodies]
    departments = reference.evaluable_departments()
    codes = [d.code for d in departments]
    department_segs = [search.index_text(d.short_name, d.name) for d in departments]
    number_head = search.index_text(PREFIX)
    organisation = DisclosureSettings().organisation_code
    per_year = -(-documents // YEARS)
    step_s = int(360 * 86400 / per_year)  # publications spread over each year
    await tune_for_load(conn)
    async with secondary_indexes_dropped(conn, "catalogue"), secondary_indexes_dropped(conn, "documents"):
        await timed(
            conn,
            f"{documents} documents and catalogue entries",
            """
            WITH src AS (
                SELECT 'doc-' || lpad(to_hex(g), 12, '0') AS id,
                       $2::int + (g - 1) % $3::int AS y, (g - 1) / $3::int + 1 AS s,
                       1 + (g::bigint * 7919) % cardinality($4::text[]) AS t,
                       1 + g % cardinality($7::text[]) AS d
                FROM generate_series(1, $1::int) AS g
            ), doc AS (
                SELECT src.*, $11::text || '〔' || y || '〕' || s || '号' AS number,
                       make_timestamptz(y, 1, 2, 9, 0, 0, 'Asia/Shanghai')
                         + make_interval(secs => (s - 1) * $10::int) AS pub
                FROM src
            ), ins AS (
                INSERT INTO documents (id, document_number, title, drafting_department, current_version,
                    registered_by, created_at, index_number, index_year, index_serial, issuing_organ)
                SELECT id, number, ($4::text[])[t], ($7::text[])[d], 1, 'bench-office',
                       pub - interval '2 days', $9::text || '/' || y || '-' || lpad(s::text, 5, '0'), y, s,
                       'government-office'
                FROM doc
            )
            INSERT INTO catalogue (document_id, version, index_number, document_number, number_prefix,
                number_year, number_serial, title, issuing_organ, department, formed_on, year, subject_words,
                disclosure_mode, scope, validity, body, attachments, url, published_at, search)
            SELECT id, 1, $9::text || '/' || y || '-' || lpad(s::text, 5, '0'), number, $11, y, s,
                   ($4::text[])[t],
                   'government-office', ($7::text[])[d], (pub AT TIME ZONE 'Asia/Shanghai')::date - 2, y,
                   ARRAY[($14::text[])[t]], 'proactive', '面向社会',
                   CASE WHEN s % 10 = 0 THEN 'expired' ELSE 'valid' END, ($6::text[])[t], '[]'::jsonb,
                   'https://www.huzhou.gov.cn/art/' || y || '/' || s || '.html', pub,
                   to_tsvector('simple', concat_ws(' ', $12::text, y::text, s::text, '号', ($5::text[])[t],
                                                   ($8::text[])[d], ($13::text[])[t]))
            FROM doc
            """,
            documents,
            FIRST_YEAR,
            YEARS,
            titles,
            title_segs,
            bodies,
            codes,
            department_segs,
            organisation,
            step_s,
            PREFIX,
            number_head,
            body_segs,
            subjects,
        )
    await timed(conn, "ANALYZE", "ANALYZE documents; ANALYZE catalogue")


async def _check_segments(conn: asyncpg.Connection, sample: int = 200) -> tuple[int, int]:
    """Re-segment a sample from scratch as ``_catalogue`` does; how many tsvectors are identical."""
    rows = await conn.fetch(
        "SELECT document_number, title, department, body, search::text AS search FROM catalogue "
        "TABLESAMPLE SYSTEM (1) LIMIT $1",
        sample,
    )
    same = 0
    for r in rows:
        d = reference.department(r["department"])
        text = search.index_text(r["document_number"], r["title"], d.short_name, d.name, r["body"])
        expected = await conn.fetchval("SELECT to_tsvector('simple', $1)::text", text)
        same += expected == r["search"]
    return same, len(rows)


async def _deep_cursor(conn: asyncpg.Connection, position: int) -> str:
    row = await conn.fetchrow(
        "SELECT published_at, document_id FROM catalogue ORDER BY published_at DESC, document_id DESC "
        "OFFSET $1 LIMIT 1",
        position - 1,
    )
    published_at: datetime = row["published_at"].astimezone(UTC)
    return encode_cursor([published_at.isoformat(), row["document_id"]])


async def _check_cursor(cluster: BenchCluster, conn: asyncpg.Connection) -> None:
    """The built cursor must be the one the service hands out (checked at the end of page 1)."""
    async with httpx.AsyncClient(base_url=cluster.url("disclosure"), timeout=30) as http:
        served = (await http.get("/v1/catalogue")).json()["next_cursor"]
    built = await _deep_cursor(conn, DEFAULT_LIMIT)
    if served != built:
        raise RuntimeError(f"cursor built as {built!r} but the service serves {served!r}")


async def _sql_latencies(db: Database, params: dict[str, Any], count: int) -> list[float]:
    page = PageParams(limit=DEFAULT_LIMIT, cursor=None)
    if "cursor" in params:
        page = PageParams(limit=DEFAULT_LIMIT, cursor=decode_cursor(params["cursor"]))
    filters = CatalogueFilter(q=params.get("q"), department=params.get("department"))
    query = await catalogue_query(filters, page)
    out: list[float] = []
    async with db.reader() as session:
        for n in range(count + 5):
            started = time.perf_counter()
            rows = (await session.execute(query)).all()
            if n >= 5:
                out.append(time.perf_counter() - started)
        if not rows:
            raise RuntimeError(f"{params}: no rows")
    return out


async def _explain(db: Database, conn: asyncpg.Connection, params: dict[str, Any]) -> list[str]:
    """EXPLAIN ANALYZE the query exactly as the service's engine sends it (captured on the way)."""
    captured: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if "FROM catalogue" in statement and not captured:
            captured.append((statement, parameters))

    event.listen(db.engine.sync_engine, "before_cursor_execute", capture)
    try:
        await _sql_latencies(db, params, 1)
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", capture)
    statement, parameters = captured[0]
    return [str(r[0]) for r in await conn.fetch(f"EXPLAIN (ANALYZE, BUFFERS) {statement}", *parameters)]


def _plan_summary(plan: list[str]) -> str:
    """The plan's scan nodes, one line: enough to see which index answers the query."""
    scans = [line.strip().removeprefix("->  ").split("  (cost")[0] for line in plan if "Scan" in line]
    total = next((line for line in plan if line.startswith("Execution Time")), "")
    return "; ".join(scans) + (f" ({total})" if total else "")


async def run(cluster: BenchCluster, *, quick: bool) -> BenchResult:
    documents = 100_000 if quick else 1_000_000
    count = 30 if quick else 200
    position = 50_000 if not quick else 5_000
    conn = await cluster.connect(DATABASE)
    db = Database(cluster.pg.url_for(DATABASE))
    try:
        say(f"{NAME}: seeding {documents} published documents")
        started = time.perf_counter()
        await _seed(conn, documents)
        seed_s = time.perf_counter() - started
        same, sampled = await _check_segments(conn)
        say(
            f"{NAME}: seeded in {seed_s:.0f} s; {same}/{sampled} sampled tsvectors equal a fresh segmentation"
        )
        deep = f"deep page (position {position:,})"
        queries: dict[str, dict[str, str]] = {
            "first page": {},
            deep: {"cursor": await _deep_cursor(conn, position)},
            **FULL_TEXT,
        }
        await _check_cursor(cluster, conn)
        figures: dict[str, Any] = {}
        targets: list[Target] = []
        wrk_s = 2.0 if quick else 8.0
        plans: dict[str, str] = {}
        rows: list[list[Any]] = []
        matches = {
            label: await conn.fetchval(
                "SELECT count(*) FROM catalogue WHERE search @@ plainto_tsquery('simple', $1)",
                " ".join(search.query_words(params["q"])),
            )
            for label, params in queries.items()
            if label.startswith("full text")
        }
        with CpuMeter() as cpu:
            for label in queries:
                params = queries[label]
                qs = f"?{urlencode(params)}" if params else ""
                say(
                    f"{NAME}: {label}: {count} requests each SQL, direct, gateway "
                    f"in {SLICES} alternating slices"
                )
                samples: dict[str, list[float]] = {"sql": [], "direct": [], "gateway": []}
                per_slice = max(1, count // SLICES)
                for n in range(SLICES):
                    # Rotate the order, so drift on a shared machine hits every path alike.
                    paths = ["sql", "direct", "gateway"]
                    for path in paths[n % 3 :] + paths[: n % 3]:
                        if path == "sql":
                            part = await _sql_latencies(db, params, per_slice)
                        elif path == "direct":
                            part = await sequential(
                                cluster.url("disclosure"), f"/v1/catalogue{qs}", count=per_slice
                            )
                        else:
                            part = await sequential(
                                cluster.gateway, f"/api/v1/disclosure/catalogue{qs}", count=per_slice
                            )
                        samples[path] += part
                sql, direct, gateway = (latency_summary(samples[k]) for k in ("sql", "direct", "gateway"))
                level = {
                    "gateway_over_direct_p50": ratio(gateway["p50_ms"], direct["p50_ms"]),
                    "gateway_over_direct_p99": ratio(gateway["p99_ms"], direct["p99_ms"]),
                    "direct_over_sql_p50": ratio(direct["p50_ms"], sql["p50_ms"]),
                }
                loaded = await asyncio.to_thread(
                    wrk.run, f"{cluster.url('disclosure')}/v1/catalogue{qs}", connections=8, duration_s=wrk_s
                )
                plan = await _explain(db, conn, params)
                figures[label] = {
                    "sql": sql,
                    "direct": direct,
                    "gateway": gateway,
                    "direct_c8": loaded.as_json(),
                    "ratios": level,
                    "plan": plan,
                }
                targets.append(Target(f"catalogue {label}: p99 at c=8", loaded.p99_ms, 50, False, " ms"))
                plans[label] = _plan_summary(plan)
                if label in matches:
                    figures[label]["matching_documents"] = matches[label]
                rows.append(
                    [
                        label,
                        f"{sql['p50_ms']:.1f} / {sql['p99_ms']:.1f}",
                        f"{direct['p50_ms']:.1f} / {direct['p99_ms']:.1f}",
                        f"{gateway['p50_ms']:.1f} / {gateway['p99_ms']:.1f}",
                        fmt_ratio(level["gateway_over_direct_p50"]),
                        fmt_ratio(level["gateway_over_direct_p99"]),
                        fmt_ratio(level["direct_over_sql_p50"]),
                        f"{loaded.requests_per_s:.0f} / {loaded.p99_ms:.1f}",
                    ]
                )
    finally:
        await db.dispose()
        await conn.close()
    return BenchResult(
        name=NAME,
        title=f"public catalogue over {documents:,} published documents (page of {DEFAULT_LIMIT})",
        headers=[
            "query",
            "SQL p50/p99 ms",
            "direct p50/p99 ms",
            "gateway p50/p99 ms",
            "gw/direct p50",
            "gw/direct p99",
            "direct/SQL p50",
            "c=8 req/s / p99 ms",
        ],
        rows=rows,
        notes=[
            f"{count} sequential requests per query and path, in {SLICES} alternating slices each after 5 "
            "warm-up requests; one keep-alive connection; no token (public reads); then wrk at c=8 for "
            f"{wrk_s:.0f} s direct (the last column and the targets)",
            "SQL = the service's own catalogue_query executed through its SQLAlchemy engine, no HTTP",
            f"deep page: the cursor of position {position:,} (page {position // DEFAULT_LIMIT + 1:,}) "
            "built from the data as the service encodes it; keyset pagination, so depth costs nothing",
            "matching documents: " + ", ".join(f"{k.split(': ')[1]} {v:,}" for k, v in matches.items()),
            "plans (EXPLAIN ANALYZE of the service's statement, scan nodes):",
            *[f"    {label}: {summary}" for label, summary in plans.items()],
            f"seeded in {seed_s:.0f} s with one generate_series statement; tsvectors from the project's "
            f"jieba segmentation, {same}/{sampled} sampled rows identical to a fresh index_text",
        ],
        figures=figures,
        ratios={label: f["ratios"] for label, f in figures.items()},
        parameters={
            "documents": documents,
            "requests_per_query": count,
            "page_limit": DEFAULT_LIMIT,
            "deep_position": position,
            "distinct_titles": 4000,
            "seed_s": round(seed_s, 1),
        },
        load_generator_cpu=cpu.as_json(),
        targets=targets,
    )
