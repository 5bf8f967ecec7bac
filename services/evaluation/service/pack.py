"""The reference pack (参考材料, E2): the judged quarter's efficiency facts per candidate department.

Built from ``department_facts``, i.e. from the events of the other services: 保五争三 results and
the report or interview duties they caused (ranking-published, interview-required), joint-matter
items and leader instructions answered late or deemed consent (task-assigned, feedback-submitted,
deadline-passed, escalation-raised), documents published late or overdue (document-formed,
document-published, deadline-passed), and the 55 major matters of 000 §五: each lead department's
matters reported, closed off, or behind (matter-listed, progress-reported, matter-closed-off,
deadline-passed of a milestone or monthly report, C8). Until the supervision office publishes
it, organizers see a live preview; publishing freezes it, and from then on evaluators read exactly
that snapshot.
"""

from __future__ import annotations

import html
from collections import Counter, defaultdict
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from services.evaluation import domain
from services.evaluation.schemas import (
    DepartmentPack,
    InterviewItem,
    MajorMatterItem,
    NotableItem,
    RankingItem,
    ReferencePack,
)
from services.evaluation.service.common import ORGANIZER_ROLES, load_round, may, state_of
from services.evaluation.tables import department_facts, reference_packs, rounds
from shared import reference
from shared.app import ServiceContext
from shared.auth import Principal
from shared.deadlines import SHANGHAI
from shared.reference import department_name

# Facts a reader of the pack should notice, with their Chinese labels ({floor}: the rank below
# which a department reports, I4, from the policy profile).
NOTABLE: dict[str, str] = {
    "ranking-worse-than-threshold": "重要指标全省排名第{floor}位以后",
    "report-duty-overdue": "排名靠后汇报说明逾期",
    "interview-required": "需约谈主要负责人",
    "joint-item-answered-late": "会办事项逾期反馈",
    "joint-item-deemed-consent": "会办事项逾期未反馈，视作同意",
    "joint-item-deemed-agreed-to-handle": "会办事项无正当理由未办理，视作同意办理",
    "joint-item-escalated": "会办事项逾期被主办单位报告",
    "instruction-answered-late": "领导批示逾期反馈",
    "instruction-overdue": "领导批示逾期未办理",
    "document-published-late": "文件逾期公开",
    "document-version-overdue": "文件逾期未公开",
    "disclosure-request-overdue": "政府信息公开申请逾期未答复",
    "major-milestone-overdue": "重大事项节点逾期未完成（进展迟缓）",
    "major-monthly-report-overdue": "重大事项月报逾期未报（进展迟缓）",
}

RANKINGS = ("ranking-published", "ranking-worse-than-threshold")

# Each count of a department's pack and the kinds of fact it adds up.
COUNTED: dict[str, tuple[str, ...]] = {
    "rankings_published": RANKINGS,
    "rankings_worse_than_threshold": ("ranking-worse-than-threshold",),
    "reports_due": ("ranking-worse-than-threshold",),
    "reports_overdue": ("report-duty-overdue",),
    "joint_items_assigned": ("joint-item-assigned",),
    "joint_items_answered_late": ("joint-item-answered-late",),
    "joint_items_deemed_consent": ("joint-item-deemed-consent", "joint-item-deemed-agreed-to-handle"),
    "joint_items_escalated": ("joint-item-escalated",),
    "instructions_assigned": ("instruction-assigned",),
    "instructions_answered_late": ("instruction-answered-late",),
    "instructions_overdue": ("instruction-overdue",),
    "documents_formed": ("document-formed",),
    "documents_published_late": ("document-published-late",),
    "documents_overdue": ("document-version-overdue",),
    "major_matters_reported": ("major-matter-reported", "major-matter-reported-behind"),
    "major_matters_closed_off": ("major-matter-closed-off",),
    "major_milestones_behind": ("major-milestone-overdue",),
    "major_reports_missing": ("major-monthly-report-overdue",),
}

# Facts of a major matter the department leads (C8), and those that make it behind (进展迟缓).
MAJOR_REPORTED = COUNTED["major_matters_reported"]
MAJOR_BEHIND = ("major-milestone-overdue", "major-monthly-report-overdue")


