"""D5: anyone, without a token, lists, filters, searches (Chinese full text, document numbers) and
reads the published documents, and follows the latest publications as an Atom feed."""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree as ET

import httpx
from sqlalchemy import text

from services.disclosure.service.catalogue import CatalogueFilter, catalogue_query
from services.disclosure.sweeper import mark_overdue
from shared.pagination import PageParams
from shared.settings import CommonSettings
from tests.support.clock import at
from tests.support.disclosure import PRIVACY, change, decision_url, disclosure, leader, publish, register
from tests.support.infra import PostgresSource

ATOM = "{http://www.w3.org/2005/Atom}"

DOCUMENTS: dict[str, dict[str, Any]] = {
    "business": {
        "document_number": "湖政办发〔2018〕12号",
        "title": "关于进一步优化营商环境的通知",
        "drafting_department": "fgw",
        "formed_on": "2018-06-14",
        "subject_words": ["营商环境", "改革"],
        "body": "为深化“最多跑一次”改革，持续优化营商环境，现就有关事项通知如下。",
    },
    "transport": {
        "document_number": "湖政办发〔2018〕35号",
        "title": "关于加强交通运输安全管理的通知",
        "drafting_department": "jtj",
        "formed_on": "2018-06-15",
        "subject_words": ["交通"],
        "validity": "expired",
        "body": "2018年以来，全市道路运输安全形势总体平稳。",
    },
    "trade": {
        "document_number": "湖政发〔2018〕7号",
        "title": "湖州市人民政府关于促进外贸稳定增长的意见",
        "drafting_department": "swj",
        "formed_on": "2018-06-15",
        "subject_words": ["外贸"],
        "body": "营造良好的商务环境，支持企业开拓国际市场。",
    },
    "tasks": {
        "document_number": "湖政办发〔2019〕3号",
        "title": "关于印发2019年政务公开工作要点的通知",
        "drafting_department": "fgw",
        "formed_on": "2019-03-01",
        "subject_words": ["政务公开"],
        "body": "根据湖政办发〔2018〕12号文件精神，结合我市实际，制定本要点。",
    },
}
PUBLISHED_AT = {
    "business": "2018-06-20 10:00:00",
    "transport": "2018-06-21 10:00:00",
    "trade": "2018-06-22 10:00:00",
    "tasks": "2019-03-05 10:00:00",
}


async def seed(client: httpx.AsyncClient, common: CommonSettings) -> dict[str, str]:
    """The four published documents above, an unpublished one and an exempt one; names → ids."""
    ids = {}
    for name, body in DOCUMENTS.items():
        doc = await register(client, common, **body)
        r = await publish(client, common, doc["id"], 1, PUBLISHED_AT[name])
        assert r.status_code == 201, r.text
        ids[name] = doc["id"]
    draft = await register(client, common, title="关于营商环境评价的通知（未公开）", formed_on="2018-06-18")
    ids["unpublished"] = draft["id"]
    secret = await register(
        client,
        common,
        title="营商环境专项督查问题清单",
        formed_on="2018-06-18",
        disclosure_mode="withheld",
        exemption=PRIVACY,
    )
    r = await client.post(
        decision_url(secret), json={"granted": True}, headers=leader(common, "vm-executive")
    )
    assert r.status_code == 201
    ids["exempt"] = secret["id"]
    return ids


async def found(client: httpx.AsyncClient, ids: dict[str, str], **params: Any) -> list[str]:
    """The names of the documents a public query returns, in the order returned."""
    r = await client.get("/v1/catalogue", params=params)
    assert r.status_code == 200, r.text
    names = {v: k for k, v in ids.items()}
    return [names[item["id"]] for item in r.json()["items"]]


