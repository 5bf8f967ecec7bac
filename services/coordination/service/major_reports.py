"""What the office makes of the major matters (C8): the monthly internal bulletin (每月内部通报, one
row per matter), the quarterly public page and its Atom feed (每季度媒体公布, public fields only),
and the executive meeting's year-end scores (年底打分评价).

The bulletin of a month judges each matter as it stood when that month's reports were due (or
now, before then); a published quarter is a frozen snapshot of the fields marked public
(``PublicMatter``): never the person responsible, phone, internal progress, delay reasons,
evidence or on-site findings.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.coordination import domain
from services.coordination.major_schemas import (
    BulletinRow,
    MonthlyBulletin,
    PublicMatter,
    PublicMilestone,
    QuarterlyPage,
    ScoresCreate,
    ScoreView,
    YearScores,
)
from services.coordination.service.major_matters import duty_missing, milestone_facts, record_change, visible
from services.coordination.tables import (
    major_matters,
    major_progress_reports,
    major_publications,
    major_report_duties,
    major_scores,
)
from shared import periods
from shared.app import ServiceContext
from shared.auth import Principal
from shared.deadlines import local, local_date
from shared.reference import department_name, leader_title
from shared.rules import Conflict, Missing, RuleViolation

# --- the monthly internal bulletin -------------------------------------------------------------


def _month(text: str) -> periods.ReportPeriod:
    return periods.parse_period(text, rule="C8", field="month", noun="月份", frequencies=domain.MONTHLY)


async def monthly_bulletin(ctx: ServiceContext, month_text: str, now: datetime) -> MonthlyBulletin:
    """C8 每月内部通报: every matter of the month's year listed by the month's end, with each
    milestone's status, whether it is behind and why, the reason the lead department gave, and
    whether the month's report came."""
    month = _month(month_text)
    by_day = ctx.profile.coordination.major_matters.monthly_report_by_day
    as_of = min(now, domain.report_deadline(month, by_day))
    mm, d, r = major_matters, major_report_duties, major_progress_reports
    async with ctx.db.reader() as session:
        matters = (
            await session.execute(
                select(mm)
                .where(mm.c.year == month.year, mm.c.listed_on <= month.last_day)
                .order_by(mm.c.number)
            )
        ).all()
        ids = [m.id for m in matters]
        milestones = await milestone_facts(session, ids)
        duties = (await session.execute(select(d).where(d.c.matter_id.in_(ids)).order_by(d.c.month))).all()
        reports = {
            x.matter_id: x
            for x in (
                await session.execute(select(r).where(r.c.matter_id.in_(ids), r.c.month == str(month)))
            ).all()
        }
    rows = []
    for seq, m in enumerate(matters, start=1):
        own = [x for x in duties if x.matter_id == m.id]
        facts = [f for f in milestones[m.id] if f.state != "withdrawn"]
        closed = m.closed_off_at is not None and m.closed_off_at <= as_of
        reasons = [] if closed else _behind_reasons(facts, own, as_of)
        report = reports.get(m.id)
        rows.append(
            BulletinRow(
                seq=seq,
                matter_id=m.id,
                number=m.number,
                title=m.title,
                lead_department=m.lead_department,
                lead_department_name=department_name(m.lead_department),
                leader_title=leader_title(m.leader),
                state="closed-off" if closed else "listed",
                milestones=[f"{f.title}：{domain.milestone_status(f, as_of)}" for f in facts],
                behind=bool(reasons),
                behind_reasons=reasons,
                reason_given=report.delay_reason if report is not None else None,
                report=_report_status(report, next((x for x in own if x.month == str(month)), None), now),
            )
        )
    return MonthlyBulletin(
        title=f"{month.label}{domain.MONTHLY_BULLETIN_TITLE}",
        month=str(month),
        headers=list(domain.MONTHLY_BULLETIN_HEADERS),
        generated_at=now,
        rows=rows,
    )


def _behind_reasons(
    facts: Sequence[domain.MilestoneFacts], duties: Sequence[Row[Any]], as_of: datetime
) -> list[str]:
    late = [f"节点“{f.title}”（{f.due_on}）逾期未完成" for f in facts if domain.milestone_behind(f, as_of)]
    return late + [f"{x.month} 月报逾期未报" for x in duties if duty_missing(x, as_of)]


def _report_status(report: Row[Any] | None, duty: Row[Any] | None, now: datetime) -> str:
    if report is not None:
        return "逾期报送" if report.late else "已报送"
    if duty is None:
        return "无需报送"
    if duty.cancelled_at is not None:
        return "已销号，无需报送"
    return "未报送" if duty.deadline <= now else "未到期"