def _major_matters(facts: list[Any], listed: dict[str, Any]) -> list[MajorMatterItem]:
    """The department's major matters in the quarter: the latest month reported, closed off, and
    what made each behind (the matter is the parent of a missed milestone or monthly report)."""
    items: dict[str, MajorMatterItem] = {}

    def item(matter_id: str) -> MajorMatterItem:
        if matter_id not in items:
            detail = listed.get(matter_id) or {}
            items[matter_id] = MajorMatterItem(
                matter_id=matter_id, number=detail.get("number"), title=detail.get("title")
            )
        return items[matter_id]

    for fact in facts:
        detail = fact.detail
        if fact.kind in MAJOR_REPORTED:
            found = item(str(detail["matter_id"]))
            found.number, found.title = detail.get("number"), detail.get("title")
            if found.month is None or str(detail["month"]) >= found.month:
                found.month = str(detail["month"])
                found.milestones_done = detail.get("milestones_done")
                found.milestones_total = detail.get("milestones_total")
        elif fact.kind == "major-matter-closed-off":
            found = item(fact.subject_id)
            found.number, found.title, found.closed_off = detail.get("number"), detail.get("title"), True
        elif fact.kind in MAJOR_BEHIND and detail.get("parent_id"):
            item(str(detail["parent_id"])).behind.append(fact.subject_id)
    return sorted(items.values(), key=lambda m: (m.number or 0, m.matter_id))


def _indicator_name(code: str) -> str | None:
    try:
        return reference.indicator(code).name
    except reference.UnknownReference:
        return None


def _ranking(fact: Any) -> RankingItem:
    detail, indicator = fact.detail, str(fact.detail.get("indicator", ""))
    return RankingItem(
        indicator=indicator,
        indicator_name=_indicator_name(indicator),
        period=str(detail.get("period", "")),
        rank=detail.get("rank"),
        grade=detail.get("grade"),
        cities=detail.get("cities"),
        worse_than_threshold=fact.kind == "ranking-worse-than-threshold",
    )


def _interview(fact: Any) -> InterviewItem:
    return InterviewItem(
        interview_id=fact.subject_id,
        reason=str(fact.detail.get("reason", "")),
        period=fact.detail.get("period"),
        interviewers=list(fact.detail.get("interviewers", [])),
    )


def _notable(fact: Any, floor: int) -> NotableItem:
    label = NOTABLE[fact.kind].format(floor=floor)
    return NotableItem(kind=fact.kind, label=label, subject_id=fact.subject_id, on=fact.effective_on)


def _department_pack(code: str, facts: list[Any], floor: int, listed: dict[str, Any]) -> DepartmentPack:
    facts = domain.standing_facts(facts)
    counts = Counter(fact.kind for fact in facts)
    notable = [_notable(f, floor) for f in facts if f.kind in NOTABLE]
    return DepartmentPack.model_validate(
        {
            "code": code,
            "name": department_name(code),
            "rankings": [_ranking(f) for f in facts if f.kind in RANKINGS],
            "interviews_required": [_interview(f) for f in facts if f.kind == "interview-required"],
            "notable": sorted(notable, key=lambda n: (n.on or date.min, n.kind, n.subject_id)),
            "counts": dict(sorted(counts.items())),
            "major_matters": _major_matters(facts, listed),
        }
        | {field: sum(counts[kind] for kind in kinds) for field, kinds in COUNTED.items()}
    )


async def build_pack(
    session: AsyncSession, row: Row[Any], floor: int, generated_at: datetime
) -> ReferencePack:
    """The pack of a round as the facts stand now; ``floor`` is the 保五 rank of the profile."""
    quarter = domain.Quarter.parse(row.id)
    t = department_facts
    facts = (
        await session.execute(
            select(t.c.department, t.c.kind, t.c.subject_id, t.c.effective_on, t.c.detail)
            .where(
                t.c.effective_on.between(quarter.first_day, quarter.last_day),
                t.c.department.in_(list(row.candidates)),
            )
            .order_by(t.c.department, t.c.effective_on, t.c.kind, t.c.subject_id)
        )
    ).all()
    by_department: dict[str, list[Any]] = defaultdict(list)
    for fact in facts:
        by_department[fact.department].append(fact)
    # What a major matter is called, from its listing (in whatever quarter it was listed).
    matters = {
        str(f.detail["parent_id"]) for f in facts if f.kind in MAJOR_BEHIND and f.detail.get("parent_id")
    }
    listed = {
        r.subject_id: r.detail
        for r in await session.execute(
            select(t.c.subject_id, t.c.detail).where(
                t.c.kind == "major-matter-listed", t.c.subject_id.in_(matters)
            )
        )
    }
    return ReferencePack(
        round_id=row.id,
        quarter_label=quarter.label,
        period_from=quarter.first_day,
        period_to=quarter.last_day,
        published=False,
        rank_floor=floor,
        generated_at=generated_at,
        departments=[
            _department_pack(code, by_department.get(code, []), floor, listed) for code in row.candidates
        ],
    )


