"""Demo data for coordination (C1–C7): the year's joint matters and leader instructions.

Joint matters (C1–C5): the office registers the paper sheets of the past eleven months (one a
month, ``assigned_on`` on the sheet). Nobody answered them in time: at 24:00 of the last day each
item is deemed consent (C4, the sweeper announces it); one item a month got a late answer, kept as
a linked record. Three late items were raised by their lead department (C5): one verified by the
deputy secretary-general of the late department (the ``demo-leader`` client, 副秘书长（联系城建）) and
forwarded to its vice-mayor, one dismissed, one awaiting verification; the same deputy
secretary-general reviewed 市建设局's overdue table of the first month (C6). This week's sheets are live:
an item answered in time, one acknowledged, one just assigned, and a complex one with the
vice-mayor's approval of a 10-day limit (C2). Department steps are taken by ``demo-admin`` (admin
acts for any department). An acknowledged item deemed agreed to handle cannot be made today: the
acknowledgement has no paper-record instant, and a live item's deadline is still ahead.

Leader instructions (C7): one a month, entered by the office from paper (补录: ``received_at``,
``proposed_at``, ``assigned_at``, ``feedback_at``): most assigned the same day and answered in time
and archived, one held overnight, one answered late, and one supervised instruction never answered
(the sweeper announces it overdue).

Each part seeds only an empty service: a second start adds nothing.
"""

from __future__ import annotations

import asyncio
from datetime import date, datetime, time, timedelta
from typing import Any

import httpx

from launcher.demo_api import Headers, send, token
from launcher.demo_disclosure import months
from shared import reference
from shared.deadlines import SHANGHAI

API = "/api/v1/coordination"
LEADS = ["jsj", "jtj", "hbj", "swj", "nyj", "kjj", "czj", "gtj", "rsj", "slj", "wjj"]
URBAN = ["jtj", "gtj", "ghj", "hbj", "zhzfj", "rfb"]
"""Cooperating departments of the old sheets: in the charge of dsg-urban, the demo leader."""
MATTERS = [
    "推进城市有机更新项目前期工作",
    "太湖溇港综合整治工程用地预审",
    "市区公交线网优化方案会审",
    "南太湖新区污水管网建设",
    "跨境电商综合试验区申报材料",
    "农村生活垃圾分类处理设施选址",
    "科技城孵化器配套道路建设",
    "市级财政专项资金绩效评价",
    "高铁站枢纽交通组织方案",
    "重点企业用工保障",
    "美丽河湖建设验收",
]
INSTRUCTIONS = [
    ("vm-urban", "jsj", "关于加快老旧小区改造的批示"),
    ("vm-industry", "jxw", "关于支持企业技术改造的批示"),
    ("vm-social", "jyj", "关于做好秋季开学准备工作的批示"),
    ("vm-agriculture", "slj", "关于做好汛期防汛工作的批示"),
    ("vm-urban", "jtj", "关于完善城区交通组织的批示"),
    ("vm-executive", "czj", "关于加强政府债务管理的批示"),
    ("vm-social", "wjj", "关于加强基层医疗服务能力的批示"),
    ("vm-urban", "hbj", "关于秸秆禁烧工作的批示"),
    ("vm-industry", "swj", "关于稳外贸工作的批示"),
    ("vm-public-security", "gaj", "关于春节前后社会治安工作的批示"),
    ("vm-agriculture", "nyj", "关于粮食生产工作的批示"),
]
HELD_OVERNIGHT = 3
ANSWERED_LATE = 5
NEVER_ANSWERED = 9
SIGNED = {"content": "已研究办理，意见见附件。", "signed_by": "单位主要负责人", "stamped": True}


def _at(day: date, hour: int, minute: int = 0) -> str:
    return datetime.combine(day, time(hour, minute), SHANGHAI).isoformat()


def _sheet(lead: str, matter: str, departments: list[str], **extra: Any) -> dict[str, Any]:
    return {
        "lead_department": lead,
        "basis": "市政府常务会议纪要",
        "main_matter": matter,
        "items": [
            {"department": d, "content": f"请{reference.department(d).short_name}提出意见并提供相关材料"}
            for d in departments
        ],
        "contact_person": "联络员",
        "contact_phone": "0572-2000000",
        "attachments": [{"name": "相关材料", "pages": 2}],
        **extra,
    }


async def seed(http: httpx.AsyncClient, today: date) -> None:
    office = await token(http, "demo-office")
    admin = await token(http, "demo-admin")
    parts = []
    if not (await http.get(f"{API}/joint-matters", params={"limit": 1}, headers=office)).json()["items"]:
        parts.append(_joint_matters(http, today, office, admin))
    if not (await http.get(f"{API}/instructions", params={"limit": 1}, headers=office)).json()["items"]:
        parts.append(_instructions(http, today, office))
    await asyncio.gather(*parts)