async def test_D5_public_search_finds_chinese_words_document_numbers_and_departments(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    async with disclosure(postgres, common) as (client, _):
        ids = await seed(client, common)
        assert await found(client, ids) == ["tasks", "trade", "transport", "business"]
        assert await found(client, ids, q="营商环境") == ["business"]
        assert await found(client, ids, q="政务公开 工作要点") == ["tasks"]
        assert await found(client, ids, q="道路运输") == ["transport"], "body text is searched"
        assert await found(client, ids, q="湖政办发〔2018〕") == ["transport", "business"]
        assert await found(client, ids, q="湖政办发〔2018〕12号") == ["business"]
        assert await found(client, ids, q="湖政办发[2018]35号") == ["transport"], "brackets as typed"
        assert await found(client, ids, q="〔2018〕7号") == ["trade"]
        assert await found(client, ids, q="湖政发（2018）") == ["trade"]
        assert await found(client, ids, q="市发改委") == ["tasks", "business"]
        assert await found(client, ids, q="营商环境", department="jtj") == []
        assert await found(client, ids, q="国家秘密") == []


async def test_D5_public_list_filters_by_department_year_subject_validity_and_mode(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    async with disclosure(postgres, common) as (client, _):
        ids = await seed(client, common)
        assert await found(client, ids, department="fgw") == ["tasks", "business"]
        assert await found(client, ids, year=2019) == ["tasks"]
        assert await found(client, ids, year=2018, department="fgw") == ["business"]
        assert await found(client, ids, subject="交通") == ["transport"]
        assert await found(client, ids, validity="expired") == ["transport"]
        assert await found(client, ids, mode="proactive") == ["tasks", "trade", "transport", "business"]
        assert await found(client, ids, mode="withheld") == []

        r = await client.get("/v1/catalogue", params={"department": "nope"})
        assert r.status_code == 422 and r.json()["type"] == "/problems/unknown-department"
        r = await client.get("/v1/catalogue", params={"q": "〔〕，。"})
        assert (
            r.status_code == 422 and r.json()["type"] == "/problems/empty-query" and r.json()["field"] == "q"
        )
        r = await client.get("/v1/catalogue", params={"mode": "secret"})
        assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"


async def test_D5_public_list_is_cursor_paginated_newest_first(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    async with disclosure(postgres, common) as (client, _):
        ids = await seed(client, common)
        names = {v: k for k, v in ids.items()}
        seen: list[str] = []
        params: dict[str, Any] = {"limit": 3}
        while True:
            r = await client.get("/v1/catalogue", params=params)
            page = r.json()
            seen.extend(names[i["id"]] for i in page["items"])
            if page["next_cursor"] is None:
                assert "link" not in r.headers
                break
            assert 'rel="next"' in r.headers["link"]
            params["cursor"] = page["next_cursor"]
        assert seen == ["tasks", "trade", "transport", "business"]
        r = await client.get("/v1/catalogue", params={"cursor": "not-a-cursor"})
        assert r.status_code == 400 and r.json()["type"] == "/problems/invalid-cursor"


async def test_D5_anyone_reads_a_published_document_and_nothing_unpublished(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    async with disclosure(postgres, common) as (client, app):
        ids = await seed(client, common)
        r = await client.get(f"/v1/catalogue/{ids['business']}")
        assert r.status_code == 200
        doc = r.json()
        assert doc["document_number"] == "湖政办发〔2018〕12号"
        assert doc["index_number"].startswith("330500000/2018-")
        assert doc["issuing_organ_name"] == "市政府办公室" and doc["department_name"] == "市发改委"
        assert doc["disclosure_mode_name"] == "主动公开" and doc["validity_name"] == "有效"
        assert doc["scope"] == "面向社会" and doc["subject_words"] == ["营商环境", "改革"]
        assert doc["body"].startswith("为深化") and doc["published_at"] == "2018-06-20T10:00:00+08:00"
        for name in ("unpublished", "exempt"):
            r = await client.get(f"/v1/catalogue/{ids[name]}")
            assert r.status_code == 404 and r.json()["type"] == "/problems/document-not-found"

        # A change is public only once it is published; until then the published version stays.
        r = await change(
            client, common, ids["business"], "2018-07-02", title="关于进一步优化营商环境的通知（修订）"
        )
        assert r.status_code == 201
        assert (await client.get(f"/v1/catalogue/{ids['business']}")).json()["version"] == 1
        await mark_overdue(app.state.ctx, at("2018-07-01 00:00:00"))
        r = await publish(client, common, ids["business"], 2, "2018-07-03 09:00:00")
        assert r.status_code == 201
        revised = (await client.get(f"/v1/catalogue/{ids['business']}")).json()
        assert revised["version"] == 2 and revised["title"].endswith("（修订）")
        assert await found(client, ids, q="修订") == ["business"]


async def test_D5_atom_feed_lists_the_latest_publications(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    async with disclosure(postgres, common) as (client, _):
        empty = await client.get("/v1/catalogue/feed.atom")
        assert empty.status_code == 200 and ET.fromstring(empty.content).findall(f"{ATOM}entry") == []
        ids = await seed(client, common)
        r = await client.get("/v1/catalogue/feed.atom", params={"limit": 2})
        assert r.status_code == 200 and r.headers["content-type"].startswith("application/atom+xml")
        feed = ET.fromstring(r.content)
        assert feed.tag == f"{ATOM}feed"
        assert feed.findtext(f"{ATOM}updated") == "2019-03-05T10:00:00+08:00"
        entries = feed.findall(f"{ATOM}entry")
        assert [e.findtext(f"{ATOM}title") for e in entries] == [
            DOCUMENTS["tasks"]["title"],
            DOCUMENTS["trade"]["title"],
        ]
        first = entries[0]
        assert first.findtext(f"{ATOM}id") == f"urn:xiaoneng:document:{ids['tasks']}:v1"
        assert first.find(f"{ATOM}link").get("href").startswith("https://")  # type: ignore[union-attr]
        assert first.findtext(f"{ATOM}author/{ATOM}name") == "市政府办公室"
        assert "湖政办发〔2019〕3号" in (first.findtext(f"{ATOM}summary") or "")
        assert [c.get("term") for c in first.findall(f"{ATOM}category")] == ["政务公开"]


async def test_D5_public_list_queries_are_served_by_indexes(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    async with disclosure(postgres, common) as (client, app):
        await seed(client, common)
        page = PageParams(limit=20, cursor=None)
        cases = {
            "ix_catalogue_published": CatalogueFilter(),
            "ix_catalogue_department": CatalogueFilter(department="fgw"),
            "ix_catalogue_year": CatalogueFilter(year=2018),
            "ix_catalogue_search": CatalogueFilter(q="营商环境"),
            "ix_catalogue_number": CatalogueFilter(q="湖政办发〔2018〕12号"),
            "ix_catalogue_subjects": CatalogueFilter(subject="交通"),
        }
        async with app.state.ctx.db.transaction() as session:
            # A handful of rows would be scanned sequentially; forbid that to see which index serves.
            await session.execute(text("SET LOCAL enable_seqscan = off"))
            for index, filters in cases.items():
                query = await catalogue_query(filters, page)
                compiled = query.compile(
                    dialect=session.get_bind().dialect, compile_kwargs={"literal_binds": True}
                )
                sql = str(compiled)
                plan = "\n".join(r[0] for r in await session.execute(text(f"EXPLAIN {sql}")))
                assert index in plan, f"{filters}: {plan}"