async def publish_pack(ctx: ServiceContext, round_id: str, principal: Principal) -> ReferencePack:
    async with ctx.db.transaction() as session:
        row = await load_round(session, round_id, lock=True)
        target = domain.next_state(state_of(row), "publish-reference-pack")
        pack = await build_pack(session, row, rank_floor(ctx), ctx.now())
        published_at = (
            await session.execute(
                update(rounds)
                .where(rounds.c.id == round_id)
                .values(state=target, reference_published_at=func.now())
                .returning(rounds.c.reference_published_at)
            )
        ).scalar_one()
        pack = pack.model_copy(update={"published": True, "published_at": published_at})
        await session.execute(
            insert(reference_packs).values(
                round_id=round_id,
                content=pack.model_dump(mode="json"),
                published_by=principal.client_id,
                published_at=published_at,
            )
        )
    return pack


async def get_pack(ctx: ServiceContext, round_id: str, principal: Principal) -> ReferencePack:
    async with ctx.db.reader() as session:
        row = await load_round(session, round_id)
        stored = (
            await session.execute(
                select(reference_packs.c.content).where(reference_packs.c.round_id == round_id)
            )
        ).scalar_one_or_none()
        if stored is not None:
            return ReferencePack.model_validate(stored)
        domain.require_preview(domain.Quarter.parse(round_id), organizer=may(principal, ORGANIZER_ROLES))
        return await build_pack(session, row, rank_floor(ctx), ctx.now())


def rank_floor(ctx: ServiceContext) -> int:
    return ctx.profile.indicators.report_when_rank_worse_than


def _cell(value: object) -> str:
    return html.escape(str(value))


def _summary_row(d: DepartmentPack) -> str:
    cells = (
        d.name,
        d.rankings_published,
        d.rankings_worse_than_threshold,
        d.reports_due,
        len(d.interviews_required),
        d.joint_items_answered_late,
        d.joint_items_deemed_consent,
        d.instructions_answered_late + d.instructions_overdue,
        d.documents_published_late,
        d.documents_overdue,
        sum(1 for m in d.major_matters if m.behind),
    )
    return "<tr>" + "".join(f"<td>{_cell(v)}</td>" for v in cells) + "</tr>"


def _section(d: DepartmentPack, floor: int) -> str:
    """A department's rankings and notable facts; empty when it has none."""
    if not (d.notable or d.rankings):
        return ""
    items = "".join(
        f"<li>{_cell(r.indicator_name or r.indicator)}（{_cell(r.period)}）："
        f"全省第 {_cell(r.rank if r.rank is not None else r.grade or '—')} 位"
        f"{f'，第{floor}位以后' if r.worse_than_threshold else ''}</li>"
        for r in d.rankings
    ) + "".join(
        f"<li>{_cell(n.on or '')} {_cell(n.label)}：{_cell(n.subject_id)}</li>"
        for n in d.notable
        if n.kind not in ("ranking-worse-than-threshold",)
    )
    return f"<section><h2>{_cell(d.name)}</h2><ul>{items}</ul></section>"


def render_html(pack: ReferencePack) -> str:
    """A printable page of the pack: one summary table, then the notable facts per department."""
    status = (
        f"印发时间：{pack.published_at.astimezone(SHANGHAI).strftime('%Y-%m-%d %H:%M')}"
        if pack.published and pack.published_at
        else "预览（尚未印发）"
    )
    head = (
        f"<tr><th>部门</th><th>排名通报</th><th>第{pack.rank_floor}位以后</th><th>须汇报说明</th><th>需约谈</th>"
        "<th>会办逾期反馈</th><th>会办视作同意</th><th>批示逾期</th><th>文件逾期公开</th><th>文件逾期未公开</th>"
        "<th>重大事项进展迟缓</th></tr>"
    )
    rows = "".join(_summary_row(d) for d in pack.departments)
    sections = "".join(_section(d, pack.rank_floor) for d in pack.departments)
    title = f"{pack.quarter_label}“低效能”部门预评参考材料"
    return (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        f"<title>{_cell(title)}</title><style>"
        "body{font-family:'SimSun','Songti SC',serif;margin:2em;}"
        "table{border-collapse:collapse;width:100%;font-size:11pt;}"
        "th,td{border:1px solid #000;padding:2px 6px;text-align:center;}"
        "td:first-child{text-align:left;}h1{text-align:center;font-size:18pt;}"
        "section{page-break-inside:avoid;}@media print{body{margin:0;}}"
        "</style></head><body>"
        f"<h1>{_cell(title)}</h1>"
        f"<p>统计期间：{_cell(pack.period_from)} 至 {_cell(pack.period_to)}　{_cell(status)}</p>"
        f"<table><thead>{head}</thead><tbody>{rows}</tbody></table>{sections}</body></html>"
    )
