"""Helpers of the disclosure request tests (D7/D8): a request registered by the organ or submitted
by the public, the organ's commands on it, the applicant's look-up."""

from __future__ import annotations

from typing import Any

import httpx

from shared.settings import CommonSettings
from tests.support.disclosure import drafter

APPLICANT = {
    "name": "张三",
    "phone": "13800000000",
    "email": "zhangsan@example.com",
    "address": "湖州市吴兴区某某路1号",
}


def submission(**kw: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "department": "fgw",
        "applicant_type": "natural-person",
        "applicant": dict(APPLICANT),
        "content": "2018年湖州市区老旧小区改造项目的资金安排文件",
    }
    body.update(kw)
    return body


async def received(
    client: httpx.AsyncClient,
    common: CommonSettings,
    on: str,
    *,
    channel: str = "in-person",
    **kw: Any,
) -> dict[str, Any]:
    """A request the organ registers (``fgw`` unless ``department`` says), received ``on`` by
    ``channel``; the organ's view of it, with the access code the registration returned."""
    field = {"in-person": "submitted_on", "post-signed": "signed_for_on"}.get(channel, "confirmed_on")
    body = submission(channel=channel, **{field: on}, **kw)
    headers = organ(common, body["department"])
    r = await client.post("/v1/requests", json=body, headers=headers)
    assert r.status_code == 201, r.text
    receipt = r.json()
    found = await client.get("/v1/requests", headers=headers)
    (item,) = [i for i in found.json()["items"] if i["number"] == receipt["number"]]
    view = await client.get(f"/v1/requests/{item['id']}", headers=headers)
    return {**view.json(), "access_code": receipt["access_code"]}


def organ(common: CommonSettings, department: str = "fgw") -> dict[str, str]:
    """The organ's disclosure office: a department token of that department."""
    return drafter(common, department)


async def act(
    client: httpx.AsyncClient, common: CommonSettings, request: dict[str, Any], step: str, **body: Any
) -> httpx.Response:
    """One of the organ's commands (``extension``, ``completion-notice``, ``answer`` …) on ``request``."""
    return await client.post(f"/v1/requests/{request['id']}/{step}", json=body, headers=organ(common))


async def look_up(client: httpx.AsyncClient, number: str, code: str, **headers: str) -> httpx.Response:
    return await client.get(f"/v1/public/requests/{number}", headers={"X-Access-Code": code, **headers})
