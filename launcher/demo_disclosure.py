"""Demo data for disclosure (D1–D3): a year of the city's documents, registered by the office as
the paper records of the twelve months up to today say.

Two documents a month from departments other than the demo department fgw (whose facts stay the
two 2018 demo documents'): most published on the portal within the limit, every fifth one late,
three never published (the sweeper finds them overdue), two withheld on the privacy ground with
the vice-mayor's paper sign-off entered by the office (补录, ``decided_at``/``signed_by``), and one
formed two days ago, still within its limit. A document already registered (409 on its number) is
left as it is, so a second start adds nothing.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

import httpx

from launcher.demo_api import send, token
from shared import reference
from shared.deadlines import SHANGHAI

API = "/api/v1/disclosure"
PORTAL = "https://www.huzhou.gov.cn/art/{day:%Y/%-m/%-d}/art_1229_{n}.html"
PRIVACY = {"ground": "personal-privacy", "reason": "附件含有征迁户的身份证号码和住址，公开将泄露个人隐私。"}
DRAFTERS = ["jsj", "jtj", "swj", "hbj", "czj", "kjj", "jxw", "nyj", "wjj", "jyj", "scjgj", "gtj"]
TITLES = [
    "关于推进城市有机更新的实施意见",
    "关于加快综合交通枢纽建设的通知",
    "关于促进外贸稳增长的若干措施",
    "关于深化大气污染防治的实施方案",
    "关于进一步规范财政专项资金管理的通知",
    "关于支持科技企业孵化器发展的意见",
    "关于做好高校毕业生就业创业工作的通知",
    "关于加快发展现代生态农业的实施意见",
    "关于推进分级诊疗制度建设的通知",
    "关于加强中小学校园安全工作的意见",
    "关于开展食品安全放心工程建设的通知",
    "关于加强耕地保护和节约集约用地的通知",
]
LATE_EVERY = 5
OVERDUE = (3, 10, 17)
"""Never published: past their limit, the sweeper announces them overdue (D3)."""
EXEMPT = (6, 13)
"""Withheld, the vice-mayor's sign-off on paper two days after formation (D2)."""


def months(today: date) -> list[date]:
    """The first day of each of the twelve months up to today's, oldest first."""
    first = today.replace(day=1)
    months = []
    for back in range(11, -1, -1):
        year, month = divmod(first.year * 12 + first.month - 1 - back, 12)
        months.append(date(year, month + 1, 1))
    return months


def _instant(day: date, hour: int = 10) -> str:
    return datetime.combine(day, time(hour), SHANGHAI).isoformat()


def plan(today: date) -> list[dict[str, Any]]:
    """The year's documents: each a registration body and its fate (published on time or late,
    left unpublished, exempt, or within its limit)."""
    formed = [m.replace(day=d) for m in months(today) for d in (5, 18)]
    formed = [f for f in formed if f <= today - timedelta(days=12)] + [today - timedelta(days=2)]
    documents = []
    for n, day in enumerate(formed):
        body: dict[str, Any] = {
            "document_number": f"湖政办发〔{day.year}〕{day.month * 10 + day.day // 10 + 1}号",
            "title": TITLES[n % len(TITLES)],
            "drafting_department": DRAFTERS[n % len(DRAFTERS)],
            "formed_on": day.isoformat(),
            "subject_words": ["行政效能"],
        }
        if n == len(formed) - 1:
            fate = "within-limit"
        elif n in OVERDUE:
            fate = "overdue"
        elif n in EXEMPT:
            fate = "exempt"
            body |= {"disclosure_mode": "withheld", "exemption": PRIVACY}
        else:
            fate = "late" if n % LATE_EVERY == LATE_EVERY - 1 else "on-time"
        documents.append({"body": body, "fate": fate})
    return documents


async def seed(http: httpx.AsyncClient, today: date) -> None:
    """Register the year's documents and give each its fate, once per document number."""
    office = await token(http, "demo-office")
    for n, doc in enumerate(plan(today)):
        body = doc["body"]
        r = await http.post(f"{API}/documents", json=body, headers=office)
        if r.status_code != 201:
            continue  # registered by an earlier start (409), or refused (the next step would be too)
        url = f"{API}/documents/{r.json()['id']}/versions/1"
        formed = date.fromisoformat(body["formed_on"])
        if doc["fate"] in ("on-time", "late"):
            day = formed + timedelta(days=16 if doc["fate"] == "late" else 3 + n % 4)
            publication = {"url": PORTAL.format(day=day, n=3000 + n), "published_at": _instant(day)}
            await send(http, "POST", f"{url}/publication", office, publication)
        elif doc["fate"] == "exempt":
            leader = reference.department(body["drafting_department"]).vice_mayor
            decision = {
                "granted": True,
                "decided_at": _instant(formed + timedelta(days=2), 16),
                "signed_by": leader,
            }
            await send(http, "POST", f"{url}/exemption/decision", office, decision)