# --- the quarterly public page -----------------------------------------------------------------


async def publish_quarter(
    ctx: ServiceContext, quarter_text: str, principal: Principal, now: datetime
) -> QuarterlyPage:
    """每季度媒体公布: the office publishes an ended quarter's progress once, public fields only."""
    quarter = periods.parse_period(
        quarter_text, rule="C8", field="quarter", noun="季度", frequencies=domain.QUARTERLY
    )
    domain.quarter_published_once(quarter, local_date(now))
    as_of = domain.end_of_day(quarter.last_day)
    mm, r = major_matters, major_progress_reports
    async with ctx.db.transaction() as session:
        if await _publication(session, str(quarter)) is not None:
            raise Conflict(f"{quarter.label}的重大事项进展已公布（C8）", rule="C8", kind="quarter-published")
        matters = (
            await session.execute(
                select(mm)
                .where(mm.c.year == quarter.year, mm.c.listed_on <= quarter.last_day)
                .order_by(mm.c.number)
            )
        ).all()
        ids = [m.id for m in matters]
        milestones = await milestone_facts(session, ids)
        months = [str(periods.ReportPeriod(quarter.year, "monthly", n)) for n in _months_of(quarter)]
        reports = (
            await session.execute(
                select(r.c.matter_id, r.c.public_summary)
                .where(r.c.matter_id.in_(ids), r.c.month.in_(months), r.c.public_summary.is_not(None))
                .order_by(r.c.month)
            )
        ).all()
        progress = {x.matter_id: x.public_summary for x in reports}  # the latest month wins
        duties = (
            await session.execute(select(major_report_duties).where(major_report_duties.c.matter_id.in_(ids)))
        ).all()
        page = QuarterlyPage(
            quarter=str(quarter),
            title=f"{quarter.label}重大事项进展情况",
            published_at=now,
            matters=[
                _public(
                    m, quarter, milestones[m.id], [x for x in duties if x.matter_id == m.id], progress, as_of
                )
                for m in matters
            ],
        )
        await session.execute(
            insert(major_publications).values(
                quarter=str(quarter),
                year=quarter.year,
                content=page.model_dump(mode="json"),
                published_by=principal.client_id,
                published_at=now,
            )
        )
    return page


def _months_of(quarter: periods.ReportPeriod) -> range:
    first = quarter.first_day.month
    return range(first, quarter.last_day.month + 1)


def _public(
    m: Row[Any],
    quarter: periods.ReportPeriod,
    facts: Sequence[domain.MilestoneFacts],
    duties: Sequence[Row[Any]],
    progress: dict[str, str],
    as_of: datetime,
) -> PublicMatter:
    live = [f for f in facts if f.state != "withdrawn"]
    target = next((t["target"] for t in m.quarter_targets if t["quarter"] == quarter.index), None)
    closed = m.closed_off_at is not None and m.closed_off_at <= as_of
    behind = not closed and bool(_behind_reasons(live, duties, as_of))
    return PublicMatter(
        number=m.number,
        title=m.title,
        task=m.task,
        lead_department_name=department_name(m.lead_department),
        cooperating_department_names=[department_name(c) for c in m.cooperating],
        leader_title=leader_title(m.leader),
        completion_due=m.completion_due,
        quarter_target=target,
        milestones=[
            PublicMilestone(title=f.title, due_on=f.due_on, status=domain.public_milestone_status(f, as_of))
            for f in live
        ],
        progress=progress.get(m.id),
        status=domain.public_matter_status(closed, behind),
    )


async def _publication(session: AsyncSession, quarter: str) -> Row[Any] | None:
    p = major_publications
    return (await session.execute(select(p).where(p.c.quarter == quarter))).first()


async def quarterly_page(ctx: ServiceContext, quarter: str) -> QuarterlyPage:
    async with ctx.db.reader() as session:
        row = await _publication(session, quarter)
    if row is None:
        raise Missing(f"{quarter} 的重大事项进展尚未公布", kind="quarter-not-published")
    return QuarterlyPage.model_validate(row.content)


ATOM = "http://www.w3.org/2005/Atom"


