"""Requests the API fuzzer (tests/e2e/test_gateway_schemathesis.py) found answered with a 500.

U+0000 cannot be stored in PostgreSQL text: in a body field, a query parameter or the path it is
refused with a 422 that names the field, and nothing is registered (D1, D5). A statistics period
whose year has no calendar neighbour is an invalid period (D3), not a crash. Control characters
XML cannot hold, stored in a title, are left out of the Atom feed, which stays well-formed (D5).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from xml.etree import ElementTree as ET

import pytest

from shared.settings import CommonSettings
from tests.support.disclosure import IN_CHARGE, disclosure, drafter, leader, office, payload, publish
from tests.support.infra import PostgresSource

PROBLEM = "application/problem+json"


async def test_D1_a_document_with_a_nul_character_is_refused_and_not_registered(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    async with disclosure(postgres, common) as (client, _):
        body = payload(title="关于\x00加强行政效能建设的通知", subject_words=["效能", "营\x00商"])
        r = await client.post("/v1/documents", json=body, headers=drafter(common))
        assert r.status_code == 422, r.text
        assert r.headers["content-type"] == PROBLEM
        assert r.json()["type"] == "/problems/validation-error"
        assert r.json()["errors"][0]["field"] == "title"
        listed = await client.get("/v1/documents", headers=office(common))
        assert listed.json()["items"] == []
        # Without it, the same document registers.
        body["title"], body["subject_words"] = "关于加强行政效能建设的通知", ["效能"]
        assert (await client.post("/v1/documents", json=body, headers=drafter(common))).status_code == 201


async def test_D5_a_nul_character_in_a_query_or_the_path_is_a_422_naming_it(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    async with disclosure(postgres, common) as (client, _):
        for url, params, field in (
            ("/v1/catalogue", {"subject": "营\x00商"}, "subject"),
            ("/v1/catalogue", {"q": "a\x00"}, "q"),
            ("/v1/documents", {"department": "fgw\x00"}, "department"),
            ("/v1/catalogue/doc-%00", {}, "path"),
        ):
            r = await client.get(url, params=params, headers=office(common))
            assert r.status_code == 422, (url, r.text)
            assert r.headers["content-type"] == PROBLEM
            assert r.json()["errors"][0]["field"] == field


async def test_D3_statistics_for_a_period_without_calendar_neighbours_is_422(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    async with disclosure(postgres, common) as (client, _):
        for period in ("0000", "0001", "9999-Q4", "0000-01"):
            r = await client.get("/v1/statistics", params={"period": period}, headers=office(common))
            assert r.status_code == 422, (period, r.text)
            assert r.json()["type"] == "/problems/invalid-period"
        assert (
            await client.get("/v1/statistics", params={"period": "2018-Q2"}, headers=office(common))
        ).status_code == 200


@pytest.mark.parametrize(
    ("path", "body", "who", "field"),
    [
        # A version number beyond a stored integer.
        pytest.param(
            "versions/99999999999/exemption/decision",
            {"granted": True},
            lambda common: leader(common, IN_CHARGE),
            "version",
            id="version-beyond-integer",
        ),
        # A publication instant outside the calendar.
        pytest.param(
            "versions/1/publication",
            {"url": "https://www.huzhou.gov.cn/a.html", "published_at": "0001-01-01T00:00:00+14:00"},
            office,
            "published_at",
            id="publication-instant-outside-calendar",
        ),
    ],
)
async def test_D1_a_value_out_of_range_in_a_version_request_is_422(
    postgres: PostgresSource,
    common: CommonSettings,
    path: str,
    body: dict[str, Any],
    who: Callable[[CommonSettings], dict[str, str]],
    field: str,
) -> None:
    async with disclosure(postgres, common) as (client, _):
        doc = (await client.post("/v1/documents", json=payload(), headers=drafter(common))).json()
        r = await client.post(f"/v1/documents/{doc['id']}/{path}", json=body, headers=who(common))
        assert r.status_code == 422, r.text
        assert r.json()["errors"][0]["field"] == field


async def test_D5_the_atom_feed_stays_well_formed_with_control_characters_in_stored_text(
    postgres: PostgresSource, common: CommonSettings
) -> None:
    async with disclosure(postgres, common) as (client, _):
        body = payload(title="关于\x01加强行政效能建设的通知", subject_words=["效\x02能"])
        doc = (await client.post("/v1/documents", json=body, headers=drafter(common))).json()
        assert (await publish(client, common, doc["id"], 1, "2018-06-15 10:00:00")).status_code == 201
        r = await client.get("/v1/catalogue/feed.atom")
        assert r.status_code == 200
        entry = ET.fromstring(r.content).find("{http://www.w3.org/2005/Atom}entry")
        assert entry is not None
        assert entry.findtext("{http://www.w3.org/2005/Atom}title") == "关于加强行政效能建设的通知"
        assert [c.get("term") for c in entry.findall("{http://www.w3.org/2005/Atom}category")] == ["效能"]