async def _joint_matters(http: httpx.AsyncClient, today: date, office: Headers, admin: Headers) -> None:
    late_items = []
    for n, month in enumerate(months(today)[:-1]):
        lead = LEADS[n % len(LEADS)]
        cooperating = [URBAN[n % len(URBAN)], URBAN[(n + 1) % len(URBAN)]]
        cooperating = [d for d in cooperating if d != lead] or [URBAN[(n + 2) % len(URBAN)]]
        body = _sheet(
            lead, MATTERS[n % len(MATTERS)], cooperating, assigned_on=month.replace(day=10).isoformat()
        )
        matter = await send(http, "POST", f"{API}/joint-matters", office, body)
        if matter is None:
            continue
        first, *rest = matter["items"]
        late = {**SIGNED, "delay_reason": "等待省级部门意见"}
        await send(http, "POST", f"{API}/joint-items/{first['id']}/feedback", admin, late)
        late_items += rest
    leader = await token(http, "demo-leader")
    for n, item in enumerate(late_items[:3]):
        reason = "会办单位逾期未反馈，影响主办事项推进。"
        escalation = await send(
            http, "POST", f"{API}/joint-items/{item['id']}/escalations", admin, {"reason": reason}
        )
        if escalation is None or n == 2:
            continue  # the third awaits verification
        url = f"{API}/escalations/{escalation['id']}"
        confirmed = n == 0
        note = "经核查属实。" if confirmed else "该单位已书面说明正当理由，核查结案。"
        await send(http, "POST", f"{url}/verification", leader, {"confirmed": confirmed, "note": note})
        if confirmed:
            await send(http, "POST", f"{url}/forwarding", leader, {"note": "报请分管市长督促。"})
    # C6: the first month's table of 市建设局 reviewed by its deputy secretary-general.
    review = {"note": "已审核，报相关市领导，抄送市政府督查室。"}
    await send(
        http, "POST", f"{API}/overdue-tables/{LEADS[0]}/{months(today)[0]:%Y-%m}/review", leader, review
    )
    live = await send(
        http,
        "POST",
        f"{API}/joint-matters",
        office,
        _sheet(
            "jsj",
            "老旧小区加装电梯试点方案会审",
            ["gtj", "ghj", "jtj"],
            assigned_on=(today - timedelta(days=1)).isoformat(),
        ),
    )
    if live is not None:
        answered, acknowledged, _assigned = live["items"]
        await send(http, "POST", f"{API}/joint-items/{answered['id']}/feedback", admin, SIGNED)
        await send(http, "POST", f"{API}/joint-items/{acknowledged['id']}/acknowledgement", admin)
    approval = {
        "level": "vice_mayor",
        "leader": "vm-urban",
        "approved_on": (today - timedelta(days=3)).isoformat(),
    }
    complex_sheet = _sheet(
        "jtj",
        "湖州至杭州城际铁路沿线土地征收方案",
        ["gtj", "hbj"],
        assigned_on=(today - timedelta(days=2)).isoformat(),
        feedback_days=10,
        approvals=[approval],
    )
    await send(http, "POST", f"{API}/joint-matters", office, complex_sheet)


async def _instructions(http: httpx.AsyncClient, today: date, office: Headers) -> None:
    for n, month in enumerate(months(today)[:-1]):
        leader, department, title = INSTRUCTIONS[n % len(INSTRUCTIONS)]
        received = month.replace(day=8)
        supervised = n % 2 == 0 or n == NEVER_ANSWERED
        body = {
            "leader": leader,
            "category": "supervised" if supervised else "general-reply",
            "title": title,
            "content": f"请{reference.department(department).short_name}牵头研究，按时报送办理情况。",
            "received_at": _at(received, 9),
        }
        instruction = await send(http, "POST", f"{API}/instructions", office, body)
        if instruction is None:
            continue
        url = f"{API}/instructions/{instruction['id']}"
        proposal = {
            "proposal": f"拟请{reference.department(department).short_name}办理",
            "proposed_at": _at(received, 11),
        }
        await send(http, "POST", f"{url}/proposal", office, proposal)
        assigned_day = received + timedelta(days=1 if n == HELD_OVERNIGHT else 0)
        assignment: dict[str, Any] = {"department": department}
        due = received + timedelta(days=14)
        if supervised:
            assignment["due_on"] = due.isoformat()
        view = await send(
            http,
            "POST",
            f"{url}/assignments",
            office,
            {"assignments": [assignment], "assigned_at": _at(assigned_day, 16)},
        )
        if view is None or n == NEVER_ANSWERED:
            continue
        answered_on = (
            due + timedelta(days=6)
            if n == ANSWERED_LATE
            else assigned_day + (timedelta(days=10) if supervised else timedelta())
        )
        feedback = {
            "content": "已按批示要求办理完毕，情况报告附后。",
            "feedback_at": _at(answered_on, 17, 30),
        }
        (entry,) = view["assignments"]
        await send(http, "POST", f"{API}/instruction-assignments/{entry['id']}/feedback", office, feedback)
        await send(http, "POST", f"{url}/archive", office)