async def atom_feed(ctx: ServiceContext, limit: int) -> bytes:
    """The published quarters, newest first, as an Atom 1.0 feed (RFC 4287)."""
    p = major_publications
    async with ctx.db.reader() as session:
        rows = (await session.execute(select(p).order_by(p.c.published_at.desc()).limit(limit))).all()
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed", {"{http://www.w3.org/XML/1998/namespace}lang": "zh-CN"})
    _text(feed, "id", "urn:xiaoneng:coordination:major-matters")
    _text(feed, "title", "重大事项进展情况 · 每季度公布")
    _text(feed, "updated", local(rows[0].published_at).isoformat() if rows else "2000-01-01T00:00:00+08:00")
    ET.SubElement(feed, f"{{{ATOM}}}link", {"rel": "self", "href": "feed.atom"})
    author = ET.SubElement(feed, f"{{{ATOM}}}author")
    _text(author, "name", department_name("office"))
    for row in rows:
        page = QuarterlyPage.model_validate(row.content)
        entry = ET.SubElement(feed, f"{{{ATOM}}}entry")
        _text(entry, "id", f"urn:xiaoneng:major-matters:{page.quarter}")
        _text(entry, "title", page.title)
        _text(entry, "published", local(row.published_at).isoformat())
        _text(entry, "updated", local(row.published_at).isoformat())
        ET.SubElement(entry, f"{{{ATOM}}}link", {"rel": "alternate", "href": f"{page.quarter}/page.html"})
        counts = {s: sum(1 for m in page.matters if m.status == s) for s in domain.PUBLIC_MATTER_STATUSES}
        _text(entry, "summary", "；".join(f"{s} {n} 件" for s, n in counts.items()))
    document: bytes = ET.tostring(feed, encoding="utf-8", xml_declaration=True)
    return document


def _text(parent: ET.Element, tag: str, value: str) -> None:
    ET.SubElement(parent, f"{{{ATOM}}}{tag}").text = value


# --- year-end scores ---------------------------------------------------------------------------


async def record_scores(
    ctx: ServiceContext, year: int, cmd: ScoresCreate, principal: Principal, now: datetime
) -> YearScores:
    """C8 年底打分评价: the office records the executive meeting's score of each matter of the year
    (a later score of the same matter replaces it; both are in the matter's history)."""
    today = local_date(now)
    if cmd.scored_on > today:
        raise RuleViolation("会议日期不能晚于今天（C8）", rule="C8", kind="date-in-future", field="scored_on")
    policy = ctx.profile.coordination.major_matters
    mm, s = major_matters, major_scores
    async with ctx.db.transaction() as session:
        years = dict(
            (
                await session.execute(
                    select(mm.c.id, mm.c.year).where(mm.c.id.in_([x.matter_id for x in cmd.scores]))
                )
            ).all()
        )
        for index, x in enumerate(cmd.scores):
            if years.get(x.matter_id) != year:
                raise RuleViolation(
                    f"{x.matter_id} 不是 {year} 年度清单中的事项（C8）",
                    rule="C8",
                    kind="unknown-major-matter",
                    field=f"scores.{index}.matter_id",
                )
            domain.check_scoring(year, today, x.score, policy.score_max, field=f"scores.{index}.score")
        for x in cmd.scores:
            values = {
                "year": year,
                "score": Decimal(str(x.score)),
                "comment": x.comment,
                "meeting": cmd.meeting,
                "scored_on": cmd.scored_on,
                "recorded_by": principal.client_id,
                "recorded_at": now,
            }
            await session.execute(
                insert(s)
                .values(matter_id=x.matter_id, **values)
                .on_conflict_do_update(index_elements=[s.c.matter_id], set_=values)
            )
            change = {"score": x.score, "meeting": cmd.meeting, "scored_on": str(cmd.scored_on)}
            await record_change(session, x.matter_id, "scored", change, x.comment, principal, now)
    return await year_scores(ctx, year, principal)


async def year_scores(ctx: ServiceContext, year: int, principal: Principal) -> YearScores:
    mm, s = major_matters, major_scores
    query = (
        select(mm.c.id, mm.c.number, mm.c.title, mm.c.lead_department, s)
        .select_from(mm.outerjoin(s, s.c.matter_id == mm.c.id))
        .where(mm.c.year == year, *[c for c in (visible(principal),) if c is not None])
        .order_by(mm.c.number)
    )
    async with ctx.db.reader() as session:
        rows = (await session.execute(query)).all()
    return YearScores(
        year=year,
        score_max=ctx.profile.coordination.major_matters.score_max,
        scores=[
            ScoreView(
                matter_id=r.id,
                number=r.number,
                title=r.title,
                lead_department=r.lead_department,
                lead_department_name=department_name(r.lead_department),
                score=None if r.score is None else float(r.score),
                comment=r.comment,
                meeting=r.meeting,
                scored_on=r.scored_on,
                recorded_by=r.recorded_by,
            )
            for r in rows
        ],
    )
