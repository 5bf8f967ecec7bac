"""Shapes shared by the benchmarks: a document as the API takes it, the bench's fixed clock."""

from __future__ import annotations

import itertools
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from shared.clock import utc_now
from shared.deadlines import local_date

SHANGHAI = ZoneInfo("Asia/Shanghai")

# Document numbers of documents registered through the API; the seeded catalogue uses 2000–2024.
_serials = itertools.count(1)


def new_document(department: str = "jtj") -> dict[str, Any]:
    return {
        "document_number": f"湖政办发〔2026〕{next(_serials)}号",
        "title": "关于进一步优化营商环境的通知",
        "drafting_department": department,
        # Formed today: the publication deadline cannot pass while the bench runs.
        "formed_on": local_date(utc_now()).isoformat(),
        "subject_words": ["营商环境"],
        "body": "各区县人民政府，市政府各部门：为进一步优化营商环境，现就有关事项通知如下。",
    }


async def register_document(http: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, Any]:
    r = await http.post("/v1/documents", json=new_document(), headers=headers)
    if r.status_code != 201:
        raise RuntimeError(f"registering a document failed: HTTP {r.status_code}: {r.text[:300]}")
    body: dict[str, Any] = r.json()
    return body
