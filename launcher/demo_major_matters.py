"""Demo data for the major matters (C8): this year's list of 55 matters in every state, once.

Listed today through the gateway by the office: most matters are on plan (milestones ahead), every
seventh has a milestone already past (the sweeper announces it behind), and three of jsj's go
further, jsj's steps taken by the demo administrator (admin acts for any department): one with its
close-off requested, one closed off (销号), one whose request the office refused. In the year's last
month the closed-off one is also scored. No matter involves fgw, whose demo facts stay the
documents'.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta
from typing import Any

import httpx

from launcher.demo_api import Headers, token
from services.coordination.domain import year_end
from shared import reference
from shared.clock import utc_now
from shared.deadlines import local_date

log = logging.getLogger("xiaoneng.demo")

MATTERS = 55
"""000 §五: 55件重大事项."""
DEMO_LEAD = "jsj"
"""The lead department whose matters go through close-off; its steps are taken by ``demo-admin``."""
LEFT_OUT = "fgw"
"""The demo department: its facts are the demo documents' only."""
BEHIND_EVERY = 7
"""Every seventh matter has a milestone already past when listed."""


def _matter(number: int, lead: reference.Department, other: str, today: date, behind: bool) -> dict[str, Any]:
    year_start = date(today.year, 1, 1)
    first = max(year_start, today - timedelta(days=3)) if behind else today + timedelta(days=20)
    return {
        "number": number,
        "title": f"{lead.short_name}牵头重大事项（演示 {number}）",
        "task": "按年度工作计划推进，细化节点，倒排工期。",
        "lead_department": lead.code,
        "cooperating_departments": [other],
        "leader": lead.vice_mayor,
        "responsible_person": "演示责任人",
        "contact_phone": "0572-0000000",
        "completion_due": (today + timedelta(days=60)).isoformat(),
        "milestones": [
            {"title": "完成实施方案", "due_on": first.isoformat()},
            {"title": "完成主体任务", "due_on": (today + timedelta(days=50)).isoformat()},
        ],
        "quarter_targets": [{"quarter": (today.month - 1) // 3 + 1, "target": "完成实施方案"}],
    }


async def seed(http: httpx.AsyncClient) -> None:
    """This year's 55 matters, unless the year already has a list."""
    office = await token(http, "demo-office")
    today = local_date(utc_now())
    year = today.year
    api = "/api/v1/coordination"
    existing = await http.get(f"{api}/major-matter-lists/{year}/matters", params={"limit": 1}, headers=office)
    if existing.status_code != 200 or existing.json()["items"]:
        return
    departments = [d for d in reference.evaluable_departments() if d.code not in (DEMO_LEAD, LEFT_OUT)]
    leads = [reference.department(DEMO_LEAD)] * 4 + [
        departments[n % len(departments)] for n in range(MATTERS - 4)
    ]
    matters = [
        _matter(n, lead, departments[(n + 5) % len(departments)].code, today, n % BEHIND_EVERY == 0)
        for n, lead in enumerate(leads, start=1)
    ]
    r = await http.post(f"{api}/major-matter-lists/{year}", json={"matters": matters}, headers=office)
    if r.status_code != 201:
        log.warning("demo major matters not listed: %s %s", r.status_code, r.text)
        return
    lead = await token(http, "demo-admin")
    own = [m for m in r.json()["matters"] if m["lead_department"] == DEMO_LEAD][1:]
    decisions: tuple[dict[str, Any], ...] = (
        {"decision": None},
        {"decision": "closed-off"},
        {"decision": "refused", "reason": "佐证材料不全（演示）"},
    )
    for matter, decision in zip(own, decisions, strict=False):
        await _close_off(http, api, matter, today, lead, office, decision)
    if today >= year_end(year) and len(own) > 1:
        scores = {
            "meeting": "市政府常务会议（演示）",
            "scored_on": today.isoformat(),
            "scores": [{"matter_id": own[1]["id"], "score": 95}],
        }
        await http.post(f"{api}/major-matter-lists/{year}/scores", json=scores, headers=office)


async def _close_off(
    http: httpx.AsyncClient,
    api: str,
    matter: dict[str, Any],
    today: date,
    lead: Headers,
    office: Headers,
    decision: dict[str, Any],
) -> None:
    base = f"{api}/major-matters/{matter['id']}"
    for milestone in matter["milestones"]:
        done = {"done_on": today.isoformat(), "evidence": [{"name": "完成情况材料（演示）"}]}
        await http.post(f"{base}/milestones/{milestone['id']}/completion", json=done, headers=lead)
    ask = {"statement": "各节点均已完成（演示）", "evidence": [{"name": "验收材料（演示）", "pages": 3}]}
    r = await http.post(f"{base}/close-off-requests", json=ask, headers=lead)
    if r.status_code != 201:
        log.warning("demo close-off not requested: %s %s", r.status_code, r.text)
        return
    if decision["decision"] is not None:
        await http.post(f"{base}/close-off-decision", json=decision, headers=office)
