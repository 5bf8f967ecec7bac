"""D5: a full-text page is the newest matching documents, found in two bounded steps (the newest
rows after the cursor in date order, then, for rare words, the GIN index). Both steps, and the
hand-over between them, must give exactly the documents and order a plain search gives."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import text

from services.disclosure.service import catalogue
from services.disclosure.service.catalogue import CatalogueFilter, catalogue_query
from shared.pagination import PageParams
from shared.settings import CommonSettings
from tests.support.disclosure import disclosure, publish, register
from tests.support.infra import PostgresSource

# Published on 2020-03-0<n>, n = position + 1: the newest is last.
TITLES: list[tuple[str, str, str]] = [
    ("optimise", "关于优化营商环境的通知", "fgw"),
    ("safety", "关于加强安全生产的通知", "fgw"),
    ("assess", "关于营商环境评价的实施意见", "fgw"),
    ("waste", "关于推进垃圾分类的通知", "fgw"),
    ("measures", "关于改善营商环境的若干措施", "jtj"),
    ("emergency", "关于做好应急管理工作的通知", "fgw"),
    ("decision", "关于持续优化营商环境的决定", "fgw"),
    ("flood", "关于开展防汛防台工作的通知", "fgw"),
]


async def seed(client: httpx.AsyncClient, common: CommonSettings) -> dict[str, str]:
    ids: dict[str, str] = {}
    for n, (name, title, department) in enumerate(TITLES, start=1):
        doc = await register(
            client, common, title=title, drafting_department=department, formed_on="2020-03-01", body=""
        )
        r = await publish(client, common, doc["id"], 1, f"2020-03-0{n} 10:00:00")
        assert r.status_code == 201, r.text
        ids[name] = doc["id"]
    return ids


async def every_page(client: httpx.AsyncClient, ids: dict[str, str], **params: Any) -> list[str]:
    """The names of all documents a public query returns, following next_cursor page by page."""
    names = {v: k for k, v in ids.items()}
    seen: list[str] = []
    while True:
        r = await client.get("/v1/catalogue", params=params)
        assert r.status_code == 200, r.text
        page = r.json()
        assert len(page["items"]) <= params["limit"]
        seen.extend(names[i["id"]] for i in page["items"])
        if page["next_cursor"] is None:
            return seen
        params = {**params, "cursor": page["next_cursor"]}


@pytest.mark.parametrize("window", [1, 2, 3, 5000])
async def test_D5_full_text_pages_are_the_newest_matches_whatever_the_recent_window(
    postgres: PostgresSource, common: CommonSettings, monkeypatch: pytest.MonkeyPatch, window: int
) -> None:
    # A small window makes a few documents behave like a large catalogue: pages are filled from
    # the newest rows, from older matches found by the index, or from both.
    monkeypatch.setattr(catalogue, "RECENT_WINDOW", window)
    async with disclosure(postgres, common) as (client, _):
        ids = await seed(client, common)
        phrase = ["decision", "measures", "assess", "optimise"]
        for limit in (1, 2, 3, 50):
            assert await every_page(client, ids, q="营商环境", limit=limit) == phrase
            assert await every_page(client, ids, q="营商", limit=limit) == phrase, "a sub-word finds it"
            assert await every_page(client, ids, q="环境", limit=limit) == phrase
            assert await every_page(client, ids, q="优化营商环境", limit=limit) == ["decision", "optimise"]
            assert await every_page(client, ids, q="垃圾分类", limit=limit) == ["waste"]
            assert await every_page(client, ids, q="应急管理 通知", limit=limit) == ["emergency"]
            assert await every_page(client, ids, q="营商环境", department="fgw", limit=limit) == [
                "decision",
                "assess",
                "optimise",
            ]
            assert await every_page(client, ids, q="乡村振兴", limit=limit) == []


async def plan(app: Any, f: CatalogueFilter, limit: int) -> str:
    query = await catalogue_query(f, PageParams(limit=limit, cursor=None))
    async with app.state.ctx.db.reader() as session:
        compiled = query.compile(dialect=session.dialect, compile_kwargs={"literal_binds": True})
        rows = await session.execute(text(f"EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) {compiled}"))
        return "\n".join(r[0] for r in rows)


def older_step(explained: str) -> str:
    """The plan line of the scan of the older matches (the second step)."""
    return next(line for line in explained.splitlines() if "CTE Scan on older" in line)


async def test_D5_common_words_are_served_from_the_newest_rows_without_touching_the_index(
    postgres: PostgresSource, common: CommonSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(catalogue, "RECENT_WINDOW", 3)
    async with disclosure(postgres, common) as (client, app):
        await seed(client, common)
        # The newest three rows hold a match: the page is full, the second step never runs.
        common_words = await plan(app, CatalogueFilter(q="营商环境"), limit=0)
        assert "Index Scan Backward using ix_catalogue_published" in common_words
        assert "never executed" in older_step(common_words), common_words
        # They hold none of these: the older matches come from the full-text index.
        rare_words = await plan(app, CatalogueFilter(q="垃圾分类"), limit=0)
        assert "never executed" not in older_step(rare_words), rare_words
